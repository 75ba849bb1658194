// RAII ownership of libmongoc/libbson objects and the few driver calls the
// extension makes.  PostgreSQL-free: failures are thrown as nextcrm::Error.
#pragma once

#include "error.hpp"
#include "options.hpp"
#include "wait_stream.hpp"

#include <mongoc/mongoc.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nextcrm {

struct BsonDeleter {
    void operator()(bson_t *b) const { bson_destroy(b); }
};
struct ClientDeleter {
    void operator()(mongoc_client_t *c) const { mongoc_client_destroy(c); }
};
struct DatabaseDeleter {
    void operator()(mongoc_database_t *d) const { mongoc_database_destroy(d); }
};
struct CollectionDeleter {
    void operator()(mongoc_collection_t *c) const { mongoc_collection_destroy(c); }
};
struct UriDeleter {
    void operator()(mongoc_uri_t *u) const { mongoc_uri_destroy(u); }
};
struct CursorDeleter {
    void operator()(mongoc_cursor_t *c) const { mongoc_cursor_destroy(c); }
};

using BsonPtr = std::unique_ptr<bson_t, BsonDeleter>;
using CollectionPtr = std::unique_ptr<mongoc_collection_t, CollectionDeleter>;
using CursorPtr = std::unique_ptr<mongoc_cursor_t, CursorDeleter>;
using UriPtr = std::unique_ptr<mongoc_uri_t, UriDeleter>;

// Calls mongoc_init() once per process; libmongoc requires it before any
// other call and it must not run in the postmaster.
void ensure_driver_initialized();

// Builds the driver URI: the server's uri plus credentials from the user
// mapping and every timeout, so no driver call can block without bound.
// Server selection tries once (serverSelectionTryOnce): between the tries of
// a retrying selection libmongoc sleeps, deaf to interrupts.
UriPtr driver_uri(const SourceOptions &opts);

// Throws nextcrm::Error (42501) unless every driver timeout of driver_uri(opts)
// -- the URI's own or the server option's -- lies between 1 and
// max_unprivileged_timeout_ms: what a role that is not a superuser runs with.
void check_unprivileged_driver_timeouts(const SourceOptions &opts);

// One single-threaded client to one server.  Its connections are made by
// interruptible_stream_initiator, so every wait on them goes through the
// SocketWait in force (set_socket_wait).
class Client {
  public:
    explicit Client(const SourceOptions &opts);

    // Round trip to the server; throws when it cannot be reached.
    void ping();

    std::vector<std::string> collection_names();
    std::vector<std::string> collection_names(const std::string &database);
    std::int64_t count_documents(const std::string &collection);
    // The server's own figure (collection metadata), without reading the
    // documents; good for progress, not for accounting.
    std::int64_t estimated_count(const std::string &collection);

    const std::string &database() const noexcept { return database_; }
    mongoc_client_t *raw() const noexcept { return client_.get(); }

    // True once a wait on one of its connections was interrupted: its
    // state is unknown, its I/O fails from then on, and it must be dropped.
    bool interrupted() const noexcept { return streams_->interrupted; }

  private:
    [[noreturn]] void fail(const std::string &what, const bson_error_t &err,
                           const char *state = sqlstate::fdw_error) const;

    // Declared before client_, so destroyed after it: the client's streams
    // point at it until mongoc_client_destroy() is done.
    std::unique_ptr<StreamContext> streams_;
    std::unique_ptr<mongoc_client_t, ClientDeleter> client_;
    std::string database_;
};

} // namespace nextcrm
