// A profile: everything the engine knows of one target application, as
// installed data (profiles/<name>/ in the repository, installed under
// $(pg_config --sharedir)/extension/nextcrm_mongo_fdw/profiles/<name>/).
// The engine (FDW, readers, conversions, batches, worker, resume, errors,
// repairs, the generic validation families) knows none of it.
//
// A profile directory holds:
//   profile.conf      the manifest: name, title, version, description, and the
//                     target's migrations in the order they apply, each
//                     with the sha256 of its migration.sql; where they are
//                     read from (migrations_from): the profile's own
//                     migrations/ ("profile", the default) or the
//                     application checkout named at run time ("app_dir",
//                     core/app_migrations.hpp); what the target needs of
//                     the server: requires_postgresql (the oldest major
//                     version) and requires_extension (one per line), checked
//                     before a migration writes anything
//   mapping.csv       where every stored source field goes, and how
//   mongo-enums.csv   the enums of the source schema and their labels
//   mongo-fields.csv  the source schema (optional: IMPORT FOREIGN SCHEMA)
//   rules.csv         validation rules (optional): rule,table,first,second
//   migrations/<name>/migration.sql  the target's migrations (with
//                     migrations_from = profile)
//
// PostgreSQL-free: the caller names the directory (src/profiles.cpp finds
// it in the share directory; the unit tests use the repository's).
#pragma once

#include "core/mapping.hpp"

#include <optional>
#include <string>
#include <vector>

namespace nextcrm {

// A validation rule of the profile (rules.csv), checked by nextcrm_validate.
// date_range: in `table`, column `first` is not after column `second`.
struct ProfileRule {
    std::string rule;
    std::string table;
    std::string first;
    std::string second;
};

struct ProfileMigration {
    std::string name;   // the directory name, as _prisma_migrations records it
    std::string sha256; // hex, of the bytes of migration.sql
    std::string sql;    // those bytes, unchanged
};

class Profile {
  public:
    // Reads and checks the profile in `dir`, which must be named `name` in
    // its manifest.  An inconsistent profile throws an Error naming the
    // file, the line and the field: an unknown key, a migration whose
    // checksum differs from the manifest's or that the manifest does not
    // list, a mapped column the migrations do not create, a reference to a
    // collection the mapping does not have, an unknown conversion kind.
    //
    // A profile whose migrations come from the application checkout
    // (migrations_from = app_dir) is loaded without them: its migrations()
    // have names and checksums but no sql, and its mapping is checked
    // against them by with_app_migrations().
    static Profile load(const std::string &dir, const std::string &name);

    // Whether the migrations are read from the application checkout.
    bool migrations_from_app() const { return from_app_; }

    // This profile with the migrations of the checkout `app_dir` (or its
    // prisma/ directory), which must be exactly the ones the manifest pins
    // (core/app_migrations.hpp), and its mapping checked against them.
    Profile with_app_migrations(const std::string &app_dir) const;

    const std::string &name() const { return name_; }
    // What messages call the application ("NextCRM"); the name by default.
    const std::string &title() const { return title_; }
    const std::string &version() const { return version_; }
    const std::string &description() const { return description_; }
    const std::string &dir() const { return dir_; }
    const Mapping &mapping() const { return *mapping_; }
    const std::vector<ProfileMigration> &migrations() const { return migrations_; }
    const std::vector<ProfileRule> &rules() const { return rules_; }
    // The oldest PostgreSQL major version the target runs on (0: any).
    int required_postgresql() const { return required_postgresql_; }
    // The extensions the target's migrations create.
    const std::vector<std::string> &required_extensions() const { return required_extensions_; }
    // mongo-fields.csv, when the profile has one.
    const std::optional<std::string> &source_fields_csv() const { return fields_csv_; }

  private:
    Profile() = default;
    // Throws unless every mapped column is created by the migrations.
    void check_mapped_columns() const;

    std::string name_, title_, version_, description_, dir_;
    bool from_app_ = false;
    int required_postgresql_ = 0;
    std::vector<std::string> required_extensions_;
    std::optional<Mapping> mapping_;
    std::vector<ProfileMigration> migrations_;
    std::vector<ProfileRule> rules_;
    std::optional<std::string> fields_csv_;
};

// The profiles installed in `base` (its subdirectories), sorted.
std::vector<std::string> profile_names(const std::string &base);

// Whether `dir` is a directory.
bool is_directory(const std::string &dir);

// The sha256 of bytes, as lower-case hex.
std::string sha256_hex(std::string_view bytes);

} // namespace nextcrm
