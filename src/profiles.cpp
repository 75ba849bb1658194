#include "profiles.hpp"

#include "pg_compat.hpp"
#include "pg_wall.hpp"

extern "C" {
#include "catalog/pg_authid.h"
#include "miscadmin.h"
#include "utils/acl.h"
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
std::string run_app_dir;

// The profiles with the migrations of an application checkout: by profile
// name and directory.
std::map<std::pair<std::string, std::string>, std::unique_ptr<const Profile>> &with_app() {
    static std::map<std::pair<std::string, std::string>, std::unique_ptr<const Profile>> profiles;
    return profiles;
}

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

const Profile &profile_with_migrations(const std::string &name, const std::string &app_dir) {
    const Profile &profile = installed_profile(name);
    if (!profile.migrations_from_app()) {
        if (!app_dir.empty())
            throw Error(Message(NEXTCRM_MSG("profile \"%s\" does not take an app_dir"), name),
                        sqlstate::invalid_parameter_value,
                        "Its migrations are installed with the profile.",
                        "Leave app_dir out (NULL).");
        return profile;
    }
    if (app_dir.empty())
        throw Error(Message(NEXTCRM_MSG("profile \"%s\" needs app_dir"), name),
                    sqlstate::invalid_parameter_value,
                    "The profile runs the migrations of the " + profile.title() +
                        " checkout the application is deployed from.",
                    "Pass app_dir => '<the checkout>', the directory holding prisma/ (or that "
                    "prisma/ directory).");
    // file_fdw's rule: naming a file of the database server is for those
    // who may read any of them.
    if (!pg_call([] {
            return superuser() || has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES);
        }))
        throw Error(Message(NEXTCRM_MSG("only superuser or a role with privileges of the "
                                        "pg_read_server_files role may name an app_dir")),
                    sqlstate::insufficient_privilege, {},
                    "app_dir names a directory on the database server.");
    auto &cache = with_app();
    auto key = std::make_pair(name, app_dir);
    auto it = cache.find(key);
    if (it != cache.end())
        return *it->second;
    auto loaded_profile = std::make_unique<const Profile>(profile.with_app_migrations(app_dir));
    return *cache.emplace(key, std::move(loaded_profile)).first->second;
}

std::string app_dir_arg(FunctionCallInfo fcinfo, int n) {
    if (PG_NARGS() <= n || PG_ARGISNULL(n))
        return {};
    text *arg = PG_GETARG_TEXT_PP(n);
    return std::string(VARDATA_ANY(arg), VARSIZE_ANY_EXHDR(arg));
}

std::string profile_arg(FunctionCallInfo fcinfo, int n) {
    if (PG_NARGS() <= n || PG_ARGISNULL(n))
        return default_profile;
    text *arg = PG_GETARG_TEXT_PP(n);
    return std::string(VARDATA_ANY(arg), VARSIZE_ANY_EXHDR(arg));
}

const Profile &run_profile() {
    return profile_with_migrations(run_profile_name, run_app_dir);
}

void set_run_profile(const std::string &name, const std::string &app_dir) {
    (void)profile_with_migrations(name, app_dir);
    run_profile_name = name;
    run_app_dir = app_dir;
}

} // namespace nextcrm
