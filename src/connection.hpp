// Per-backend MongoDB clients, one for each (server, user) pair, created on
// first use and kept until the backend exits or the server or user mapping
// changes.
#pragma once

#include "pg_wall.hpp"

#include "core/mongo_client.hpp"
#include "core/options.hpp"

#include <memory>

namespace nextcrm {

// The server's options merged with the current user's mapping; enforces that a
// non-superuser authenticates with a password (as postgres_fdw does).
SourceOptions source_options(Oid serverid);

// Looks a foreign server up by name and checks that it belongs to this
// wrapper; returns its OID.
Oid server_oid_by_name(const char *name);

// The cached client for this server and the current user.  Shared ownership
// so that an invalidation never destroys a client a scan still uses.
std::shared_ptr<Client> client_for(Oid serverid);

} // namespace nextcrm
