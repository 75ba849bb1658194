// The migrations of an application checkout, for a profile whose manifest
// says `migrations_from = app_dir`: the profile pins the folder names and
// the sha256 of each migration.sql, the operator's checkout supplies the
// bytes.  PostgreSQL-free.
//
// The directory is named by a role that may read the server's files (the
// caller checks file_fdw's rule); everything inside it is opened as a dump's
// files are (core/dump_path.hpp): relative to the directory's descriptor,
// never through a symbolic link, regular files only, so nothing swapped in
// leads the backend outside it or makes it wait on a pipe.
#pragma once

#include "core/profile.hpp"

#include <string>
#include <vector>

namespace nextcrm {

// Where prisma/migrations is: `app_dir` is the checkout (the directory
// holding prisma/) or its prisma/ directory.
//
// Returns `pinned` with the sql of each filled in.  Throws an Error naming
// the first difference, in Prisma's order of the folders: a folder the
// profile expects that is missing, one it does not expect, one renamed
// (where the one expected is missing and another stands), or a
// migration.sql whose sha256 differs.  `title` names the application in
// messages ("NextCRM v0.21.2"), `profile` the profile.
std::vector<ProfileMigration> read_app_migrations(const std::string &app_dir,
                                                  const std::vector<ProfileMigration> &pinned,
                                                  const std::string &profile,
                                                  const std::string &title);

// A migration as one statement string that runs inside the caller's
// transaction: Prisma sends a file as one query string, and a file that
// wraps itself in its own transaction (a first statement BEGIN; and a last
// COMMIT;, as v0.21.2's 20260327000001 does) has those two blanked out
// (replaced with spaces), since the migration's transaction already holds
// all of it.  Any other text is returned unchanged.
std::string without_own_transaction(const std::string &sql);

} // namespace nextcrm
