// The catalogue of options the wrapper accepts, and checks of their values.
// PostgreSQL-free so that the rules can be unit tested; option_validate.cpp
// applies them to CREATE/ALTER ... OPTIONS.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace nextcrm {

enum class OptionContext { Wrapper, Server, UserMapping, Table, Column };

// True when `name` may be given on an object of kind `ctx`.
bool option_is_valid(std::string_view name, OptionContext ctx);

// Comma-separated names valid in `ctx`, for the error hint; empty when none.
std::string valid_option_names(OptionContext ctx);

// Throws nextcrm::Error when `value` is not acceptable for option `name`.
void check_option_value(std::string_view name, std::string_view value);

// True when option `name` names a path on the database server's file system.
// Such options (file_fdw's rule) may be set only by superusers and members of
// pg_read_server_files.  The list is server_path_options below: an option that
// names a file joins the rule by being added there.
bool option_names_server_path(std::string_view name);
inline constexpr std::string_view server_path_options[] = {"dump_dir", "archive"};

// Throws nextcrm::Error (HV024) when a collection name could leave its dump
// directory: '/', '\', NUL, "." or any "..".  Applied to the table option
// `collection` and again before a dump file is opened.
void check_collection_name(std::string_view name);

// The driver timeouts a role that is not a superuser may set (server options
// and URI options alike): 1 to max_unprivileged_timeout_ms milliseconds.  Zero
// would mean "no timeout" to libmongoc and a backend that waits forever.
inline constexpr int max_unprivileged_timeout_ms = 3600000;

// Throws nextcrm::Error (42501) when a connection string holds something only
// a superuser may ask for: a URI option that makes the backend read local
// files or act with the server's own identity (TLS certificate, key and CA
// files, tlsInsecure/tlsAllowInvalid*, authentication other than SCRAM, auth
// mechanism properties), a Unix-domain socket host, or a driver timeout that
// is zero or above max_unprivileged_timeout_ms.  Options not listed as safe
// are refused, so a URI option added to the driver later is refused too.
void check_unprivileged_uri(std::string_view uri);

// Throws nextcrm::Error (42501) when one of the timeout options
// (connect_timeout_ms, ...) exceeds max_unprivileged_timeout_ms.
void check_unprivileged_option(std::string_view name, std::string_view value);

// Default driver timeouts.  Every network call is bounded by these so that a
// dead server turns into an error rather than a hung backend.
inline constexpr int default_connect_timeout_ms = 10000;
inline constexpr int default_server_selection_timeout_ms = 10000;
inline constexpr int default_socket_timeout_ms = 60000;

// Everything needed to reach one MongoDB source, gathered from the server
// options and the current user's mapping.
struct SourceOptions {
    std::string uri;      // empty for a dump (dump_dir or archive)
    std::string dump_dir; // a mongodump folder (database or whole server)
    std::string archive;  // a mongodump --archive file (plain or gzip)
    std::string database;
    std::string username;
    std::string password;
    int connect_timeout_ms = default_connect_timeout_ms;
    int server_selection_timeout_ms = default_server_selection_timeout_ms;
    int socket_timeout_ms = default_socket_timeout_ms;
    int batch_size = 1000; // documents per cursor batch (server or table option)
    // How BinData subtype 3 reads into uuid (bson_convert.hpp); a table or
    // column option overrides it.  Empty: refused.
    std::string uuid_representation;

    // True for a mongodump backup (dump_dir or archive), false for a live
    // server.
    bool is_dump() const noexcept { return uri.empty(); }

    // Sets one server or user-mapping option; unknown names are ignored
    // because the validator has already rejected them.
    void set(std::string_view name, std::string_view value);

    // Throws when the combination is incomplete or contradictory.
    void check_complete() const;
};

} // namespace nextcrm
