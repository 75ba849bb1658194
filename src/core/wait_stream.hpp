// The driver's network streams, made by the extension so that every wait on
// a socket can also end on an interrupt.  libmongoc's own socket stream
// blocks in poll() until its timeout (up to socketTimeoutMS), deaf to
// Ctrl+C, statement_timeout and pg_terminate_backend.  Here every connect,
// read, write and poll waits through a SocketWait that the caller supplies
// (PostgreSQL: WaitEventSet on the socket and the process latch), and an
// interrupted wait fails the I/O with an error libmongoc handles like any
// network error: no longjmp ever crosses the driver's C frames.
//
// PostgreSQL-free, so it runs in the unit tests with a plain poll().
#pragma once

#include <mongoc/mongoc.h>

#include <cstddef>

namespace nextcrm {

// One socket to wait on, and whether it became ready.
struct WaitSocket {
    int fd = -1;
    bool for_write = false;
    bool ready = false; // set by the wait
};

enum class WaitOutcome {
    ready,       // at least one socket is ready
    timed_out,   // timeout_ms passed
    interrupted, // the process was asked to stop what it does
    failed,      // the wait itself failed
};

// Waits until one of `sockets` is ready, `timeout_ms` passes (negative: no
// bound) or an interrupt is pending.  Must not throw or longjmp: it runs
// below libmongoc's frames.
using SocketWait = WaitOutcome (*)(WaitSocket *sockets, std::size_t n, int timeout_ms) noexcept;

// The wait every stream uses from now on; nullptr restores the default, a
// plain poll() that is never interrupted.
void set_socket_wait(SocketWait wait) noexcept;

// What the streams of one client share: once a wait of one of them was
// interrupted, the client's state is unknown and every later I/O of its
// streams (a cursor's killCursors at clean-up, a reconnect) fails at once,
// so that nothing waits on the network for a client that is being dropped.
struct StreamContext {
    bool interrupted = false;
    // The TLS options of the latest TLS stream, kept for as long as the
    // client (its streams may refer to them).
    mongoc_ssl_opt_t tls{};
};

// libmongoc's stream initiator (mongoc_client_set_stream_initiator), with a
// StreamContext as user_data.  Connects without blocking (TCP or Unix
// socket), then does the TLS handshake when the URI asks for TLS, every wait
// through the SocketWait.  A single-threaded client uses the initiator for
// its monitoring connections too, so server selection is covered.
mongoc_stream_t *interruptible_stream_initiator(const mongoc_uri_t *uri,
                                                const mongoc_host_list_t *host, void *user_data,
                                                bson_error_t *error);

} // namespace nextcrm
