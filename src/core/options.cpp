#include "options.hpp"

#include "bson_convert.hpp"
#include "error.hpp"
#include "mongo_client.hpp"

#include <mongoc/mongoc.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <memory>
#include <sys/socket.h>

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
    {"uuid_representation", OptionContext::Server},
    {"uuid_representation", OptionContext::Table},
    {"field", OptionContext::Column},
    {"document", OptionContext::Column},
    {"uuid_representation", OptionContext::Column},
};
// clang-format on

int parse_positive_int(std::string_view name, std::string_view value) {
    int out = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
    if (ec != std::errc() || ptr != value.data() + value.size() || out <= 0)
        throw Error(
            name == "batch_size"
                ? Message(NEXTCRM_MSG("option \"%s\" must be a positive integer, not \"%s\""), name,
                          value)
                : Message(NEXTCRM_MSG("option \"%s\" must be a positive integer number of "
                                      "milliseconds, not \"%s\""),
                          name, value),
            sqlstate::fdw_invalid_attribute_value);
    return out;
}

// The URI options and authMechanismProperties by which libmongoc takes a
// credential (lower case): a password, a key file's passphrase, a session
// token.
constexpr const char *credential_uri_options[] = {"password", "tlscertificatekeyfilepassword",
                                                  "sslclientcertificatekeypassword",
                                                  "sslcertificatekeyfilepassword"};
constexpr const char *credential_mechanism_properties[] = {"aws_session_token"};

void check_uri(std::string_view value) {
    std::string text(value);
    if (text.rfind("mongodb://", 0) != 0 && text.rfind("mongodb+srv://", 0) != 0)
        throw Error(
            Message(NEXTCRM_MSG("option \"uri\" must start with mongodb:// or mongodb+srv://")),
            sqlstate::fdw_invalid_attribute_value);
    bson_error_t err;
    std::unique_ptr<mongoc_uri_t, UriDeleter> uri(mongoc_uri_new_with_error(text.c_str(), &err));
    if (!uri)
        throw Error(Message(NEXTCRM_MSG("invalid MongoDB URI: %s"), err.message),
                    sqlstate::fdw_invalid_attribute_value);
    // Credentials in server options would be visible to every user of the
    // server; they belong in a user mapping, as with postgres_fdw.
    if (mongoc_uri_get_username(uri.get()) || mongoc_uri_get_password(uri.get()))
        throw Error(Message(NEXTCRM_MSG("the MongoDB URI must not contain credentials")),
                    sqlstate::fdw_invalid_attribute_value, {},
                    "Give username and password in a user mapping.");
    // Nor any other credential: a server's options are readable by every
    // role.  Which options carry one is a fact of libmongoc, listed here
    // (lower case), not guessed from their names; the raw query is read too,
    // since libmongoc drops an option it does not know (?password=) with no
    // more than a warning.  The error names the option, never its value.
    auto refuse_secret = [](const std::string &option) {
        throw Error(
            Message(NEXTCRM_MSG("the MongoDB URI must not contain the credential option \"%s\""),
                    option),
            sqlstate::fdw_invalid_attribute_value,
            "The options of a server are visible to every role of the database.",
            "Give credentials in a user mapping.");
    };
    auto lower = [](std::string s) {
        for (char &c : s)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return s;
    };
    if (std::size_t q = text.find('?'); q != std::string::npos) {
        std::size_t start = q + 1;
        while (start <= text.size()) {
            std::size_t end = text.find_first_of("&;", start);
            if (end == std::string::npos)
                end = text.size();
            std::string pair = text.substr(start, end - start);
            std::string key = lower(pair.substr(0, pair.find('=')));
            for (const char *credential : credential_uri_options)
                if (key == credential)
                    refuse_secret(pair.substr(0, pair.find('=')));
            start = end + 1;
        }
    }
    bson_iter_t it;
    if (bson_iter_init(&it, mongoc_uri_get_options(uri.get())))
        while (bson_iter_next(&it))
            for (const char *credential : credential_uri_options)
                if (lower(bson_iter_key(&it)) == credential)
                    refuse_secret(bson_iter_key(&it));
    bson_t props;
    if (mongoc_uri_get_mechanism_properties(uri.get(), &props) && bson_iter_init(&it, &props))
        while (bson_iter_next(&it))
            for (const char *credential : credential_mechanism_properties)
                if (lower(bson_iter_key(&it)) == credential)
                    refuse_secret(std::string("authMechanismProperties ") + bson_iter_key(&it));
}

// URI options a role that is not a superuser may use: none of them reads a
// local file, changes whose identity the backend authenticates with, or
// weakens certificate checks.  Keys as libmongoc stores them (lower case).
constexpr const char *unprivileged_uri_options[] = {"appname",
                                                    "compressors",
                                                    "zlibcompressionlevel",
                                                    "directconnection",
                                                    "loadbalanced",
                                                    "localthresholdms",
                                                    "maxpoolsize",
                                                    "minpoolsize",
                                                    "maxidletimems",
                                                    "maxstalenessseconds",
                                                    "readpreference",
                                                    "replicaset",
                                                    "retryreads",
                                                    "retrywrites",
                                                    "tls",
                                                    "ssl",
                                                    "srvservicename",
                                                    "srvmaxhosts",
                                                    "heartbeatfrequencyms",
                                                    "w",
                                                    "journal",
                                                    "wtimeoutms",
                                                    "safe",
                                                    "serverselectiontryonce",
                                                    "socketcheckintervalms",
                                                    "waitqueuemultiple",
                                                    "waitqueuetimeoutms",
                                                    "slaveok",
                                                    "connecttimeoutms",
                                                    "serverselectiontimeoutms",
                                                    "sockettimeoutms"};

