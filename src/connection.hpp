// Per-backend MongoDB clients, one for each (server, user) pair, created on
// first use and kept until the backend exits or the server or user mapping
// changes.
#pragma once

#include "pg_wall.hpp"

#include "core/mongo_client.hpp"
#include "core/options.hpp"

#include <memory>

namespace nextcrm {

// The server's options merged with the user mapping of `userid` (the role a
// query is checked as: a view's owner, as postgres_fdw does; InvalidOid means
// the current user).  For a role that is not a superuser it enforces
// postgres_fdw's rules: a password in the mapping, and no URI option or
// timeout that only a superuser may set (check_unprivileged_uri) unless a
// superuser owns the server and so chose them.  Throws nextcrm::Error.
SourceOptions source_options(Oid serverid, Oid userid = InvalidOid);

// Looks a foreign server up by name and checks that it belongs to this
// wrapper; returns its OID.
Oid server_oid_by_name(const char *name);

// The cached client for this server and user (InvalidOid: the current user).  Shared ownership
// so that an invalidation never destroys a client a scan still uses.  A client
// whose wait was interrupted is dropped and replaced: its state is unknown.
std::shared_ptr<Client> client_for(Oid serverid, Oid userid = InvalidOid);

// Makes the driver's streams wait on the process latch too
// (socket_wait.cpp); done by client_for() before the first client.
void install_socket_wait();

// A background worker whose SIGTERM handler only sets `flag` (a stop after
// the batch in flight) names it here, so that a wait on the network ends on
// it as on a cancel.
void set_driver_stop_flag(volatile sig_atomic_t *flag);

} // namespace nextcrm
