// The wrapper's handler: the FdwRoutine PostgreSQL plans and executes foreign
// scans through.
#include "pg_wall.hpp"

extern "C" {
#include "foreign/fdwapi.h"
#include "nodes/nodes.h"
}

namespace {

[[noreturn]] void scans_unavailable() {
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("nextcrm_mongo_fdw cannot scan foreign tables in this version"),
                    errhint("Use nextcrm_mongo_collections() to inspect a server.")));
    pg_unreachable();
}

extern "C" void get_foreign_rel_size(PlannerInfo *, RelOptInfo *, Oid) {
    scans_unavailable();
}

} // namespace

NEXTCRM_PG_FUNCTION(nextcrm_mongo_fdw_handler) {
    FdwRoutine *routine = nextcrm::pg_call([] { return makeNode(FdwRoutine); });
    routine->GetForeignRelSize = get_foreign_rel_size;
    PG_RETURN_POINTER(routine);
}
