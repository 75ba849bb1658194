#include "options.hpp"

#include "error.hpp"

#include <mongoc/mongoc.h>

#include <charconv>
#include <memory>

namespace nextcrm {

namespace {

struct OptionSpec {
    const char *name;
    OptionContext context;
};

// clang-format off
constexpr OptionSpec catalog[] = {
    {"uri", OptionContext::Server},
    {"dump_dir", OptionContext::Server},
    {"archive", OptionContext::Server},
    {"database", OptionContext::Server},
    {"connect_timeout_ms", OptionContext::Server},
    {"server_selection_timeout_ms", OptionContext::Server},
    {"socket_timeout_ms", OptionContext::Server},
    {"batch_size", OptionContext::Server},
    {"username", OptionContext::UserMapping},
    {"password", OptionContext::UserMapping},
    {"collection", OptionContext::Table},
    {"database", OptionContext::Table},
    {"batch_size", OptionContext::Table},
    {"field", OptionContext::Column},
    {"document", OptionContext::Column},
};
// clang-format on

int parse_positive_int(std::string_view name, std::string_view value) {
    int out = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
    if (ec != std::errc() || ptr != value.data() + value.size() || out <= 0)
        throw Error("option \"" + std::string(name) + "\" must be a positive integer" +
                        (name == "batch_size" ? "" : " number of milliseconds") + ", not \"" +
                        std::string(value) + "\"",
                    sqlstate::fdw_invalid_attribute_value);
    return out;
}

struct UriDeleter {
    void operator()(mongoc_uri_t *u) const { mongoc_uri_destroy(u); }
};

void check_uri(std::string_view value) {
    std::string text(value);
    if (text.rfind("mongodb://", 0) != 0 && text.rfind("mongodb+srv://", 0) != 0)
        throw Error("option \"uri\" must start with mongodb:// or mongodb+srv://",
                    sqlstate::fdw_invalid_attribute_value);
    bson_error_t err;
    std::unique_ptr<mongoc_uri_t, UriDeleter> uri(mongoc_uri_new_with_error(text.c_str(), &err));
    if (!uri)
        throw Error(std::string("invalid MongoDB URI: ") + err.message,
                    sqlstate::fdw_invalid_attribute_value);
    // Credentials in server options would be visible to every user of the
    // server; they belong in a user mapping, as with postgres_fdw.
    if (mongoc_uri_get_username(uri.get()) || mongoc_uri_get_password(uri.get()))
        throw Error("the MongoDB URI must not contain credentials",
                    sqlstate::fdw_invalid_attribute_value, {},
                    "Give username and password in a user mapping.");
}

} // namespace

bool option_is_valid(std::string_view name, OptionContext ctx) {
    for (const auto &spec : catalog)
        if (spec.context == ctx && name == spec.name)
            return true;
    return false;
}

std::string valid_option_names(OptionContext ctx) {
    std::string out;
    for (const auto &spec : catalog) {
        if (spec.context != ctx)
            continue;
        if (!out.empty())
            out += ", ";
        out += spec.name;
    }
    return out;
}

void check_option_value(std::string_view name, std::string_view value) {
    if (name == "uri")
        check_uri(value);
    else if (name == "connect_timeout_ms" || name == "server_selection_timeout_ms" ||
             name == "socket_timeout_ms" || name == "batch_size")
        parse_positive_int(name, value);
    else if ((name == "dump_dir" || name == "archive" || name == "database" ||
              name == "collection" || name == "field") &&
             value.empty())
        throw Error("option \"" + std::string(name) + "\" must not be empty",
                    sqlstate::fdw_invalid_attribute_value);
    else if (name == "document" && value != "true" && value != "false")
        throw Error("option \"document\" must be true or false",
                    sqlstate::fdw_invalid_attribute_value);
}

void SourceOptions::set(std::string_view name, std::string_view value) {
    if (name == "uri")
        uri = value;
    else if (name == "dump_dir")
        dump_dir = value;
    else if (name == "archive")
        archive = value;
    else if (name == "database")
        database = value;
    else if (name == "username")
        username = value;
    else if (name == "password")
        password = value;
    else if (name == "connect_timeout_ms")
        connect_timeout_ms = parse_positive_int(name, value);
    else if (name == "server_selection_timeout_ms")
        server_selection_timeout_ms = parse_positive_int(name, value);
    else if (name == "socket_timeout_ms")
        socket_timeout_ms = parse_positive_int(name, value);
    else if (name == "batch_size")
        batch_size = parse_positive_int(name, value);
}

void SourceOptions::check_complete() const {
    if (!uri.empty() + !dump_dir.empty() + !archive.empty() != 1)
        throw Error("a nextcrm_mongo_fdw server needs exactly one of the options \"uri\", "
                    "\"dump_dir\" and \"archive\"",
                    sqlstate::fdw_option_name_not_found);
    if (!uri.empty() && database.empty())
        throw Error("a nextcrm_mongo_fdw server with a \"uri\" needs the option \"database\"",
                    sqlstate::fdw_option_name_not_found);
}

} // namespace nextcrm
