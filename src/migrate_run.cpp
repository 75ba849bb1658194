// The migration itself, as the worker runs it: one transaction to set up,
// one per batch, one to build the junction tables and finish.
#include "migrate.hpp"

#include "connection.hpp"
#include "migrate_indexes.hpp"
#include "migrate_keys.hpp"
#include "migrate_load.hpp"
#include "migrate_oplog.hpp"
#include "migrate_schema.hpp"
#include "migrate_stages.hpp"
#include "pg/arrays.hpp"
#include "profiles.hpp"
#include "spi.hpp"

#include "core/mapping.hpp"
#include "core/mongodump.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace nextcrm {

namespace {

// Whether to stop before the next batch (migration_should_stop()).
using StopCheck = std::function<bool()>;

// Runs fn inside a transaction of its own, with SPI connected, and commits.
// An exception leaves the transaction open for the worker's error handler to
// abort.
template <typename Fn>
void in_transaction(Fn fn) {
    pg_call([] {
        SetCurrentStatementStartTimestamp();
        StartTransactionCommand();
        SPI_connect();
        PushActiveSnapshot(GetTransactionSnapshot());
    });
    fn();
    pg_call([] {
        SPI_finish();
        PopActiveSnapshot();
        CommitTransactionCommand();
    });
}

void report_activity(const std::string &what) {
    pg_call([&what] { pgstat_report_activity(STATE_RUNNING, what.c_str()); });
}

std::string text_param_query(const char *sql, const std::string &arg) {
    Datum value = text_datum(arg);
    Oid type = TEXTOID;
    return spi_query(sql, 1, &type, &value).text(0, 1);
}

std::string server_name(Oid serverid) {
    Datum arg = ObjectIdGetDatum(serverid);
    Oid type = OIDOID;
    std::string name =
        spi_query("SELECT srvname::text FROM pg_catalog.pg_foreign_server WHERE oid = $1", 1, &type,
                  &arg)
            .text(0, 1);
    if (name.empty())
        throw Error(Message(NEXTCRM_MSG("the migration's foreign server was dropped")),
                    sqlstate::fdw_error);
    return name;
}

bool take_lock() {
    Datum key = Int64GetDatum(migration_lock_key);
    Oid type = INT8OID;
    return spi_query("SELECT pg_catalog.pg_try_advisory_lock($1)", 1, &type, &key).text(0, 1) ==
           "t";
}

// TRUNCATE of `tables` (target_table() names), which PostgreSQL refuses
// while a table left out of the statement references one of them by a
// foreign key.  A target may hold such a table that no collection writes (a
// leftover join table of the app's migrations): empty, it is emptied with
// them; holding rows, the reset stops and names it, since those rows are
// not the migration's to drop.
void truncate_targets(const std::vector<std::string> &tables) {
    if (tables.empty())
        return;
    Datum arg = pg::construct_text_array(tables);
    Oid type = TEXTARRAYOID;
    SpiRows others = spi_query(
        "SELECT DISTINCT c.conrelid::pg_catalog.regclass::pg_catalog.text"
        "  FROM pg_catalog.pg_constraint c"
        " WHERE c.contype OPERATOR(pg_catalog.=) 'f'"
        "   AND c.confrelid OPERATOR(pg_catalog.=) ANY (SELECT pg_catalog.to_regclass(t)"
        "         FROM pg_catalog.unnest($1) t)"
        "   AND NOT c.conrelid OPERATOR(pg_catalog.=) ANY (SELECT pg_catalog.to_regclass(t)"
        "         FROM pg_catalog.unnest($1) t WHERE pg_catalog.to_regclass(t) IS NOT NULL)"
        " ORDER BY 1",
        1, &type, &arg);
    std::string list;
    for (const auto &t : tables)
        list += (list.empty() ? "" : ", ") + t;
    for (std::size_t r = 0; r < others.size(); ++r) {
        // regclass prints the name quoted and, with search_path pinned to
        // pg_catalog, schema-qualified.
        const std::string other = others.text(r, 1);
        if (spi_query(("SELECT 1 FROM " + other + " LIMIT 1").c_str()).empty()) {
            list += ", " + other;
            continue;
        }
        throw Error(Message(NEXTCRM_MSG("cannot empty the migration's tables: table %s references "
                                        "them and holds rows"),
                            other),
                    sqlstate::object_in_use,
                    "The migration does not write that table, so it does not empty it.",
                    "Empty it, or drop its foreign key, then run the migration again.");
    }
    spi_exec(("TRUNCATE " + list).c_str());
}

// Empties the target tables and the migration's record.
void reset(const Mapping &mapping) {
    std::vector<std::string> tables;
    for (const auto &c : mapping.collections())
        if (!c.kept_whole) // no table in the target
            tables.push_back(target_table(c.name));
    for (const auto &j : mapping.junctions())
        tables.push_back(target_table(j.table));
    truncate_targets(tables);
    // DELETE, not TRUNCATE: the calling session holds share locks on these
    // tables until its statement ends, and waits for this worker.
    for (const char *table : {"run", "checkpoint", "batch_log", "errors", "repairs", "extra_keys",
                              "kept_aside", "foreign_ids", "junction_stage", "oplog_applied"})
        spi_exec((std::string("DELETE FROM nextcrm_migration.") + table).c_str());
}

// Empties the given collections (a collection and every collection that
// references it) and their part of the migration's record; every other
// collection keeps its rows, errors and repairs.  Junction tables with a
// side among them are emptied and rebuilt at the end of the run from the
// staged elements of both sides: the other side's elements are staged
// again (new ids, so the next build takes them) and their dropped-pair
// repairs go, since that build records them anew.
void reset_collections(const Mapping &mapping, const std::vector<std::string> &names) {
    std::set<std::string> reset(names.begin(), names.end());
    std::vector<std::string> tables;
    std::vector<std::string> junctions;
    for (const auto &c : mapping.collections())
        if (reset.count(c.name) && !c.kept_whole)
            tables.push_back(target_table(c.name));
    for (const auto &j : mapping.junctions())
        if (reset.count(j.a_model) || reset.count(j.b_model)) {
            tables.push_back(target_table(j.table));
            junctions.push_back(j.table);
        }
    truncate_targets(tables);

    Datum args[2] = {pg::construct_text_array(names), pg::construct_text_array(junctions)};
    Oid types[2] = {TEXTARRAYOID, TEXTARRAYOID};
    spi_exec("DELETE FROM nextcrm_migration.repairs r USING nextcrm_migration.junction_stage s"
             " WHERE s.junction OPERATOR(pg_catalog.=) ANY ($2)"
             "   AND NOT s.collection OPERATOR(pg_catalog.=) ANY ($1)"
             "   AND r.collection OPERATOR(pg_catalog.=) s.collection"
             "   AND r.source_id OPERATOR(pg_catalog.=) s.source_id"
             "   AND r.field OPERATOR(pg_catalog.=) s.field"
             "   AND r.original OPERATOR(pg_catalog.=) s.element"
             "   AND r.kind OPERATOR(pg_catalog.=) 'dangling_ref'"
             "   AND r.replacement OPERATOR(pg_catalog.=) '(dropped)'",
             2, types, args);
    spi_exec("WITH moved AS (DELETE FROM nextcrm_migration.junction_stage s"
             "  WHERE s.junction OPERATOR(pg_catalog.=) ANY ($2)"
             "    AND NOT s.collection OPERATOR(pg_catalog.=) ANY ($1)"
             "  RETURNING s.junction, s.a, s.b, s.collection, s.source_id, s.field, s.element)"
             " INSERT INTO nextcrm_migration.junction_stage"
             "  (junction, a, b, collection, source_id, field, element)"
             " SELECT m.junction, m.a, m.b, m.collection, m.source_id, m.field, m.element"
             "   FROM moved m ORDER BY m.collection, m.source_id",
             2, types, args);
    // DELETE, not TRUNCATE, as in reset().
    for (const char *table : {"errors", "repairs", "extra_keys", "kept_aside", "foreign_ids",
                              "junction_stage", "batch_log", "oplog_applied"})
        spi_exec((std::string("DELETE FROM nextcrm_migration.") + table +
                  " WHERE collection OPERATOR(pg_catalog.=) ANY ($1)")
                     .c_str(),
                 1, types, args);
    spi_exec("UPDATE nextcrm_migration.checkpoint SET phase = 'pending', source_total = NULL,"
             "  processed = 0, migrated = 0, failed = 0, repaired = 0, batches = 0,"
             "  last_id = NULL, seconds = 0, read_seconds = 0, convert_seconds = 0,"
             "  check_seconds = 0, load_seconds = 0, commit_seconds = 0,"
             "  started_at = NULL, finished_at = NULL, message = NULL"
             " WHERE collection OPERATOR(pg_catalog.=) ANY ($1)",
             1, types, args);
}

// The referenced collections of `name` whose migration is not complete.
std::vector<std::string> incomplete_references(const Mapping &mapping, const std::string &name) {
    std::vector<std::string> refs = mapping.references_of(name);
    if (refs.empty())
        return refs;
    Datum arg = pg::construct_text_array(refs);
    Oid type = TEXTARRAYOID;
    SpiRows rows = spi_query("SELECT c.collection FROM nextcrm_migration.checkpoint c"
                             " WHERE c.collection OPERATOR(pg_catalog.=) ANY ($1)"
                             "   AND c.phase OPERATOR(pg_catalog.=) 'done'",
                             1, &type, &arg);
    std::set<std::string> done;
    for (std::size_t i = 0; i < rows.size(); ++i)
        done.insert(rows.text(i, 1));
    std::vector<std::string> out;
    for (const auto &r : refs)
        if (!done.count(r))
            out.push_back(r);
    return out;
}

std::string joined(const std::vector<std::string> &names) {
    std::string out;
    for (const auto &n : names)
        out += (out.empty() ? "" : ", ") + n;
    return out;
}

void begin_run(const MigrationRequest &request) {
    std::string server = server_name(request.serverid);
    std::string current = text_param_query(
        "SELECT server FROM nextcrm_migration.run WHERE server::text <> $1", server);
    if (!current.empty())
        throw Error(
            Message(NEXTCRM_MSG("this database holds a migration from server \"%s\""), current),
            sqlstate::invalid_parameter_value, {},
            "Use that server, or start over with restart => true.");
    // Checked again under the run's lock (the caller checked first).
    check_run_profile(request.profile, false);
    Datum args[2] = {text_datum(server), text_datum(request.profile)};
    Oid types[2] = {TEXTOID, TEXTOID};
    spi_exec("INSERT INTO nextcrm_migration.run (server, profile, status, worker_pid)"
             " VALUES ($1, $2, 'running', pg_backend_pid())"
             " ON CONFLICT (singleton) DO UPDATE SET status = 'running', message = NULL,"
             "   worker_pid = pg_backend_pid(), finished_at = NULL",
             2, types, args);
}

// Names in the run's record the collections of a dump that the mapping does
// not have (the caller's NOTICE names them too): they are not migrated.
// Skipped entries (views, system collections) hold no data and are left out.
void record_unmapped(const Mapping &mapping, const SourceOptions &opts) {
    std::vector<std::string> unmapped;
    if (opts.is_dump()) {
        Dump dump(opts, [] { check_for_interrupts(); });
        for (const auto &e : dump.entries())
            if (e.state != DumpEntry::State::Skipped && !mapping.collection(e.name))
                unmapped.push_back(e.name);
    }
    Datum arg = pg::construct_text_array(unmapped);
    Oid type = TEXTARRAYOID;
    spi_exec("UPDATE nextcrm_migration.run SET unmapped_collections = $1", 1, &type, &arg);
}

void plan_collections(const Mapping &mapping, Oid serverid, const SourceOptions &opts,
                      const StopCheck &stop) {
    int position = 0;
    for (const auto &c : mapping.collections()) {
        Datum args[2] = {text_datum(c.name), Int32GetDatum(++position)};
        Oid types[2] = {TEXTOID, INT4OID};
        spi_exec("INSERT INTO nextcrm_migration.checkpoint (collection, position)"
                 " VALUES ($1, $2) ON CONFLICT (collection) DO NOTHING",
                 2, types, args);
    }
    // Totals first, so progress can say how far along the whole run is.
    SpiRows rows =
        spi_query("SELECT collection FROM nextcrm_migration.checkpoint WHERE source_total IS NULL"
                  " ORDER BY position");
    std::vector<std::string> uncounted;
    for (std::size_t i = 0; i < rows.size(); ++i)
        uncounted.push_back(rows.text(i, 1));
    for (const auto &name : uncounted) {
        if (stop())
            return;
        report_activity("counting " + name);
        int64 total = 0;
        try {
            total = estimate_source_documents(serverid, opts, name);
        } catch (const Error &) {
            // A damaged or unreadable dump file fails its collection when it
            // is loaded (with the reason), not the whole run here: its total
            // stays unknown.  Interrupts are PgExceptions and go on.
            if (!opts.is_dump())
                throw;
            continue;
        }
        Datum args[2] = {text_datum(name), Int64GetDatum(total)};
        Oid types[2] = {TEXTOID, INT8OID};
        spi_exec("UPDATE nextcrm_migration.checkpoint SET source_total = $2 WHERE collection = $1",
                 2, types, args);
    }
}

struct Checkpoint {
    std::string phase;
    int64 processed = 0;
    int batches = 0;
    std::string last_id;
};

Checkpoint read_checkpoint(const std::string &collection) {
    Datum arg = text_datum(collection);
    Oid type = TEXTOID;
    SpiRows rows = spi_query("SELECT phase, processed, batches, coalesce(last_id, '')"
                             " FROM nextcrm_migration.checkpoint WHERE collection = $1",
                             1, &type, &arg);
    Checkpoint cp;
    cp.phase = rows.text(0, 1);
    cp.processed = rows.int8(0, 2);
    cp.batches = static_cast<int>(rows.int8(0, 3));
    cp.last_id = rows.text(0, 4);
    return cp;
}

// Marks a collection failed (its dump file could not be read to its end) or
// skipped (a collection it references failed), with the reason.
void set_outcome(const std::string &collection, const char *phase, const std::string &message) {
    Datum args[3] = {text_datum(collection), text_datum(phase), text_datum(message)};
    Oid types[3] = {TEXTOID, TEXTOID, TEXTOID};
    spi_exec("UPDATE nextcrm_migration.checkpoint SET phase = CAST($2 AS nextcrm_migration.state), "
             "message = $3,"
             "  finished_at = clock_timestamp()"
             " WHERE collection OPERATOR(pg_catalog.=) $1",
             3, types, args);
}

// The progress line of the batch being committed, announced as a NOTICE
// once its transaction has committed (announce_batch()).
std::string progress_line;

void save_batch(const std::string &collection, int batch, const BatchCounts &counts,
                double seconds) {
    const StageSeconds &st = counts.stages;
    Datum args[15] = {text_datum(collection),          Int32GetDatum(batch),
                      Int64GetDatum(counts.documents), Int64GetDatum(counts.migrated),
                      Int64GetDatum(counts.failed),    Int64GetDatum(counts.repaired),
                      text_datum(counts.last_id),      Float8GetDatum(seconds),
                      BoolGetDatum(counts.exhausted),  text_datum(counts.damage),
                      Float8GetDatum(st.read),         Float8GetDatum(st.convert),
                      Float8GetDatum(st.check),        Float8GetDatum(st.load),
                      Float8GetDatum(st.commit)};
    Oid types[15] = {TEXTOID,   INT4OID,   INT8OID,   INT8OID,   INT8OID,
                     INT8OID,   TEXTOID,   FLOAT8OID, BOOLOID,   TEXTOID,
                     FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID};
    char nulls[15];
    std::memset(nulls, ' ', sizeof nulls);
    nulls[6] = counts.last_id.empty() ? 'n' : ' ';
    nulls[9] = counts.damage.empty() ? 'n' : ' ';
    spi_exec("UPDATE nextcrm_migration.checkpoint SET"
             "  processed = processed + $3, migrated = migrated + $4, failed = failed + $5,"
             "  repaired = repaired + $6, batches = $2, last_id = coalesce($7, last_id),"
             "  seconds = seconds + $8,"
             "  read_seconds = read_seconds + $11, convert_seconds = convert_seconds + $12,"
             "  check_seconds = check_seconds + $13, load_seconds = load_seconds + $14,"
             "  commit_seconds = commit_seconds + $15,"
             "  started_at = coalesce(started_at, clock_timestamp()),"
             "  phase = CAST(CASE WHEN $10 IS NOT NULL THEN 'failed' WHEN $9 THEN 'done'"
             "               ELSE 'running' END AS nextcrm_migration.state),"
             "  message = $10,"
             // Once read to its end, a collection's count is what was read.
             "  source_total = CASE WHEN $9 THEN processed + $3"
             "                      ELSE greatest(source_total, processed + $3) END,"
             "  finished_at = CASE WHEN $9 OR $10 IS NOT NULL THEN clock_timestamp() END"
             " WHERE collection = $1",
             15, types, args, nulls);
    if (counts.documents == 0)
        return;
    progress_line =
        spi_query(
            "INSERT INTO nextcrm_migration.batch_log (collection, batch, documents,"
            "  processed, total, failed, overall_processed, overall_total, docs_per_second,"
            "  eta_seconds)"
            " SELECT c.collection, $2, $3, c.processed, c.source_total, c.failed,"
            "   o.processed, o.total, c.processed / greatest(c.seconds, 1e-6),"
            "   (o.total - o.processed) / greatest(o.processed / greatest(o.seconds, 1e-6),"
            "                                      1e-6)"
            "  FROM nextcrm_migration.checkpoint c,"
            "   (SELECT sum(processed) AS processed, sum(source_total) AS total,"
            "           sum(seconds) AS seconds FROM nextcrm_migration.checkpoint) o"
            " WHERE c.collection = $1"
            " RETURNING pg_catalog.format('%s: batch %s, %s/%s (%s%%), overall %s%%, %s docs/s,"
            " ETA %s', collection, batch, processed, total,"
            "   round(100.0 * processed / greatest(total, 1), 1),"
            "   round(100.0 * overall_processed / greatest(overall_total, 1), 1),"
            "   round(docs_per_second),"
            "   to_char(make_interval(secs => eta_seconds), 'HH24:MI:SS'))",
            10, types, args, nulls)
            .text(0, 1);
}

// Sends the progress line of the batch just committed to the caller.
void announce_batch() {
    if (progress_line.empty())
        return;
    std::string line;
    line.swap(progress_line);
    pg_call([&line] { ereport(NOTICE, (errmsg("%s", line.c_str()))); });
}

// A failed checksum covers every document read before it: none of them is
// kept.  The collection (and those that reference it, whose references to
// its rows go with them) is reset, so that the run after the file is
// repaired loads it from its first document, and recorded as failed with
// the reason until then.
void forget_checksummed(const std::string &collection, const std::string &damage) {
    const Mapping &mapping = run_profile().mapping();
    reset_collections(mapping, mapping.dependents_of(collection));
    set_outcome(collection, "failed",
                damage + " None of the documents read from it is kept; the collection is "
                         "migrated from its start once the file is good.");
}

// How a collection's loading ended, in the labels of nextcrm_migration.state.
enum class Outcome { done, stopped, failed };

// Seconds this worker spent in each stage of its batches, for the report at
// the end of its run (the checkpoint keeps each collection's, across runs).
StageSeconds run_stages;

// The one batch loop: loads batch after batch, each in a transaction of its
// own that record() completes with the batch's bookkeeping, until the source
// is exhausted (done), damaged (failed) or stop() says to stop first.
// A batch's commit is timed once it is over, so record() saves it with the
// next batch (counts.stages.commit); the last one's is left in
// *unsaved_commit for the caller.
Outcome run_batches(CollectionLoader &loader, const std::string &what, int batch,
                    const StopCheck &stop,
                    const std::function<void(int, const BatchCounts &, double)> &record,
                    double *unsaved_commit) {
    double commit = 0;
    for (;;) {
        *unsaved_commit = commit;
        if (stop())
            return Outcome::stopped;
        ++batch;
        report_activity(what + ", batch " + std::to_string(batch));
        bool exhausted = false;
        bool damaged = false;
        StageClock clock;
        in_transaction([&] {
            clock.lap();
            BatchCounts counts = loader.load_batch(batch);
            double seconds = clock.lap();
            counts.stages.commit = commit;
            run_stages.add(counts.stages);
            record(batch, counts, seconds);
            exhausted = counts.exhausted;
            damaged = !counts.damage.empty();
        });
        // The bookkeeping and the COMMIT (its WAL flush).
        commit = clock.lap();
        *unsaved_commit = commit;
        announce_batch();
        if (damaged)
            return Outcome::failed;
        if (exhausted)
            return Outcome::done;
    }
}

// Adds the commit of a collection's last batch in this run to its
// checkpoint; a collection that ended has its finished_at moved past it,
// so that its stages add up to at most finished_at - started_at.
void save_last_commit(const std::string &collection, double seconds) {
    run_stages.commit += seconds;
    Datum args[2] = {text_datum(collection), Float8GetDatum(seconds)};
    Oid types[2] = {TEXTOID, FLOAT8OID};
    spi_exec("UPDATE nextcrm_migration.checkpoint SET commit_seconds = commit_seconds + $2,"
             "  finished_at = CASE WHEN finished_at IS NOT NULL THEN clock_timestamp() END"
             " WHERE collection OPERATOR(pg_catalog.=) $1",
             2, types, args);
}

// Loads one collection batch by batch.
Outcome migrate_collection(Oid serverid, const SourceOptions &opts,
                           const CollectionMapping &collection, const StopCheck &stop) {
    std::unique_ptr<CollectionLoader> loader;
    Checkpoint cp;
    bool unreadable = false;
    in_transaction([&] {
        cp = read_checkpoint(collection.name);
        if (cp.phase == "done")
            return;
        // Its wall time starts here, before the source is opened (a dump
        // is read up to the checkpoint's position).
        Datum arg = text_datum(collection.name);
        Oid type = TEXTOID;
        spi_exec("UPDATE nextcrm_migration.checkpoint"
                 " SET started_at = coalesce(started_at, clock_timestamp())"
                 " WHERE collection OPERATOR(pg_catalog.=) $1",
                 1, &type, &arg);
        try {
            loader = CollectionLoader::resume(serverid, opts, collection, cp.processed, cp.last_id);
        } catch (const Error &e) {
            // A dump file that cannot be opened, or is damaged before the
            // checkpoint's position: this collection fails, the run goes on.
            // (Everything resume() does before throwing is file reading.)
            if (!opts.is_dump())
                throw;
            set_outcome(collection.name, "failed",
                        std::string(e.what()) + (e.detail().empty() ? "" : ". " + e.detail()));
            unreadable = true;
        }
    });
    if (unreadable)
        return Outcome::failed;
    if (!loader)
        return Outcome::done;
    std::string damage;
    double last_commit = 0;
    Outcome outcome = run_batches(
        *loader, "migrating " + collection.name, cp.batches, stop,
        [&](int batch, const BatchCounts &counts, double seconds) {
            save_batch(collection.name, batch, counts, seconds);
            damage = counts.damage;
        },
        &last_commit);
    in_transaction([&] { save_last_commit(collection.name, last_commit); });
    if (outcome == Outcome::failed && is_checksum_failure(damage))
        in_transaction([&] { forget_checksummed(collection.name, damage); });
    return outcome;
}

// Re-reads the documents listed in the error table and migrates those that
// now can be; the others get their (new) error rows back.
Outcome retry_collection(Oid serverid, const SourceOptions &opts,
                         const CollectionMapping &collection, const StopCheck &stop) {
    std::unique_ptr<CollectionLoader> loader;
    int batch = 0;
    in_transaction([&] {
        Datum arg = text_datum(collection.name);
        Oid type = TEXTOID;
        SpiRows rows = spi_query(
            "SELECT DISTINCT source_id FROM nextcrm_migration.errors WHERE collection = $1", 1,
            &type, &arg);
        std::vector<std::string> ids;
        for (std::size_t i = 0; i < rows.size(); ++i)
            ids.push_back(rows.text(i, 1));
        if (ids.empty())
            return;
        batch = static_cast<int>(read_checkpoint(collection.name).batches);
        loader = CollectionLoader::retry(serverid, opts, collection, ids);
    });
    if (!loader)
        return Outcome::done;
    double last_commit = 0; // a retry's stages are not the collection's migration
    Outcome outcome = run_batches(
        *loader, "retrying " + collection.name, batch, stop,
        [&](int done_batch, const BatchCounts &counts, double) {
            // These documents were counted as failed; count
            // them again.
            Datum args[4] = {text_datum(collection.name), Int64GetDatum(counts.documents),
                             Int64GetDatum(counts.migrated), Int32GetDatum(done_batch)};
            Oid types[4] = {TEXTOID, INT8OID, INT8OID, INT4OID};
            spi_exec("UPDATE nextcrm_migration.checkpoint SET"
                     " migrated = migrated + $3, failed = failed - $3,"
                     " batches = $4 WHERE collection = $1",
                     4, types, args);
        },
        &last_commit);
    run_stages.commit += last_commit;
    return outcome;
}

// The junction tables from the union of both sides' lists: duplicates
// collapse, pairs whose other end did not arrive are dropped and recorded.
// One pass over the staged elements not built yet, for all ten tables.
void build_junctions(const Mapping &mapping) {
    SpiRows built = spi_query("SELECT junctions_built_upto, (SELECT coalesce(max(id), 0)"
                              " FROM nextcrm_migration.junction_stage) FROM nextcrm_migration.run");
    Datum range[2] = {Int64GetDatum(built.int8(0, 1)), Int64GetDatum(built.int8(0, 2))};
    Oid types[2] = {INT8OID, INT8OID};
    spi_exec("CREATE TEMP TABLE pg_temp.nextcrm_pending ON COMMIT DROP AS"
             " SELECT * FROM nextcrm_migration.junction_stage WHERE id > $1 AND id <= $2",
             2, types, range);
    // Their keys are dropped for the inserts and added back, validated, at
    // the end, as after the batches (migrate_keys.hpp): each pair inserted
    // has both of its rows (the EXISTS below), and the three steps are one
    // transaction, so no run ever sees the tables without their keys.
    std::vector<DeferredKey> keys;
    if (defer_foreign_keys_enabled())
        keys = defer_junction_keys(mapping);
    for (const auto &j : mapping.junctions()) {
        report_activity("building " + j.table);
        Datum arg = text_datum(j.table);
        Oid type = TEXTOID;
        // One scan of the staged elements per table: the pairs with both
        // rows are inserted, the others recorded as dropped (an UPDATE
        // marking them first wrote every staged row again, which at 300k
        // documents no longer fitted temp_buffers).
        spi_exec(("WITH checked AS (SELECT s.*, EXISTS (SELECT 1 FROM " + target_table(j.a_model) +
                  " t WHERE t.id = s.a) AND EXISTS (SELECT 1 FROM " + target_table(j.b_model) +
                  " t WHERE t.id = s.b) AS ok FROM pg_temp.nextcrm_pending s"
                  " WHERE s.junction = $1),"
                  " added AS (INSERT INTO " +
                  target_table(j.table) + " (" + quote_ident(j.a_column) + ", " +
                  quote_ident(j.b_column) +
                  ") SELECT DISTINCT a, b FROM checked WHERE ok ON CONFLICT DO NOTHING)"
                  " INSERT INTO nextcrm_migration.repairs"
                  " (collection, source_id, field, kind, original, replacement)"
                  " SELECT collection, source_id, field, 'dangling_ref', element, '(dropped)'"
                  " FROM checked WHERE NOT ok")
                     .c_str(),
                 1, &type, &arg);
    }
    for (const auto &key : keys)
        if (ErrorData *refused = add_deferred_foreign_key(key))
            throw PgException(refused);
    spi_exec("UPDATE nextcrm_migration.run SET junctions_built_upto = $2", 2, types, range);
    // A document counts as repaired once, whatever was changed in it.
    spi_exec("UPDATE nextcrm_migration.checkpoint c SET repaired = coalesce(d.n, 0)"
             " FROM (SELECT c2.collection, count(x.source_id) AS n"
             "       FROM nextcrm_migration.checkpoint c2 LEFT JOIN ("
             "         SELECT collection, source_id FROM nextcrm_migration.repairs UNION"
             "         SELECT collection, source_id FROM nextcrm_migration.extra_keys) x"
             "       ON x.collection = c2.collection GROUP BY c2.collection) d"
             " WHERE d.collection = c.collection");
}

// The non-unique indexes and the checked foreign keys of the selected
// collections' tables that are still to be loaded, dropped until the batches
// are over (migrate_indexes.hpp, migrate_keys.hpp).
void defer_pending(const Mapping &mapping, const std::vector<std::string> &selected) {
    std::vector<std::string> pending;
    for (const auto &name : selected)
        if (read_checkpoint(name).phase != "done")
            pending.push_back(name);
    if (pending.empty())
        return;
    if (defer_indexes_enabled())
        defer_indexes(pending);
    if (defer_foreign_keys_enabled())
        defer_foreign_keys(mapping, pending);
}

// Builds the deferred indexes, each in a transaction of its own, so that
// a stop between two keeps those built (the rest wait for the next run).
void build_indexes(const StopCheck &stop) {
    report_activity("building indexes");
    bool more = true;
    while (more && !stop())
        in_transaction([&] { more = build_deferred_index(); });
}

// Adds the deferred foreign keys back, each validated in a transaction of its
// own, so that a stop between two keeps those added (the rest wait for the
// next run).  A key some row breaks stays recorded; the others are still
// added, then the first such error ends the run.
void add_foreign_keys(const StopCheck &stop) {
    report_activity("adding foreign keys");
    std::vector<DeferredKey> keys;
    in_transaction([&] { keys = deferred_foreign_keys(); });
    ErrorData *refused = nullptr;
    for (const auto &key : keys) {
        if (stop())
            break;
        in_transaction([&] {
            ErrorData *error = add_deferred_foreign_key(key);
            if (!refused)
                refused = error;
        });
    }
    // A key some row broke is reported even when a stop came after it: the
    // next run could not finish either, and would report it one run late.
    if (refused)
        throw PgException(refused);
}

// The worker's run, in its five parts: setting up (the schema, the
// source's counts, dropping the indexes and keys it defers), the batches,
// building the deferred indexes, adding the deferred keys back, finishing
// (the junction tables, restored references, the run's outcome).
struct RunSeconds {
    double setup = 0, batches = 0, indexes = 0, keys = 0, finish = 0;
    double total() const { return setup + batches + indexes + keys + finish; }
};

void save_run_seconds(const RunSeconds &seconds) {
    Datum args[5] = {Float8GetDatum(seconds.total()), Float8GetDatum(seconds.setup),
                     Float8GetDatum(seconds.finish), Float8GetDatum(seconds.indexes),
                     Float8GetDatum(seconds.keys)};
    Oid types[5] = {FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID};
    spi_exec("UPDATE nextcrm_migration.run SET seconds = seconds + $1,"
             "  setup_seconds = setup_seconds + $2, finish_seconds = finish_seconds + $3,"
             "  index_seconds = index_seconds + $4, foreign_key_seconds = foreign_key_seconds + $5",
             5, types, args);
}

std::string seconds_text(double s) {
    char buf[32];
    snprintf(buf, sizeof buf, "%.2f s", s);
    return buf;
}

// Tells the caller where this run's time went: its total against its
// slowest stage, then every stage.
void report_stages(const RunSeconds &seconds) {
    const StageSeconds &st = run_stages;
    double batches_other = std::max(0.0, seconds.batches - st.sum());
    std::vector<std::pair<const char *, double>> stages = {
        {"setting up and counting", seconds.setup},
        {"reading", st.read},
        {"converting", st.convert},
        {"checking references", st.check},
        {"loading", st.load},
        {"committing batches", st.commit},
        {"building indexes", seconds.indexes},
        {"adding foreign keys", seconds.keys},
        {"finishing (junction tables, references)", seconds.finish},
    };
    auto slowest = std::max_element(stages.begin(), stages.end(), [](const auto &a, const auto &b) {
        return a.second < b.second;
    });
    double total = seconds.total();
    char share[16];
    snprintf(share, sizeof share, "%.0f%%", total > 0 ? 100 * slowest->second / total : 0.0);
    std::string message = "the migration took " + seconds_text(total) + "; its slowest stage, " +
                          slowest->first + ", took " + seconds_text(slowest->second) + " (" +
                          share + ")";
    std::string detail;
    for (const auto &[name, s] : stages)
        detail += (detail.empty() ? "" : ", ") + std::string(name) + " " + seconds_text(s);
    detail[0] = static_cast<char>(toupper(detail[0]));
    detail += ", between batches " + seconds_text(batches_other) + ".";
    pg_call([&] {
        ereport(NOTICE, (errmsg("%s", message.c_str()), errdetail("%s", detail.c_str()),
                         errhint("Each collection's stages are in nextcrm_migration.checkpoint.")));
    });
}

} // namespace

