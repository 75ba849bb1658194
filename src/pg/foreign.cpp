#include "pg/foreign.hpp"

extern "C" {
#include "commands/defrem.h"
}

namespace nextcrm::pg {

ForeignServer *GetForeignServer(Oid serverid) {
    return pg_call([serverid] { return ::GetForeignServer(serverid); });
}

ForeignServer *GetForeignServerByName(const char *name) {
    return pg_call([name] { return ::GetForeignServerByName(name, false); });
}

ForeignDataWrapper *GetForeignDataWrapper(Oid fdwid) {
    return pg_call([fdwid] { return ::GetForeignDataWrapper(fdwid); });
}

ForeignTable *GetForeignTable(Oid relid) {
    return pg_call([relid] { return ::GetForeignTable(relid); });
}

UserMapping *GetUserMapping(Oid userid, Oid serverid) {
    return pg_call([userid, serverid] { return ::GetUserMapping(userid, serverid); });
}

List *GetForeignColumnOptions(Oid relid, AttrNumber attnum) {
    return pg_call([relid, attnum] { return ::GetForeignColumnOptions(relid, attnum); });
}

const char *defGetString(DefElem *def) {
    return pg_call([def] { return ::defGetString(def); });
}

} // namespace nextcrm::pg
