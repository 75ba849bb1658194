#include "mongo_client.hpp"

#include "error.hpp"

namespace nextcrm {

namespace {

[[noreturn]] void throw_driver_error(const std::string &what, const bson_error_t &err,
                                     const char *state = sqlstate::fdw_error) {
    throw Error(what + ": " + err.message, state);
}

} // namespace

// A driver call that failed because its wait was interrupted: said as such
// (57014, as PostgreSQL's own cancel), not as the network error libmongoc
// made of it.  The PostgreSQL side raises the pending interrupt itself first.
[[noreturn]] void Client::fail(const std::string &what, const bson_error_t &err,
                               const char *state) const {
    if (interrupted())
        throw Error(what + ": the wait on the MongoDB server was interrupted",
                    sqlstate::query_canceled);
    throw_driver_error(what, err, state);
}

UriPtr driver_uri(const SourceOptions &opts) {
    ensure_driver_initialized();
    bson_error_t err;
    UriPtr uri(mongoc_uri_new_with_error(opts.uri.c_str(), &err));
    if (!uri)
        throw_driver_error("invalid MongoDB URI", err, sqlstate::fdw_invalid_attribute_value);
    if (!opts.username.empty()) {
        mongoc_uri_set_username(uri.get(), opts.username.c_str());
        mongoc_uri_set_password(uri.get(), opts.password.c_str());
    }
    // A timeout written into the URI itself wins over the server option's
    // default, so users can keep one connection string for every tool.
    auto set_default = [&](const char *key, int value) {
        if (mongoc_uri_get_option_as_int32(uri.get(), key, -1) == -1)
            mongoc_uri_set_option_as_int32(uri.get(), key, value);
    };
    set_default(MONGOC_URI_CONNECTTIMEOUTMS, opts.connect_timeout_ms);
    set_default(MONGOC_URI_SERVERSELECTIONTIMEOUTMS, opts.server_selection_timeout_ms);
    set_default(MONGOC_URI_SOCKETTIMEOUTMS, opts.socket_timeout_ms);
    mongoc_uri_set_option_as_bool(uri.get(), MONGOC_URI_SERVERSELECTIONTRYONCE, true);
    mongoc_uri_set_appname(uri.get(), "nextcrm_mongo_fdw");
    return uri;
}

void check_unprivileged_driver_timeouts(const SourceOptions &opts) {
    UriPtr uri = driver_uri(opts);
    for (const char *key : {MONGOC_URI_CONNECTTIMEOUTMS, MONGOC_URI_SERVERSELECTIONTIMEOUTMS,
                            MONGOC_URI_SOCKETTIMEOUTMS}) {
        std::int32_t ms = mongoc_uri_get_option_as_int32(uri.get(), key, -1);
        if (ms < 1 || ms > max_unprivileged_timeout_ms)
            throw Error(Message(NEXTCRM_MSG("timeout \"%s\" of the server's MongoDB URI is %s "
                                            "milliseconds"),
                                key, std::to_string(ms)),
                        sqlstate::insufficient_privilege,
                        "A role that is not a superuser runs with driver timeouts between 1 and " +
                            std::to_string(max_unprivileged_timeout_ms) +
                            " milliseconds; zero means no timeout.",
                        "Ask the server's owner to set a timeout in that range.");
    }
}

void ensure_driver_initialized() {
    static bool initialized = false;
    if (!initialized) {
        mongoc_init();
        initialized = true;
    }
}

Client::Client(const SourceOptions &opts)
    : streams_(std::make_unique<StreamContext>()), database_(opts.database) {
    if (opts.uri.empty())
        throw Error(Message(NEXTCRM_MSG(
                        "server has no \"uri\"; a dump_dir source is read without a client")),
                    sqlstate::fdw_option_name_not_found);
    ensure_driver_initialized();
    UriPtr uri = driver_uri(opts);
    bson_error_t err;
    client_.reset(mongoc_client_new_from_uri_with_error(uri.get(), &err));
    if (!client_)
        fail("could not create MongoDB client", err, sqlstate::fdw_unable_to_establish_connection);
    mongoc_client_set_error_api(client_.get(), MONGOC_ERROR_API_VERSION_2);
    // Before the first I/O: every connection, monitoring ones included, is
    // made by the initiator.
    mongoc_client_set_stream_initiator(client_.get(), interruptible_stream_initiator,
                                       streams_.get());
}

void Client::ping() {
    BsonPtr cmd(BCON_NEW("ping", BCON_INT32(1)));
    bson_t reply;
    bson_error_t err;
    bool ok =
        mongoc_client_command_simple(client_.get(), "admin", cmd.get(), nullptr, &reply, &err);
    bson_destroy(&reply);
    if (!ok)
        fail("could not reach MongoDB server", err, sqlstate::fdw_unable_to_establish_connection);
}

std::vector<std::string> Client::collection_names() {
    return collection_names(database_);
}

std::vector<std::string> Client::collection_names(const std::string &database) {
    std::unique_ptr<mongoc_database_t, DatabaseDeleter> db(
        mongoc_client_get_database(client_.get(), database.c_str()));
    bson_error_t err;
    char **names = mongoc_database_get_collection_names_with_opts(db.get(), nullptr, &err);
    if (!names)
        fail("could not list collections of database \"" + database + "\"", err);
    std::vector<std::string> out;
    for (char **n = names; *n; ++n)
        out.emplace_back(*n);
    bson_strfreev(names);
    return out;
}

std::int64_t Client::count_documents(const std::string &collection) {
    CollectionPtr coll(
        mongoc_client_get_collection(client_.get(), database_.c_str(), collection.c_str()));
    bson_t filter = BSON_INITIALIZER;
    bson_error_t err;
    std::int64_t n =
        mongoc_collection_count_documents(coll.get(), &filter, nullptr, nullptr, nullptr, &err);
    bson_destroy(&filter);
    if (n < 0)
        fail("could not count collection \"" + collection + "\"", err);
    return n;
}

std::int64_t Client::estimated_count(const std::string &collection) {
    CollectionPtr coll(
        mongoc_client_get_collection(client_.get(), database_.c_str(), collection.c_str()));
    bson_error_t err;
    std::int64_t n =
        mongoc_collection_estimated_document_count(coll.get(), nullptr, nullptr, nullptr, &err);
    if (n < 0)
        fail("could not count collection \"" + collection + "\"", err);
    return n;
}

} // namespace nextcrm
