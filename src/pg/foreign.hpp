// Foreign-data catalog look-ups (foreign/foreign.h, commands/defrem.h): each
// may raise an ERROR (no such object, an option that is not a string),
// which becomes PgException.
#pragma once

#include "pg_wall.hpp"

extern "C" {
#include "foreign/foreign.h"
#include "nodes/parsenodes.h"
}

namespace nextcrm::pg {

ForeignServer *GetForeignServer(Oid serverid);
// missing_ok is false: an unknown name is an ERROR.
ForeignServer *GetForeignServerByName(const char *name);
ForeignDataWrapper *GetForeignDataWrapper(Oid fdwid);
ForeignTable *GetForeignTable(Oid relid);
UserMapping *GetUserMapping(Oid userid, Oid serverid);
List *GetForeignColumnOptions(Oid relid, AttrNumber attnum);
// The option's value as a string (defGetString()).
const char *defGetString(DefElem *def);

} // namespace nextcrm::pg