void run_migration(const MigrationRequest &request, volatile sig_atomic_t *stop_requested) {
    StopCheck stop = [&request, stop_requested] {
        return migration_should_stop(request, stop_requested);
    };
    StageClock clock;
    run_stages = StageSeconds();
    // In a transaction: the profile's app_dir is checked against the
    // catalog (the run's role may read the server's files).
    in_transaction([&] { set_run_profile(request.profile, request.app_dir); });
    const Profile &profile = run_profile();
    const Mapping &mapping = profile.mapping();
    bool locked = false;
    in_transaction([&] { locked = take_lock(); });
    if (!locked)
        throw Error(Message(NEXTCRM_MSG("another migration of this database is running")),
                    sqlstate::object_in_use, {}, "Watch it in nextcrm_migration.progress.");

    Oid serverid = request.serverid;
    SourceOptions opts;
    const std::string only = request.collection;
    // What this run migrates, in dependency order: every collection, or
    // one (with restart => true: it and every collection that references
    // it, since resetting it empties theirs too).
    std::vector<std::string> selected;
    if (only.empty()) {
        for (const auto &c : mapping.collections())
            selected.push_back(c.name);
    } else {
        check_mapped_collection(profile, only);
        selected = request.restart ? mapping.dependents_of(only) : std::vector<std::string>{only};
    }
    in_transaction([&] {
        // Every trigger on the target tables fires for every row, and the
        // foreign keys not deferred (migrate_keys.hpp) check it as it is
        // inserted; the deferred ones are validated over the whole table when
        // added back: a constraint PostgreSQL marks valid is one it has
        // checked (the per-batch reference check in migrate_load.cpp only
        // decides what becomes an error or repair row).
        opts = source_options(serverid);
        ensure_target_schema(profile);
        if (request.restart && only.empty())
            reset(mapping);
        begin_run(request);
        record_unmapped(mapping, opts);
        if (!only.empty()) {
            // Checked again here, under the run's lock (the caller checked
            // before starting this worker).
            check_references_complete(mapping, only);
            if (request.restart)
                reset_collections(mapping, selected);
        }
        plan_collections(mapping, serverid, opts, stop);
        if (!request.retry)
            defer_pending(mapping, selected);
    });
    RunSeconds seconds;
    seconds.setup = clock.lap();

    // Collections that failed in this run, and those skipped because they
    // reference one (directly or through a skipped one): in dependency
    // order, a collection's references come before it.
    std::map<std::string, std::string> failed; // collection -> the failed one it waits for
    std::vector<std::string> failed_names, skipped_names;
    bool stopped = false;
    for (const auto &c : mapping.collections()) {
        if (std::find(selected.begin(), selected.end(), c.name) == selected.end())
            continue;
        std::string blocker;
        for (const auto &r : mapping.references_of(c.name))
            if (r != c.name && failed.count(r) && blocker.empty())
                blocker = failed[r];
        if (!blocker.empty() && !request.retry) {
            // Migrated now, its references to the documents lost in the
            // damaged file would become dangling-reference repairs.
            in_transaction([&] {
                if (read_checkpoint(c.name).phase != "done")
                    set_outcome(c.name, "skipped", "skipped: depends on failed " + blocker);
            });
            failed[c.name] = blocker;
            skipped_names.push_back(c.name);
            continue;
        }
        Outcome outcome = request.retry ? retry_collection(serverid, opts, c, stop)
                                        : migrate_collection(serverid, opts, c, stop);
        if (outcome == Outcome::failed) {
            failed[c.name] = c.name;
            failed_names.push_back(c.name);
        }
        if (outcome == Outcome::stopped) {
            stopped = true;
            break;
        }
    }

    seconds.batches = clock.lap();
    if (!stopped)
        build_indexes(stop);
    seconds.indexes = clock.lap();
    if (!stopped)
        add_foreign_keys(stop);
    seconds.keys = clock.lap();
    std::string oplog;
    in_transaction([&] {
        if (!failed_names.empty() && !stopped && !stop()) {
            // Every collection that could run did; the junction tables wait
            // for a run in which every collection is complete.
            std::string message = "collections failed: " + joined(failed_names);
            if (!skipped_names.empty())
                message += "; skipped (they depend on a failed one): " + joined(skipped_names);
            Datum arg = text_datum(message);
            Oid type = TEXTOID;
            spi_exec("UPDATE nextcrm_migration.run SET status = 'failed', message = $1,"
                     " finished_at = clock_timestamp(), worker_pid = NULL",
                     1, &type, &arg);
            return;
        }
        bool complete =
            spi_query("SELECT (SELECT count(*) FROM nextcrm_migration.checkpoint"
                      "         WHERE phase <> 'done')"
                      "  + (SELECT count(*) FROM nextcrm_migration.deferred_constraint)")
                    .int8(0, 1) == 0 &&
            !stop();
        if (complete) {
            // The oplog's entries were applied as their documents were read
            // (migrate_oplog.hpp); those no collection applies are recorded
            // now, and the run's record says how many of each.
            report_activity("recording the dump's oplog");
            oplog = finish_oplog(mapping, opts);
            build_junctions(mapping);
            // References lost as dangling to documents that have arrived
            // since (a retried document) are put back.
            report_activity("restoring references");
            restore_references(mapping);
        }
        Datum arg = text_datum(oplog);
        Oid type = TEXTOID;
        const char null = oplog.empty() ? 'n' : ' ';
        spi_exec(complete ? "UPDATE nextcrm_migration.run SET status = 'done', message = $1,"
                            " finished_at = clock_timestamp(), worker_pid = NULL"
                          : "UPDATE nextcrm_migration.run SET status = 'stopped',"
                            " finished_at = clock_timestamp(), worker_pid = NULL",
                 complete ? 1 : 0, complete ? &type : nullptr, complete ? &arg : nullptr,
                 complete ? &null : nullptr);
    });
    seconds.finish = clock.lap();
    in_transaction([&] { save_run_seconds(seconds); });
    report_stages(seconds);
    if (!oplog.empty())
        pg_call([&oplog] { ereport(NOTICE, (errmsg("%s", oplog.c_str()))); });
}

