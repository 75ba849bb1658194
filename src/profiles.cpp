#include "profiles.hpp"

#include "pg_compat.hpp"
#include "pg_wall.hpp"

extern "C" {
#include "miscadmin.h"
}

#include <algorithm>
#include <map>
#include <memory>
#include <vector>

namespace nextcrm {

namespace {

// The cache: a profile is read once per backend, when first named.
std::map<std::string, std::unique_ptr<const Profile>> &loaded() {
    static std::map<std::string, std::unique_ptr<const Profile>> profiles;
    return profiles;
}

std::string run_profile_name = default_profile;

// Where PostgreSQL installed this extension's data, as PGXS's DATA goes.
std::string profiles_dir() {
    char share[MAXPGPATH];
    pg_call([&share] { get_share_path(my_exec_path, share); });
    return std::string(share) + "/extension/nextcrm_mongo_fdw/profiles";
}

bool valid_name(const std::string &name) {
    if (name.empty() || name.size() > max_profile_name || name[0] == '.' ||
        name.find("..") != std::string::npos)
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-';
    });
}

std::string installed_names(const std::string &dir) {
    std::string out;
    for (const auto &n : profile_names(dir))
        out += (out.empty() ? "" : ", ") + n;
    return out.empty() ? "none" : out;
}

} // namespace

const Profile &installed_profile(const std::string &name) {
    auto &cache = loaded();
    auto it = cache.find(name);
    if (it != cache.end())
        return *it->second;
    if (!valid_name(name))
        throw Error(Message(NEXTCRM_MSG("invalid profile name \"%s\""), name),
                    sqlstate::invalid_parameter_value,
                    "A profile name is letters, digits, \".\", \"_\" and \"-\", at most " +
                        std::to_string(max_profile_name) + " characters, and not a path.");
    std::string base = profiles_dir();
    std::string dir = base + "/" + name;
    if (!is_directory(dir))
        throw Error(Message(NEXTCRM_MSG("profile \"%s\" does not exist"), name),
                    sqlstate::invalid_parameter_value, "Profiles are installed in " + base + ".",
                    "Installed profiles: " + installed_names(base) + ".");
    auto profile = std::make_unique<const Profile>(Profile::load(dir, name));
    return *cache.emplace(name, std::move(profile)).first->second;
}

std::string profile_arg(FunctionCallInfo fcinfo, int n) {
    if (PG_NARGS() <= n || PG_ARGISNULL(n))
        return default_profile;
    text *arg = PG_GETARG_TEXT_PP(n);
    return std::string(VARDATA_ANY(arg), VARSIZE_ANY_EXHDR(arg));
}

const Profile &run_profile() {
    return installed_profile(run_profile_name);
}

void set_run_profile(const std::string &name) {
    (void)installed_profile(name);
    run_profile_name = name;
}

} // namespace nextcrm
