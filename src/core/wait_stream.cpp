#include "wait_stream.hpp"

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <vector>

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace nextcrm {

namespace {

WaitOutcome poll_wait(WaitSocket *sockets, std::size_t n, int timeout_ms) noexcept {
    std::vector<pollfd> fds;
    try {
        fds.resize(n);
    } catch (...) {
        return WaitOutcome::failed;
    }
    for (std::size_t i = 0; i < n; ++i)
        fds[i] = {sockets[i].fd, static_cast<short>(sockets[i].for_write ? POLLOUT : POLLIN), 0};
    int rc;
    do
        rc = ::poll(fds.data(), n, timeout_ms < 0 ? -1 : timeout_ms);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return WaitOutcome::failed;
    if (rc == 0)
        return WaitOutcome::timed_out;
    for (std::size_t i = 0; i < n; ++i)
        sockets[i].ready = fds[i].revents != 0;
    return WaitOutcome::ready;
}

SocketWait current_wait = poll_wait;

// Not one of libmongoc's stream types (1 to 7), so that nothing in the
// driver takes it for its own socket or TLS stream.
constexpr int stream_type = 0x4e58;

struct WaitStream {
    mongoc_stream_t vtable; // first: libmongoc sees a mongoc_stream_t *
    int fd;
    StreamContext *context;
    bool timed_out;
};

WaitStream *self(mongoc_stream_t *stream) {
    return reinterpret_cast<WaitStream *>(stream);
}

// libmongoc's convention: a negative timeout waits without bound, zero does
// not wait; an absolute monotonic expiry in microseconds, -1 for none.
std::int64_t expiry(std::int32_t timeout_ms) {
    if (timeout_ms < 0)
        return -1;
    return bson_get_monotonic_time() + std::int64_t(timeout_ms) * 1000;
}

int remaining_ms(std::int64_t expire_at) {
    if (expire_at < 0)
        return -1;
    std::int64_t left = (expire_at - bson_get_monotonic_time() + 999) / 1000;
    return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : static_cast<int>(left);
}

// Waits for one socket through the injected wait.  Returns true when it is
// ready; otherwise errno says why (ETIMEDOUT, ECANCELED for an interrupt:
// not EINTR, which libmongoc's TLS layer would retry at once).
bool wait_for(int fd, bool for_write, std::int64_t expire_at, StreamContext *context,
              bool *timed_out) {
    if (context->interrupted) {
        errno = ECANCELED;
        return false;
    }
    WaitSocket socket{fd, for_write, false};
    switch (current_wait(&socket, 1, remaining_ms(expire_at))) {
    case WaitOutcome::ready:
        return true;
    case WaitOutcome::timed_out:
        if (timed_out)
            *timed_out = true;
        errno = ETIMEDOUT;
        return false;
    case WaitOutcome::interrupted:
        context->interrupted = true;
        errno = ECANCELED;
        return false;
    case WaitOutcome::failed:
        break;
    }
    errno = EIO;
    return false;
}

bool would_block(int e) {
    return e == EAGAIN || e == EWOULDBLOCK;
}

void stream_destroy(mongoc_stream_t *stream) {
    WaitStream *s = self(stream);
    if (s->fd >= 0)
        ::close(s->fd);
    delete s;
}

int stream_close(mongoc_stream_t *stream) {
    WaitStream *s = self(stream);
    int rc = s->fd >= 0 ? ::close(s->fd) : 0;
    s->fd = -1;
    return rc;
}

int stream_flush(mongoc_stream_t *) {
    return 0;
}

// Reads into iov until at least min_bytes arrived, as libmongoc's socket
// stream does (it too advances iov in place).
ssize_t stream_readv(mongoc_stream_t *stream, mongoc_iovec_t *iov, size_t iovcnt, size_t min_bytes,
                     int32_t timeout_msec) {
    WaitStream *s = self(stream);
    s->timed_out = false;
    if (s->context->interrupted || s->fd < 0) {
        errno = ECANCELED;
        return -1;
    }
    std::int64_t expire_at = expiry(timeout_msec);
    ssize_t total = 0;
    std::size_t cur = 0;
    while (cur < iovcnt) {
        if (iov[cur].iov_len == 0) {
            ++cur;
            continue;
        }
        ssize_t n = ::recv(s->fd, iov[cur].iov_base, iov[cur].iov_len, 0);
        if (n > 0) {
            total += n;
            iov[cur].iov_base = static_cast<char *>(iov[cur].iov_base) + n;
            iov[cur].iov_len -= static_cast<std::size_t>(n);
            if (total >= static_cast<ssize_t>(min_bytes))
                return total;
            continue;
        }
        if (n == 0) { // the peer closed the connection
            if (total >= static_cast<ssize_t>(min_bytes))
                return total;
            errno = ECONNRESET;
            return -1;
        }
        if (errno == EINTR)
            continue;
        if (!would_block(errno))
            return -1;
        if (timeout_msec == 0) {
            if (total > 0 && total >= static_cast<ssize_t>(min_bytes))
                return total;
            errno = EAGAIN;
            return -1;
        }
        if (!wait_for(s->fd, false, expire_at, s->context, &s->timed_out)) {
            if (errno == ETIMEDOUT && total >= static_cast<ssize_t>(min_bytes))
                return total;
            return -1;
        }
    }
    return total;
}

// Writes all of iov or fails.
ssize_t stream_writev(mongoc_stream_t *stream, mongoc_iovec_t *iov, size_t iovcnt,
                      int32_t timeout_msec) {
    WaitStream *s = self(stream);
    s->timed_out = false;
    if (s->context->interrupted || s->fd < 0) {
        errno = ECANCELED;
        return -1;
    }
    std::int64_t expire_at = expiry(timeout_msec);
    ssize_t total = 0;
    std::size_t cur = 0;
    while (cur < iovcnt) {
        if (iov[cur].iov_len == 0) {
            ++cur;
            continue;
        }
        msghdr msg{};
        msg.msg_iov = iov + cur;
        msg.msg_iovlen = iovcnt - cur;
        ssize_t n = ::sendmsg(s->fd, &msg, MSG_NOSIGNAL);
        if (n >= 0) {
            total += n;
            auto left = static_cast<std::size_t>(n);
            while (cur < iovcnt && left >= iov[cur].iov_len) {
                left -= iov[cur].iov_len;
                iov[cur].iov_len = 0;
                ++cur;
            }
            if (cur < iovcnt) {
                iov[cur].iov_base = static_cast<char *>(iov[cur].iov_base) + left;
                iov[cur].iov_len -= left;
            }
            continue;
        }
        if (errno == EINTR)
            continue;
        if (!would_block(errno))
            return -1;
        if (timeout_msec == 0) {
            if (total > 0)
                return total;
            errno = EAGAIN;
            return -1;
        }
        if (!wait_for(s->fd, true, expire_at, s->context, &s->timed_out))
            return -1;
    }
    return total;
}

int stream_setsockopt(mongoc_stream_t *stream, int level, int optname, void *optval,
                      mongoc_socklen_t optlen) {
    return ::setsockopt(self(stream)->fd, level, optname, optval, optlen);
}

bool stream_check_closed(mongoc_stream_t *stream) {
    WaitStream *s = self(stream);
    if (s->context->interrupted || s->fd < 0)
        return true;
    pollfd p{s->fd, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0)
        return false;
    if (p.revents & (POLLHUP | POLLERR | POLLNVAL))
        return true;
    char c;
    ssize_t n = ::recv(s->fd, &c, 1, MSG_PEEK);
    return n == 0 || (n < 0 && !would_block(errno) && errno != EINTR);
}

// All the streams of one poll are of this type (mongoc_stream_poll checks)
// and, in a single-threaded client, of one client.  An interrupt marks every
// stream failed (POLLERR) so that the caller ends each pending command at
// once instead of polling again until its timeout.
ssize_t stream_poll(mongoc_stream_poll_t *streams, size_t nstreams, int32_t timeout) {
    bool interrupted = false;
    for (std::size_t i = 0; i < nstreams; ++i)
        interrupted |= self(streams[i].stream)->context->interrupted;
    std::vector<WaitSocket> sockets;
    WaitOutcome outcome = WaitOutcome::interrupted;
    if (!interrupted) {
        try {
            sockets.resize(nstreams);
        } catch (...) {
            errno = ENOMEM;
            return -1;
        }
        for (std::size_t i = 0; i < nstreams; ++i)
            sockets[i] = {self(streams[i].stream)->fd, (streams[i].events & POLLOUT) != 0, false};
        outcome = current_wait(sockets.data(), nstreams, timeout < 0 ? -1 : timeout);
    }
    switch (outcome) {
    case WaitOutcome::ready: {
        ssize_t ready = 0;
        for (std::size_t i = 0; i < nstreams; ++i) {
            streams[i].revents = sockets[i].ready ? streams[i].events : 0;
            ready += sockets[i].ready;
        }
        return ready;
    }
    case WaitOutcome::timed_out:
        for (std::size_t i = 0; i < nstreams; ++i)
            streams[i].revents = 0;
        return 0;
    case WaitOutcome::interrupted:
        for (std::size_t i = 0; i < nstreams; ++i) {
            self(streams[i].stream)->context->interrupted = true;
            streams[i].revents = POLLERR;
        }
        return static_cast<ssize_t>(nstreams);
    case WaitOutcome::failed:
        break;
    }
    errno = EIO;
    return -1;
}

bool stream_timed_out(mongoc_stream_t *stream) {
    return self(stream)->timed_out;
}

bool stream_should_retry(mongoc_stream_t *) {
    return false;
}

mongoc_stream_t *new_stream(int fd, StreamContext *context) {
    auto *s = new (std::nothrow) WaitStream{};
    if (!s)
        return nullptr;
    s->vtable.type = stream_type;
    s->vtable.destroy = stream_destroy;
    s->vtable.failed = stream_destroy;
    s->vtable.close = stream_close;
    s->vtable.flush = stream_flush;
    s->vtable.writev = stream_writev;
    s->vtable.readv = stream_readv;
    s->vtable.setsockopt = stream_setsockopt;
    s->vtable.check_closed = stream_check_closed;
    s->vtable.poll = stream_poll;
    s->vtable.timed_out = stream_timed_out;
    s->vtable.should_retry = stream_should_retry;
    s->fd = fd;
    s->context = context;
    return &s->vtable;
}

// Starts a non-blocking connect of a new socket to `addr` and waits for it.
// Returns the socket, or -1 with errno set.
int connect_to(int family, const sockaddr *addr, socklen_t len, std::int64_t expire_at,
               StreamContext *context) {
    int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (family != AF_UNIX) {
        int on = 1;
        (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        (void)::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    }
    int rc;
    do
        rc = ::connect(fd, addr, len);
    while (rc < 0 && errno == EINTR);
    if (rc < 0 && (errno == EINPROGRESS || errno == EAGAIN)) {
        if (wait_for(fd, true, expire_at, context, nullptr)) {
            int err = 0;
            socklen_t errlen = sizeof err;
            if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0)
                err = errno;
            errno = err;
            rc = err == 0 ? 0 : -1;
        }
    }
    if (rc < 0) {
        int saved = errno;
        ::close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

// The connection of `host` (TCP, or a Unix-domain socket path), or -1 with
// `error` set.
int connect_host(const mongoc_host_list_t *host, std::int64_t expire_at, StreamContext *context,
                 bson_error_t *error) {
    int fd = -1;
    int err = 0;
    if (host->family == AF_UNIX) {
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        if (std::strlen(host->host) >= sizeof addr.sun_path) {
            bson_set_error(error, MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_CONNECT,
                           "Unix socket path is too long: %s", host->host);
            return -1;
        }
        std::strcpy(addr.sun_path, host->host);
        fd = connect_to(AF_UNIX, reinterpret_cast<sockaddr *>(&addr), sizeof addr, expire_at,
                        context);
        err = errno;
    } else {
        // Name resolution is the one step that cannot be interrupted
        // (getaddrinfo blocks), as in libpq.
        addrinfo hints{};
        hints.ai_family =
            host->family == AF_INET || host->family == AF_INET6 ? host->family : AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_protocol = IPPROTO_TCP;
        char port[8];
        std::snprintf(port, sizeof port, "%u", static_cast<unsigned>(host->port));
        addrinfo *result = nullptr;
        int gai = ::getaddrinfo(host->host, port, &hints, &result);
        if (gai != 0) {
            bson_set_error(error, MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_NAME_RESOLUTION,
                           "Failed to resolve '%s': %s", host->host, gai_strerror(gai));
            return -1;
        }
        err = ECONNREFUSED;
        for (addrinfo *ai = result; ai && fd < 0; ai = ai->ai_next) {
            fd = connect_to(ai->ai_family, ai->ai_addr, ai->ai_addrlen, expire_at, context);
            err = errno;
            if (context->interrupted || err == ETIMEDOUT)
                break;
        }
        ::freeaddrinfo(result);
    }
    if (fd < 0) {
        if (context->interrupted)
            bson_set_error(error, MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_CONNECT,
                           "Connecting to %s was interrupted", host->host_and_port);
        else
            bson_set_error(error, MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_CONNECT,
                           "Failed to connect to target host: %s: %s", host->host_and_port,
                           std::strerror(err));
    }
    return fd;
}

#ifdef MONGOC_ENABLE_SSL
// The TLS options of the URI, as libmongoc derives them for its own streams
// (the client's copy is not public).
mongoc_ssl_opt_t tls_options(const mongoc_uri_t *uri) {
    mongoc_ssl_opt_t opt = *mongoc_ssl_opt_get_default();
    opt.pem_file = mongoc_uri_get_option_as_utf8(uri, MONGOC_URI_TLSCERTIFICATEKEYFILE, nullptr);
    opt.pem_pwd =
        mongoc_uri_get_option_as_utf8(uri, MONGOC_URI_TLSCERTIFICATEKEYFILEPASSWORD, nullptr);
    opt.ca_file = mongoc_uri_get_option_as_utf8(uri, MONGOC_URI_TLSCAFILE, nullptr);
    bool insecure = mongoc_uri_get_option_as_bool(uri, MONGOC_URI_TLSINSECURE, false);
    opt.weak_cert_validation =
        insecure || mongoc_uri_get_option_as_bool(uri, MONGOC_URI_TLSALLOWINVALIDCERTIFICATES,
                                                  opt.weak_cert_validation);
    opt.allow_invalid_hostname =
        insecure || mongoc_uri_get_option_as_bool(uri, MONGOC_URI_TLSALLOWINVALIDHOSTNAMES,
                                                  opt.allow_invalid_hostname);
    return opt;
}
#endif

} // namespace

void set_socket_wait(SocketWait wait) noexcept {
    current_wait = wait ? wait : poll_wait;
}

mongoc_stream_t *interruptible_stream_initiator(const mongoc_uri_t *uri,
                                                const mongoc_host_list_t *host, void *user_data,
                                                bson_error_t *error) {
    auto *context = static_cast<StreamContext *>(user_data);
    if (context->interrupted) {
        bson_set_error(error, MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_CONNECT,
                       "Connecting to %s was interrupted", host->host_and_port);
        return nullptr;
    }
    // The MongoDB URI specification: connectTimeoutMS=0 means no timeout.
    std::int32_t connect_ms =
        mongoc_uri_get_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, 10000);
    std::int64_t expire_at = expiry(connect_ms > 0 ? connect_ms : -1);
    int fd = connect_host(host, expire_at, context, error);
    if (fd < 0)
        return nullptr;
    mongoc_stream_t *stream = new_stream(fd, context);
    if (!stream) {
        ::close(fd);
        bson_set_error(error, MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_CONNECT, "out of memory");
        return nullptr;
    }
#ifdef MONGOC_ENABLE_SSL
    if (mongoc_uri_get_tls(uri)) {
        context->tls = tls_options(uri);
        mongoc_stream_t *tls =
            mongoc_stream_tls_new_with_hostname(stream, host->host, &context->tls, /*client=*/1);
        if (!tls) {
            mongoc_stream_destroy(stream);
            bson_set_error(error, MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_SOCKET,
                           "Failed to initialize TLS state");
            return nullptr;
        }
        if (!mongoc_stream_tls_handshake_block(tls, host->host, connect_ms > 0 ? connect_ms : -1,
                                               error)) {
            mongoc_stream_destroy(tls);
            if (context->interrupted)
                bson_set_error(error, MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_SOCKET,
                               "TLS handshake with %s was interrupted", host->host_and_port);
            return nullptr;
        }
        return tls;
    }
#endif
    return stream;
}

} // namespace nextcrm
