// ANALYZE: reads the whole collection once, keeps a reservoir sample of
// targrows rows (Vitter's algorithm, as PostgreSQL's own samplers) and
// reports the document count, so the planner sees realistic row counts.
#include "fdw.hpp"
#include "pg/memory.hpp"

#include "fdw_row.hpp"
#include "pg_compat.hpp"

extern "C" {
#include "access/htup_details.h"
#include "commands/vacuum.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/sampling.h"
}

namespace nextcrm {

namespace {

int acquire(Relation rel, int elevel, HeapTuple *rows, int targrows, double *totalrows,
            double *totaldeadrows) {
    TableSpec table = load_table_spec(RelationGetRelid(rel), true);
    std::vector<AttrNumber> attnums;
    for (const ColumnSpec &col : table.columns)
        if (col.kind != ColumnSpec::Kind::Dropped)
            attnums.push_back(col.attnum);
    bool whole_document = false;
    std::vector<std::string> fields = projected_fields(table, attnums, &whole_document);
    QuerySpec query;
    if (!whole_document && !table.dump())
        query.projection = build_projection(fields);
    query.batch_size = 1000;
    std::unique_ptr<DocumentSource> source = open_table_source(table, query);
    RowBuilder builder(table, attnums);

    TupleDesc desc = RelationGetDescr(rel);
    int natts = desc->natts;
    struct Scratch {
        Datum *values;
        bool *nulls;
        MemoryContext row_cxt;
        MemoryContext outer;
        ReservoirStateData rstate;
    };
    auto *sc = pg_call([natts, targrows] {
        auto *s = static_cast<Scratch *>(palloc0(sizeof(Scratch)));
        s->values = static_cast<Datum *>(palloc(sizeof(Datum) * natts));
        s->nulls = static_cast<bool *>(palloc(sizeof(bool) * natts));
        s->outer = CurrentMemoryContext;
        s->row_cxt = AllocSetContextCreate(CurrentMemoryContext, "nextcrm_mongo_fdw analyze",
                                           ALLOCSET_DEFAULT_SIZES);
        reservoir_init_selection_state(&s->rstate, targrows);
        return s;
    });

    int numrows = 0;
    double seen = 0, skip = -1;
    while (const bson_t *doc = source->next()) {
        pg_call([sc] {
            analyze_delay_point();
            MemoryContextReset(sc->row_cxt);
            MemoryContextSwitchTo(sc->row_cxt);
        });
        try {
            builder.build(doc, sc->values, sc->nulls);
        } catch (...) {
            MemoryContextSwitchTo(sc->outer);
            throw;
        }
        int volatile n = numrows;
        double s = skip;
        pg_call([&, n, s] {
            MemoryContextSwitchTo(sc->outer);
            if (n < targrows) {
                rows[n] = heap_form_tuple(desc, sc->values, sc->nulls);
                numrows = n + 1;
                return;
            }
            // Reservoir: replace a random sample once the skip runs out.
            double next_skip = s;
            if (next_skip < 0)
                next_skip = reservoir_get_next_S(&sc->rstate, seen, targrows);
            if (next_skip <= 0) {
                int k = static_cast<int>(targrows * sampler_random_fract(&sc->rstate.randstate));
                heap_freetuple(rows[k]);
                rows[k] = heap_form_tuple(desc, sc->values, sc->nulls);
            }
            skip = next_skip - 1;
        });
        seen += 1;
    }
    pg::MemoryContextDelete(sc->row_cxt);
    *totalrows = seen;
    *totaldeadrows = 0;
    const char *name = table.relname.c_str();
    int got = numrows;
    pg_call([=] {
        ereport(elevel,
                (errmsg("\"%s\": %.0f documents read, %d rows in the sample", name, seen, got)));
    });
    return numrows;
}

extern "C" int acquire_sample_rows(Relation rel, int elevel, HeapTuple *rows, int targrows,
                                   double *totalrows, double *totaldeadrows) {
    return call_from_pg(
        [&] { return acquire(rel, elevel, rows, targrows, totalrows, totaldeadrows); });
}

} // namespace

bool analyze_foreign_table(Relation relation, AcquireSampleRowsFunc *func,
                           BlockNumber *totalpages) {
    *func = acquire_sample_rows;
    *totalpages = 1;
    return true;
}

} // namespace nextcrm
