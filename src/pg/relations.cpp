#include "pg/relations.hpp"

extern "C" {
#include "access/table.h"
}

namespace nextcrm::pg {

Relation table_open(Oid relid, LOCKMODE lockmode) {
    return pg_call([relid, lockmode] { return ::table_open(relid, lockmode); });
}

void table_close(Relation relation, LOCKMODE lockmode) {
    pg_call([relation, lockmode] { ::table_close(relation, lockmode); });
}

} // namespace nextcrm::pg
