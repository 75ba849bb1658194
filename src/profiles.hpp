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

// The profile named by argument `n` of a SQL function: the default profile
// when the function has fewer arguments or the argument is NULL.
std::string profile_arg(FunctionCallInfo fcinfo, int n);

// The profile of the migration this background worker runs (set once by
// run_migration()); the default profile before that.
const Profile &run_profile();
void set_run_profile(const std::string &name);

} // namespace nextcrm
