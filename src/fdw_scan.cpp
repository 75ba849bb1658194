// Executing a scan.  The C++ state (cursor, client reference, row builder)
// is owned by a memory context of its own whose reset callback deletes it:
// EndForeignScan deletes the context, and when a query fails PostgreSQL
// deletes it with the query's memory, so no driver object outlives its query.
#include "fdw.hpp"
#include "pg/executor.hpp"
#include "pg/memory.hpp"

#include "fdw_row.hpp"
#include "profiles.hpp"

#include "core/bson_filter.hpp"
#include "core/mapping.hpp"

extern "C" {
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "nodes/execnodes.h"
#include "storage/proc.h" // StatementTimeout
#include "utils/memutils.h"
}

#include <algorithm>

namespace nextcrm {

namespace {

struct ScanState {
    TableSpec table;
    // The filter a live server would apply, evaluated on a dump's
    // documents.
    std::unique_ptr<BsonFilter> dump_filter;
    QuerySpec query;
    std::string filter, projection, sort;
    std::vector<AttrNumber> attnums;
    std::unique_ptr<DocumentSource> source;
    std::unique_ptr<RowBuilder> rows;
};

// Lives in the scan's memory context.
struct ScanHolder {
    ScanState *state;
    MemoryContext context;
    MemoryContextCallback callback;
};

extern "C" void delete_scan_state(void *arg) {
    auto *holder = static_cast<ScanHolder *>(arg);
    // Destructors release libmongoc/libbson objects; none of them throws.
    delete holder->state;
    holder->state = nullptr;
}

std::string list_string(List *l, int n) {
    return strVal(list_nth(l, n));
}

// Builds the query from the plan's documents and opens the source.
void open_source(ScanState &s) {
    QuerySpec &q = s.query;
    q.filter = s.filter.empty() ? nullptr : from_json(s.filter);
    q.projection = s.projection.empty() ? nullptr : from_json(s.projection);
    q.sort = s.sort.empty() ? nullptr : from_json(s.sort);
    q.batch_size =
        static_cast<std::int32_t>(q.limit > 0 ? std::min<std::int64_t>(q.limit, 1000) : 1000);
    // Let the server give up when PostgreSQL would.
    q.max_time_ms = StatementTimeout > 0 ? StatementTimeout : 0;
    s.source = open_table_source(s.table, q);
    // Compiled before the first document is read: a filter the evaluator
    // cannot follow exactly is an error, not a scan without a filter.
    if (s.table.dump() && q.filter)
        s.dump_filter = std::make_unique<BsonFilter>(q.filter.get());
}

// Whether the live server's filter would (or may) return doc: true without
// a filter and when the evaluator cannot be sure (FilterMatch::unknown), so
// a document the server would return is never taken for one it excludes.
bool filter_matches(const ScanState &s, const bson_t *doc) {
    return !s.dump_filter || s.dump_filter->match(doc) != FilterMatch::no;
}

} // namespace

void begin_foreign_scan(ForeignScanState *node, int eflags) {
    if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
        return;
    auto *fs = reinterpret_cast<ForeignScan *>(node->ss.ps.plan);
    Oid relid = RelationGetRelid(node->ss.ss_currentRelation);

    auto state = std::make_unique<ScanState>();
    List *priv = fs->fdw_private;
    Oid userid = static_cast<Oid>(intVal(list_nth(priv, PlanUserId)));
    state->table = load_table_spec(relid, true, userid);
    state->filter = list_string(priv, PlanFilter);
    state->projection = list_string(priv, PlanProjection);
    state->sort = list_string(priv, PlanSort);
    std::int64_t limit = std::stoll(list_string(priv, PlanLimit));
    ListCell *lc;
    foreach (lc, static_cast<List *>(list_nth(priv, PlanAttnums)))
        state->attnums.push_back(static_cast<AttrNumber>(lfirst_int(lc)));
    state->rows = std::make_unique<RowBuilder>(state->table, state->attnums);
    state->query.limit = limit;

    MemoryContext cxt =
        pg::create_memory_context(CurrentMemoryContext, "nextcrm_mongo_fdw scan", true);
    auto *holder = static_cast<ScanHolder *>(pg::MemoryContextAllocZero(cxt, sizeof(ScanHolder)));
    holder->context = cxt;
    holder->callback.func = delete_scan_state;
    holder->callback.arg = holder;
    pg::MemoryContextRegisterResetCallback(cxt, &holder->callback);
    holder->state = state.release();
    node->fdw_state = holder;
}

TupleTableSlot *iterate_foreign_scan(ForeignScanState *node) {
    auto *holder = static_cast<ScanHolder *>(node->fdw_state);
    ScanState &s = *holder->state;
    TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
    if (!s.source)
        open_source(s);
    pg::ExecClearTuple(slot);
    for (std::int64_t skipped = 0;; ++skipped) {
        if ((skipped & 255) == 255)
            check_for_interrupts();
        const bson_t *doc = s.source->next();
        if (!doc) {
            check_for_interrupts();
            return slot;
        }
        if (filter_matches(s, doc)) {
            // Conversion errors name collection, _id, field and types,
            // never the value (docs/REFERENCE.md, "Secrets").
            s.rows->build(doc, slot->tts_values, slot->tts_isnull);
        } else {
            // A document the server's filter would exclude: it is still
            // returned when it converts (the executor checks the clauses,
            // so no row depends on the evaluator agreeing with the server to
            // the last detail), and only a conversion error is dropped with
            // it, as a live server would never have sent it.
            try {
                s.rows->build(doc, slot->tts_values, slot->tts_isnull);
            } catch (const Error &) {
                continue;
            }
        }
        pg::ExecStoreVirtualTuple(slot);
        return slot;
    }
}

void rescan_foreign_scan(ForeignScanState *node) {
    auto *holder = static_cast<ScanHolder *>(node->fdw_state);
    if (holder && holder->state)
        holder->state->source.reset();
}

void end_foreign_scan(ForeignScanState *node) {
    auto *holder = static_cast<ScanHolder *>(node->fdw_state);
    if (!holder)
        return;
    node->fdw_state = nullptr;
    MemoryContext cxt = holder->context;
    pg::MemoryContextDelete(cxt);
}

} // namespace nextcrm
