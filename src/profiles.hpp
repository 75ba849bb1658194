// The installed profiles (core/profile.hpp): found by name in
// $(pg_config --sharedir)/extension/nextcrm_mongo_fdw/profiles/, read and
// checked once per backend per profile, then kept for the backend's life.
#pragma once

#include "pg_wall.hpp"

#include "core/profile.hpp"

#include <string>

namespace nextcrm {

// The profile every entry point uses when none is named.
inline constexpr const char *default_profile = "nextcrm";

// Longest profile name (it travels in the worker's request).
inline constexpr std::size_t max_profile_name = 47;

// The installed profile `name`.  A name is letters, digits, '.', '_' and
// '-' (not a path); an unknown one is refused with the installed names in
// the hint, an inconsistent one with the file, line and field.
const Profile &installed_profile(const std::string &name);

// The installed profile `name` with the migrations it runs: its own, or for
// a profile with migrations_from = app_dir those of the application
// checkout `app_dir` (core/app_migrations.hpp), read once per backend.
// Naming a directory of the server is file_fdw's privilege: superuser or
// pg_read_server_files.  A profile that takes its migrations from the
// checkout needs app_dir; one that has its own refuses it.
const Profile &profile_with_migrations(const std::string &name, const std::string &app_dir);

// The profile named by argument `n` of a SQL function: the default profile
// when the function has fewer arguments or the argument is NULL.
std::string profile_arg(FunctionCallInfo fcinfo, int n);

// Throws unless the server has what the profile's target needs
// (profile.conf's requires_postgresql, requires_extension): the extension
// available and, unless it is trusted or the user is a superuser, already
// created in the database.  Needs SPI.
void check_server_requirements(const Profile &profile);

// The app_dir argument `n` of a SQL function: empty when the function has
// fewer arguments or the argument is NULL.
std::string app_dir_arg(FunctionCallInfo fcinfo, int n);

// The profile of the migration this background worker runs (set once by
// run_migration()); the default profile before that.
const Profile &run_profile();
void set_run_profile(const std::string &name, const std::string &app_dir);

} // namespace nextcrm
