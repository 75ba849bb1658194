// The driver's streams wait through the injected SocketWait: a wait that
// reports an interrupt fails the driver call at once with 57014 and marks
// the client interrupted, while the default wait keeps the URI's timeouts.
// A loopback socket that accepts (the kernel's backlog) and never answers
// stands in for an unresponsive server.
#include "core/error.hpp"
#include "core/mongo_client.hpp"
#include "core/wait_stream.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

// A listening socket on 127.0.0.1 that nobody ever reads from.
class SilentServer {
  public:
    SilentServer() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr *>(&addr), sizeof addr), 0);
        EXPECT_EQ(::listen(fd_, 16), 0);
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr *>(&addr), &len);
        port_ = ntohs(addr.sin_port);
    }
    ~SilentServer() { ::close(fd_); }
    std::string uri() const { return "mongodb://127.0.0.1:" + std::to_string(port_) + "/"; }

  private:
    int fd_ = -1;
    int port_ = 0;
};

int waits_seen = 0;

// Lets the first `ready_budget` waits through (the connect, the handshake's
// write), then reports an interrupt.
int ready_budget = 0;
nextcrm::WaitOutcome interrupting_wait(nextcrm::WaitSocket *sockets, std::size_t n,
                                       int /*timeout_ms*/) noexcept {
    ++waits_seen;
    if (ready_budget-- > 0) {
        for (std::size_t i = 0; i < n; ++i)
            sockets[i].ready = sockets[i].for_write;
        return nextcrm::WaitOutcome::ready;
    }
    return nextcrm::WaitOutcome::interrupted;
}

nextcrm::SourceOptions hour_long(const SilentServer &server) {
    nextcrm::SourceOptions opts;
    opts.uri = server.uri();
    opts.database = "crm";
    opts.connect_timeout_ms = 3600000;
    opts.server_selection_timeout_ms = 3600000;
    opts.socket_timeout_ms = 3600000;
    return opts;
}

struct RestoreWait {
    ~RestoreWait() { nextcrm::set_socket_wait(nullptr); }
};

} // namespace

TEST(WaitStream, AnInterruptedWaitFailsTheCallAtOnce) {
    SilentServer server;
    RestoreWait restore;
    nextcrm::set_socket_wait(interrupting_wait);
    for (int budget : {0, 1, 2}) {
        waits_seen = 0;
        ready_budget = budget;
        nextcrm::Client client(hour_long(server));
        EXPECT_FALSE(client.interrupted());
        auto start = std::chrono::steady_clock::now();
        std::string state = "none", message;
        try {
            client.ping();
        } catch (const nextcrm::Error &e) {
            state = e.sqlstate();
            message = e.what();
        }
        auto elapsed = std::chrono::steady_clock::now() - start;
        EXPECT_EQ(state, "57014") << "budget " << budget << ": " << message;
        EXPECT_NE(message.find("interrupted"), std::string::npos) << message;
        EXPECT_TRUE(client.interrupted());
        EXPECT_GT(waits_seen, 0);
        // Hour-long timeouts: only the injected wait can have ended it.
        EXPECT_LT(elapsed, std::chrono::seconds(5)) << "budget " << budget;
        // Later calls on the interrupted client fail without waiting.
        int before = waits_seen;
        EXPECT_THROW(client.collection_names(), nextcrm::Error);
        EXPECT_EQ(waits_seen, before);
    }
}

TEST(WaitStream, TheDefaultWaitKeepsTheDriverTimeouts) {
    SilentServer server;
    nextcrm::SourceOptions opts = hour_long(server);
    opts.connect_timeout_ms = 200;
    nextcrm::Client client(opts);
    std::string state = "none";
    try {
        client.ping();
    } catch (const nextcrm::Error &e) {
        state = e.sqlstate();
    }
    EXPECT_EQ(state, nextcrm::sqlstate::fdw_unable_to_establish_connection);
    EXPECT_FALSE(client.interrupted());
}
