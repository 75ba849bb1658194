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
