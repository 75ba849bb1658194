// Opening relations (access/table.h): each may raise an ERROR (no such
// relation, a lock that cannot be had), which becomes PgException.
#pragma once

#include "pg_wall.hpp"

extern "C" {
#include "utils/rel.h"
}

namespace nextcrm::pg {

Relation table_open(Oid relid, LOCKMODE lockmode);
void table_close(Relation relation, LOCKMODE lockmode);

} // namespace nextcrm::pg
