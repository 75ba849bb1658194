// The differences between the PostgreSQL major versions the extension builds
// against (15 to 18), kept here so the rest of the code reads as one version.
// Each guard names the release that changed the API; when the oldest
// supported release moves past it, the guard goes.
#pragma once

#include "pg_wall.hpp"

extern "C" {
#include "access/stratnum.h"
#include "catalog/pg_foreign_server.h"
#include "commands/vacuum.h"
#include "nodes/pathnodes.h"
#include "optimizer/pathnode.h"
#include "utils/acl.h"
#include "access/xact.h"
#include "fmgr.h"
#include "utils/resowner.h"
#if PG_VERSION_NUM >= 160000
#include "nodes/miscnodes.h"
#endif
// 16 moved the varlena macros (VARDATA_ANY, VARSIZE_ANY_EXHDR, ...) out of
// postgres.h.
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif
// 18 split ExplainState and the ExplainProperty* functions out of explain.h.
#include "commands/explain.h"
#if PG_VERSION_NUM >= 180000
#include "commands/explain_format.h"
#include "commands/explain_state.h"
#endif
}

#include <exception>

namespace nextcrm {

/// create_foreignscan_path() for a base relation's scan: no outer path, no
/// parameterization, no restrictions left to the FDW.  17 added
/// fdw_restrictinfo; 18 added disabled_nodes (0: the path is not disabled).
/// May ereport: call it inside pg_call().
inline ForeignPath *create_base_foreignscan_path(PlannerInfo *root, RelOptInfo *rel, double rows,
                                                 Cost startup_cost, Cost total_cost, List *pathkeys,
                                                 List *fdw_private) {
#if PG_VERSION_NUM >= 180000
    return create_foreignscan_path(root, rel, nullptr, rows, 0, startup_cost, total_cost, pathkeys,
                                   nullptr, nullptr, nullptr, fdw_private);
#elif PG_VERSION_NUM >= 170000
    return create_foreignscan_path(root, rel, nullptr, rows, startup_cost, total_cost, pathkeys,
                                   nullptr, nullptr, nullptr, fdw_private);
#else
    return create_foreignscan_path(root, rel, nullptr, rows, startup_cost, total_cost, pathkeys,
                                   nullptr, nullptr, fdw_private);
#endif
}

/// The btree strategy of a path key's sort direction: BTLessStrategyNumber
/// (ASC), BTGreaterStrategyNumber (DESC), or InvalidStrategy for anything
/// else.  18 replaced pk_strategy by the index-AM-neutral pk_cmptype.
inline StrategyNumber pathkey_btree_strategy(const PathKey *pk) {
#if PG_VERSION_NUM >= 180000
    switch (pk->pk_cmptype) {
    case COMPARE_LT:
        return BTLessStrategyNumber;
    case COMPARE_GT:
        return BTGreaterStrategyNumber;
    default:
        return InvalidStrategy;
    }
#else
    return static_cast<StrategyNumber>(pk->pk_strategy);
#endif
}

/// vacuum_delay_point() from ANALYZE's sampling loop (cost-based delay and
/// interrupts).  18 added the is_analyze argument.  May ereport: call it
/// inside pg_call().
inline void analyze_delay_point() {
#if PG_VERSION_NUM >= 180000
    vacuum_delay_point(true);
#else
    vacuum_delay_point();
#endif
}

/// The current privileges of roleid on a foreign server (ACL_USAGE, ...).
/// 16 replaced the per-kind pg_*_aclcheck() functions with
/// object_aclcheck().  May ereport: call it inside pg_call().
inline AclResult foreign_server_aclcheck(Oid serverid, Oid roleid, AclMode mode) {
#if PG_VERSION_NUM >= 160000
    return object_aclcheck(ForeignServerRelationId, serverid, roleid, mode);
#else
    return pg_foreign_server_aclcheck(serverid, roleid, mode);
#endif
}

/// Reads str with a type's input function without raising the input's own
/// error: true and *result on success; false and *sqlstate when the input
/// function refused str.  16 gave input functions soft errors (an
/// ErrorSaveContext); on 15 the call runs in an internal subtransaction that
/// is rolled back when it fails, so nothing the failed call did survives.
/// Any other error (out of memory, an interrupt) is raised as PgException,
/// on 15 after the rollback.
/// Calls pg_call() itself.
inline bool input_function_call_safe(FmgrInfo *flinfo, char *str, Oid typioparam, int32 typmod,
                                     Datum *result, int *sqlstate) {
#if PG_VERSION_NUM >= 160000
    return pg_call([=] {
        ErrorSaveContext escontext = {T_ErrorSaveContext};
        escontext.details_wanted = true;
        if (InputFunctionCallSafe(flinfo, str, typioparam, typmod,
                                  reinterpret_cast<Node *>(&escontext), result))
            return true;
        *sqlstate = escontext.error_data->sqlerrcode;
        return false;
    });
#else
    MemoryContext context = CurrentMemoryContext;
    ResourceOwner owner = CurrentResourceOwner;
    pg_call([context] {
        BeginInternalSubTransaction(nullptr);
        MemoryContextSwitchTo(context);
    });
    // Only what 16 would report softly -- an input function's data
    // exception (class 22) -- is a refused input; anything else (a cancel,
    // out of memory, a C++ exception) is raised again once the
    // subtransaction is rolled back, so no interrupt is swallowed.
    int code = 0;
    std::exception_ptr hard;
    try {
        *result = pg_call([=] { return InputFunctionCall(flinfo, str, typioparam, typmod); });
    } catch (const PgException &e) {
        code = e.data()->sqlerrcode;
        if (ERRCODE_TO_CATEGORY(code) != ERRCODE_DATA_EXCEPTION)
            hard = std::current_exception();
    } catch (...) {
        hard = std::current_exception();
    }
    bool parsed = code == 0 && !hard;
    pg_call([context, owner, parsed] {
        if (parsed)
            ReleaseCurrentSubTransaction();
        else
            RollbackAndReleaseCurrentSubTransaction();
        MemoryContextSwitchTo(context);
        CurrentResourceOwner = owner;
    });
    if (hard)
        std::rethrow_exception(hard);
    if (parsed)
        return true;
    *sqlstate = code;
    return false;
#endif
}

} // namespace nextcrm