void check_mapped_collection(const Profile &profile, const std::string &collection) {
    const Mapping &mapping = profile.mapping();
    if (mapping.collection(collection))
        return;
    std::vector<std::string> names;
    for (const auto &c : mapping.collections())
        names.push_back(c.name);
    std::sort(names.begin(), names.end());
    throw Error(Message(NEXTCRM_MSG("\"%s\" is not a %s collection"), collection, profile.title()),
                sqlstate::invalid_parameter_value, {}, "Valid names are: " + joined(names) + ".");
}

void check_run_profile(const std::string &profile, bool restart) {
    std::string current = text_param_query(
        "SELECT profile FROM nextcrm_migration.run WHERE profile OPERATOR(pg_catalog.<>) $1",
        profile);
    if (current.empty() || restart)
        return;
    throw Error(
        Message(NEXTCRM_MSG("this database holds a migration with profile \"%s\""), current),
        sqlstate::invalid_parameter_value,
        "Its checkpoints, errors and target tables are that profile's; resuming it with "
        "profile \"" +
            profile + "\" would mix two mappings.",
        "Run it with profile => '" + current + "', or start over with restart => true.");
}

void check_references_complete(const Mapping &mapping, const std::string &collection) {
    std::vector<std::string> missing = incomplete_references(mapping, collection);
    if (missing.empty())
        return;
    throw Error(Message(NEXTCRM_MSG("collection \"%s\" references collections whose migration "
                                    "is not complete"),
                        collection),
                sqlstate::object_not_in_prerequisite_state,
                "Not complete: " + joined(missing) +
                    ". Migrated now, its references to their documents would be lost.",
                "Migrate those first, in this order, with nextcrm_migrate_table(), or run "
                "nextcrm_migrate_all().");
}

} // namespace nextcrm