constexpr const char *uri_timeouts[] = {"connecttimeoutms", "serverselectiontimeoutms",
                                        "sockettimeoutms"};

[[noreturn]] void refuse_uri_option(const std::string &option) {
    throw Error(
        Message(NEXTCRM_MSG("only superusers may use the MongoDB URI option \"%s\""), option),
        sqlstate::insufficient_privilege,
        "The option makes the backend read a file of the database server, act with the "
        "server's own identity or weaken certificate checks.",
        "Remove the option from the URI, or ask a superuser to define the server.");
}

[[noreturn]] void refuse_timeout(const std::string &option, std::int64_t value) {
    throw Error(Message(NEXTCRM_MSG("timeout \"%s\" must be between 1 and %s milliseconds, not %s"),
                        option, std::to_string(max_unprivileged_timeout_ms), std::to_string(value)),
                sqlstate::insufficient_privilege,
                "Zero means no timeout to the MongoDB driver, and a backend without one can wait "
                "forever.",
                "Only superusers may set a longer timeout.");
}

} // namespace

bool option_names_server_path(std::string_view name) {
    return std::find(std::begin(server_path_options), std::end(server_path_options), name) !=
           std::end(server_path_options);
}

void check_collection_name(std::string_view name) {
    bool bad = name.empty() || name == "." || name.find("..") != std::string_view::npos ||
               name.find_first_of(std::string_view("/\\\0", 3)) != std::string_view::npos;
    if (bad)
        throw Error(Message(NEXTCRM_MSG("invalid collection name \"%s\""), name),
                    sqlstate::fdw_invalid_attribute_value,
                    "A collection name must not be empty and must not contain \"/\", \"\\\", "
                    "NUL or \"..\".",
                    "A dump file is always read from the server's dump_dir itself.");
}

void check_unprivileged_uri(std::string_view value) {
    ensure_driver_initialized();
    std::string text(value);
    bson_error_t err;
    std::unique_ptr<mongoc_uri_t, UriDeleter> uri(mongoc_uri_new_with_error(text.c_str(), &err));
    if (!uri)
        throw Error(Message(NEXTCRM_MSG("invalid MongoDB URI: %s"), err.message),
                    sqlstate::fdw_invalid_attribute_value);
    for (const mongoc_host_list_t *h = mongoc_uri_get_hosts(uri.get()); h; h = h->next)
        if (h->family == AF_UNIX)
            throw Error(Message(NEXTCRM_MSG(
                            "only superusers may connect to MongoDB through a Unix-domain socket")),
                        sqlstate::insufficient_privilege,
                        "Host \"" + std::string(h->host) +
                            "\" is a socket file of the "
                            "database server.",
                        "Use a TCP host, or ask a superuser to define the server.");
    bson_iter_t it;
    if (bson_iter_init(&it, mongoc_uri_get_options(uri.get()))) {
        while (bson_iter_next(&it)) {
            std::string key = bson_iter_key(&it);
            std::transform(key.begin(), key.end(), key.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            if (std::none_of(std::begin(unprivileged_uri_options),
                             std::end(unprivileged_uri_options),
                             [&](const char *ok) { return key == ok; }))
                refuse_uri_option(key);
            if (std::any_of(std::begin(uri_timeouts), std::end(uri_timeouts),
                            [&](const char *t) { return key == t; })) {
                std::int64_t ms = bson_iter_as_int64(&it);
                if (ms < 1 || ms > max_unprivileged_timeout_ms)
                    refuse_timeout(key, ms);
            }
        }
    }
    // Authentication: only SCRAM (a user name and password of the mapping).
    if (const char *mech = mongoc_uri_get_auth_mechanism(uri.get());
        mech && strcmp(mech, "SCRAM-SHA-1") != 0 && strcmp(mech, "SCRAM-SHA-256") != 0)
        refuse_uri_option(std::string("authMechanism=") + mech);
    bson_t props;
    if (mongoc_uri_get_mechanism_properties(uri.get(), &props))
        refuse_uri_option("authmechanismproperties");
}

void check_unprivileged_option(std::string_view name, std::string_view value) {
    if (name != "connect_timeout_ms" && name != "server_selection_timeout_ms" &&
        name != "socket_timeout_ms")
        return;
    int ms = parse_positive_int(name, value);
    if (ms > max_unprivileged_timeout_ms)
        refuse_timeout(std::string(name), ms);
}

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
        throw Error(Message(NEXTCRM_MSG("option \"%s\" must not be empty"), name),
                    sqlstate::fdw_invalid_attribute_value);
    else if (name == "collection")
        check_collection_name(value);
    else if (name == "uuid_representation" && !parse_uuid_representation(value))
        throw Error(Message(NEXTCRM_MSG("option \"uuid_representation\" must be standard, "
                                        "csharp_legacy, java_legacy or python_legacy")),
                    sqlstate::fdw_invalid_attribute_value);
    else if (name == "document" && value != "true" && value != "false")
        throw Error(Message(NEXTCRM_MSG("option \"document\" must be true or false")),
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
    else if (name == "uuid_representation")
        uuid_representation = std::string(value);
}

void SourceOptions::check_complete() const {
    if (!uri.empty() + !dump_dir.empty() + !archive.empty() != 1)
        throw Error(Message(NEXTCRM_MSG("a nextcrm_mongo_fdw server needs exactly one of the "
                                        "options \"uri\", \"dump_dir\" and \"archive\"")),
                    sqlstate::fdw_option_name_not_found);
    if (!uri.empty() && database.empty())
        throw Error(Message(NEXTCRM_MSG(
                        "a nextcrm_mongo_fdw server with a \"uri\" needs the option \"database\"")),
                    sqlstate::fdw_option_name_not_found);
}

} // namespace nextcrm
