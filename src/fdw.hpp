// The FDW callbacks, one group per file, and what the files share.
#pragma once

#include "pg_wall.hpp"

#include "fdw_table.hpp"

#include "core/document_source.hpp"
#include "core/query_builder.hpp"

extern "C" {
#include "commands/explain.h"
#include "foreign/fdwapi.h"
#include "nodes/pathnodes.h"
#include "optimizer/planmain.h"
}

#include <memory>
#include <string>
#include <vector>

namespace nextcrm {

// ForeignScan.fdw_private, as a List: what GetForeignPlan decided.
enum PlanPrivate {
    PlanFilter,     // String: MongoDB filter (canonical Extended JSON) or ""
    PlanProjection, // String: projection, "" for the whole document
    PlanSort,       // String: sort or ""
    PlanLimit,      // String: limit as decimal text, "0" for none
    PlanAttnums,    // IntList: the columns the scan fills
    PlanUserId,     // Integer: RelOptInfo.userid, the role whose user mapping the scan
                    // uses (a view's owner); 0 for the user running the query
};

// fdw_plan.cpp
void get_foreign_rel_size(PlannerInfo *root, RelOptInfo *baserel, Oid relid);
void get_foreign_paths(PlannerInfo *root, RelOptInfo *baserel, Oid relid);
ForeignScan *get_foreign_plan(PlannerInfo *root, RelOptInfo *baserel, Oid relid,
                              ForeignPath *best_path, List *tlist, List *scan_clauses,
                              Plan *outer_plan);

// fdw_pushdown.cpp: a WHERE clause as a MongoDB condition, when it can be one
// with exactly SQL's meaning.
bool clause_to_condition(Expr *clause, Index relid, const TableSpec &table, Condition &out);
// Whether ORDER BY on this column may be sent to MongoDB.
bool column_sorts_remotely(const ColumnSpec &col, bool ascending, bool nulls_first);

// fdw_scan.cpp
void begin_foreign_scan(ForeignScanState *node, int eflags);
TupleTableSlot *iterate_foreign_scan(ForeignScanState *node);
void rescan_foreign_scan(ForeignScanState *node);
void end_foreign_scan(ForeignScanState *node);

// fdw_explain.cpp
void explain_foreign_scan(ForeignScanState *node, ExplainState *es);

// fdw_analyze.cpp
bool analyze_foreign_table(Relation relation, AcquireSampleRowsFunc *func, BlockNumber *totalpages);

// fdw_import.cpp
List *import_foreign_schema(ImportForeignSchemaStmt *stmt, Oid serverOid);

// fdw_source.cpp: the document source of a table (a cursor with the given
// query, or its dump file) and the field list of a set of columns.
std::unique_ptr<DocumentSource> open_table_source(const TableSpec &table, const QuerySpec &query);
std::vector<std::string> projected_fields(const TableSpec &table,
                                          const std::vector<AttrNumber> &attnums,
                                          bool *whole_document);

} // namespace nextcrm
