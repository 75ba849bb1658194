// The wrapper's handler: the FdwRoutine PostgreSQL plans and executes foreign
// scans through.  Each callback crosses the entry wall (call_from_pg).
#include "fdw.hpp"

namespace {

using nextcrm::call_from_pg;

extern "C" void GetForeignRelSize_(PlannerInfo *root, RelOptInfo *baserel, Oid relid) {
    call_from_pg([&] { nextcrm::get_foreign_rel_size(root, baserel, relid); });
}

extern "C" void GetForeignPaths_(PlannerInfo *root, RelOptInfo *baserel, Oid relid) {
    call_from_pg([&] { nextcrm::get_foreign_paths(root, baserel, relid); });
}

extern "C" ForeignScan *GetForeignPlan_(PlannerInfo *root, RelOptInfo *baserel, Oid relid,
                                        ForeignPath *best_path, List *tlist, List *scan_clauses,
                                        Plan *outer_plan) {
    return call_from_pg([&] {
        return nextcrm::get_foreign_plan(root, baserel, relid, best_path, tlist, scan_clauses,
                                         outer_plan);
    });
}

extern "C" void BeginForeignScan_(ForeignScanState *node, int eflags) {
    call_from_pg([&] { nextcrm::begin_foreign_scan(node, eflags); });
}

extern "C" TupleTableSlot *IterateForeignScan_(ForeignScanState *node) {
    return call_from_pg([&] { return nextcrm::iterate_foreign_scan(node); });
}

extern "C" void ReScanForeignScan_(ForeignScanState *node) {
    call_from_pg([&] { nextcrm::rescan_foreign_scan(node); });
}

extern "C" void EndForeignScan_(ForeignScanState *node) {
    call_from_pg([&] { nextcrm::end_foreign_scan(node); });
}

extern "C" void ExplainForeignScan_(ForeignScanState *node, ExplainState *es) {
    call_from_pg([&] { nextcrm::explain_foreign_scan(node, es); });
}

extern "C" bool AnalyzeForeignTable_(Relation relation, AcquireSampleRowsFunc *func,
                                     BlockNumber *totalpages) {
    return call_from_pg([&] { return nextcrm::analyze_foreign_table(relation, func, totalpages); });
}

extern "C" List *ImportForeignSchema_(ImportForeignSchemaStmt *stmt, Oid serverOid) {
    return call_from_pg([&] { return nextcrm::import_foreign_schema(stmt, serverOid); });
}

} // namespace

NEXTCRM_PG_FUNCTION(nextcrm_mongo_fdw_handler) {
    FdwRoutine *routine = nextcrm::pg_call([] { return makeNode(FdwRoutine); });
    routine->GetForeignRelSize = GetForeignRelSize_;
    routine->GetForeignPaths = GetForeignPaths_;
    routine->GetForeignPlan = GetForeignPlan_;
    routine->BeginForeignScan = BeginForeignScan_;
    routine->IterateForeignScan = IterateForeignScan_;
    routine->ReScanForeignScan = ReScanForeignScan_;
    routine->EndForeignScan = EndForeignScan_;
    routine->ExplainForeignScan = ExplainForeignScan_;
    routine->AnalyzeForeignTable = AnalyzeForeignTable_;
    routine->ImportForeignSchema = ImportForeignSchema_;
    PG_RETURN_POINTER(routine);
}
