#include "connection.hpp"
#include "pg/foreign.hpp"
#include "pg/roles.hpp"
#include "pg_compat.hpp"

extern "C" {
#include "catalog/pg_foreign_server.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/acl.h"
#include "utils/inval.h"
#include "utils/syscache.h"
}

#include <map>
#include <utility>

namespace nextcrm {

namespace {

using ClientKey = std::pair<Oid, Oid>; // server, user
using ClientCache = std::map<ClientKey, std::shared_ptr<Client>>;

std::unique_ptr<ClientCache> clients;
bool clients_stale = false;

extern "C" void release_clients(int, Datum) {
    // Destroy clients before mongoc_cleanup(); static destructors would run
    // too late.
    clients.reset();
    mongoc_cleanup();
}

extern "C" void invalidate_clients(Datum, int, uint32) {
    clients_stale = true;
}

// libmongoc's informational lines (one per client: "Using custom stream
// initiator") stay out of the server log; its warnings and errors go where
// they always went.
extern "C" void driver_log(mongoc_log_level_t level, const char *domain, const char *message,
                           void *data) {
    if (level <= MONGOC_LOG_LEVEL_MESSAGE)
        mongoc_log_default_handler(level, domain, message, data);
}

void register_callbacks_once() {
    static bool registered = false;
    if (registered)
        return;
    install_socket_wait();
    mongoc_log_set_handler(driver_log, nullptr);
    pg_call([] {
        on_proc_exit(release_clients, 0);
        CacheRegisterSyscacheCallback(FOREIGNSERVEROID, invalidate_clients, 0);
        CacheRegisterSyscacheCallback(USERMAPPINGOID, invalidate_clients, 0);
    });
    registered = true;
}

void apply_options(SourceOptions &opts, List *options) {
    ListCell *lc;
    foreach (lc, options) {
        auto *def = static_cast<DefElem *>(lfirst(lc));
        const char *value = pg::defGetString(def);
        opts.set(def->defname, value);
    }
}

} // namespace

Oid server_oid_by_name(const char *name) {
    ForeignServer *server = pg::GetForeignServerByName(name);
    ForeignDataWrapper *fdw = pg::GetForeignDataWrapper(server->fdwid);
    if (strcmp(fdw->fdwname, "nextcrm_mongo_fdw") != 0)
        throw Error(Message(NEXTCRM_MSG("server \"%s\" does not use nextcrm_mongo_fdw"), name),
                    sqlstate::invalid_parameter_value);
    // dblink's rule: naming a server in a function call needs USAGE on it,
    // as creating a foreign table on it does.  Without the check, a role
    // allowed to run migrations could read any server's dump directory, or
    // connect with a PUBLIC user mapping of a server it was never granted.
    pg::check_foreign_server_acl(server->serverid, server->servername, pg::GetUserId(), ACL_USAGE);
    return server->serverid;
}

SourceOptions source_options(Oid serverid, Oid userid) {
    ForeignServer *server = pg::GetForeignServer(serverid);
    Oid user = OidIsValid(userid) ? userid : pg::GetUserId();
    // A dump_dir server needs no user mapping; a live one does.
    SourceOptions opts;
    apply_options(opts, server->options);
    opts.check_complete();
    if (opts.uri.empty())
        return opts;
    UserMapping *mapping = pg::GetUserMapping(user, serverid);
    apply_options(opts, mapping->options);
    bool is_superuser = pg::superuser_arg(user);
    // A password is used only with a user name (driver_uri): without one the
    // backend would connect unauthenticated, as whatever the MongoDB server
    // grants the database server's host, which is postgres_fdw's reason to
    // require a password.
    if (!is_superuser && (opts.password.empty() || opts.username.empty()))
        throw Error(Message(NEXTCRM_MSG("password is required")), sqlstate::invalid_authorization,
                    "Non-superusers must give a username and a password in the user mapping.");
    // The validator refused these to a non-superuser who wrote them; a server
    // whose owner has since lost superuser (or was handed over) is checked
    // again here.  A superuser's server keeps what the superuser chose, but
    // never lets a non-superuser run without timeouts.
    if (!is_superuser) {
        Oid owner = server->owner;
        if (!pg::superuser_arg(owner))
            check_unprivileged_uri(opts.uri);
        check_unprivileged_driver_timeouts(opts);
    }
    return opts;
}

std::shared_ptr<Client> client_for(Oid serverid, Oid userid) {
    register_callbacks_once();
    if (!clients)
        clients = std::make_unique<ClientCache>();
    if (clients_stale) {
        clients->clear();
        clients_stale = false;
    }
    ClientKey key(serverid, OidIsValid(userid) ? userid : pg::GetUserId());
    auto it = clients->find(key);
    if (it != clients->end() && !it->second->interrupted())
        return it->second;
    auto client = std::make_shared<Client>(source_options(serverid, key.second));
    (*clients)[key] = client;
    return client;
}

} // namespace nextcrm
