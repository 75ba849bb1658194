// The migration's background worker: attaches to its caller's channel,
// connects as the calling user, runs the migration in its own transactions,
// and records how it ended in nextcrm_migration.run; its NOTICEs and its
// final error reach the caller through the channel.
#include "archive_spool.hpp"
#include "connection.hpp"
#include "migrate.hpp"

#include "migrate_channel.hpp"

#include "spi.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"
}

#include <cstring>
#include <string>

namespace {

volatile sig_atomic_t stop_requested = false;

// SIGTERM (the caller's Ctrl+C or exit, pg_terminate_backend, a shutdown)
// stops the worker after the batch in flight, which then commits with its
// checkpoint.  SIGINT (pg_cancel_backend, or the caller when the batch does
// not end in time) keeps PostgreSQL's handler: it cancels the batch in flight,
// lock waits included.
extern "C" void request_stop(SIGNAL_ARGS) {
    int saved = errno;
    stop_requested = true;
    SetLatch(MyLatch);
    errno = saved;
}

// Records how the run ended after an error, in a transaction of its own.
// Upserts, since the failure may come before the run was recorded, but never
// over another worker's running migration.  A cancel is recorded as a stop:
// nothing failed.
void record_outcome(Oid serverid, const char *profile, const char *status, const char *message) {
    nextcrm::pg_call([] {
        AbortOutOfAnyTransaction();
        SetCurrentStatementStartTimestamp();
        StartTransactionCommand();
        SPI_connect();
        PushActiveSnapshot(GetTransactionSnapshot());
    });
    Datum args[4] = {nextcrm::text_datum(message ? message : "unknown error"),
                     ObjectIdGetDatum(serverid), nextcrm::text_datum(status),
                     nextcrm::text_datum(profile)};
    Oid types[4] = {TEXTOID, OIDOID, TEXTOID, TEXTOID};
    // The server by its OID; a dropped one keeps that as its name.
    nextcrm::spi_exec(
        "INSERT INTO nextcrm_migration.run AS r (server, profile, status, message,"
        "  finished_at) VALUES (coalesce((SELECT s.srvname"
        "   FROM pg_catalog.pg_foreign_server s WHERE s.oid = $2), $2::text),"
        "  $4, CAST($3 AS nextcrm_migration.state), $1, pg_catalog.clock_timestamp())"
        " ON CONFLICT (singleton) DO UPDATE SET status = CAST($3 AS nextcrm_migration.state),"
        "  message = $1, finished_at = pg_catalog.clock_timestamp(),"
        "  worker_pid = NULL"
        " WHERE r.worker_pid = pg_catalog.pg_backend_pid() OR r.status <> 'running'",
        4, types, args);
    nextcrm::pg_call([] {
        SPI_finish();
        PopActiveSnapshot();
        CommitTransactionCommand();
    });
}

// A data exception (class 22) or an integrity constraint violation (class
// 23) that reaches the end of the run (a deferred constraint checked at a
// batch's commit, say) was caused by a document, and PostgreSQL's detail
// (and a class 22 message) may quote its value: "Key (name)=(...) already
// exists", "Failing row contains (...)".  The error goes to the server log
// and the caller, so those parts are withheld; the SQLSTATE, the constraint,
// table and column names stay.
void withhold_values(ErrorData *e) {
    int category = ERRCODE_TO_CATEGORY(e->sqlerrcode);
    if (category != ERRCODE_DATA_EXCEPTION && category != ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION)
        return;
    nextcrm::pg_call([e, category] {
        MemoryContext old = MemoryContextSwitchTo(e->assoc_context);
        if (category == ERRCODE_DATA_EXCEPTION)
            e->message = psprintf("a document's value was refused (SQLSTATE %s)",
                                  unpack_sql_state(e->sqlerrcode));
        if (e->detail || e->detail_log)
            e->detail = pstrdup("PostgreSQL's detail is withheld: it may quote a document's "
                                "value.");
        e->detail_log = nullptr;
        MemoryContextSwitchTo(old);
    });
}

// After run_migration() threw: record the outcome, then raise the error,
// which in a background worker (no handler left) is reported as FATAL with
// all its fields and ends the process.
[[noreturn]] void finish_after_error(const nextcrm::MigrationRequest &request,
                                     const nextcrm::CaughtError &caught) {
    // The error's fields live in the transaction's memory, which the abort
    // below frees: keep a whole copy (its context, constraint and table
    // names too: the caller relays every field).
    ErrorData *pg_error =
        caught.pg_error ? nextcrm::copy_error(caught.pg_error, TopMemoryContext) : nullptr;
    int code = pg_error ? pg_error->sqlerrcode : caught.sqlstate;
    std::string message = (pg_error ? pg_error->message : caught.message) ?: "unknown error";
    std::string detail = caught.detail ? caught.detail : "";
    std::string hint = caught.hint ? caught.hint : "";
    // A stop that ended a wait on the MongoDB server fails the driver call it
    // was in: still a stop.
    bool canceled = code == ERRCODE_QUERY_CANCELED || stop_requested;
    if (pg_error)
        withhold_values(pg_error);
    try {
        record_outcome(request.serverid, request.profile, canceled ? "stopped" : "failed",
                       pg_error ? pg_error->message : message.c_str());
    } catch (...) {
        // The original error is what the log must show; this one is lost.
    }
    nextcrm::CaughtError copy;
    if (pg_error) {
        pg_error->elevel = ERROR;
        copy.pg_error = pg_error;
    } else {
        copy.sqlstate = code;
        copy.message = pstrdup(message.c_str());
        copy.detail = detail.empty() ? nullptr : pstrdup(detail.c_str());
        copy.hint = hint.empty() ? nullptr : pstrdup(hint.c_str());
    }
    nextcrm::raise_caught(copy);
}

} // namespace

namespace nextcrm {

bool migration_should_stop(const MigrationRequest &, volatile sig_atomic_t *stop) {
    // The caller exits without a word when it is terminated (FATAL skips
    // its cleanup), but its detach from the channel is seen: a worker whose
    // caller is gone has no one to report to.
    return *stop || caller_gone();
}

} // namespace nextcrm

extern "C" PGDLLEXPORT void nextcrm_migration_worker_main(Datum main_arg);

void nextcrm_migration_worker_main(Datum main_arg) {
    pqsignal(SIGTERM, request_stop);
    nextcrm::set_driver_stop_flag(&stop_requested);
    BackgroundWorkerUnblockSignals();

    nextcrm::MigrationRequest request{};
    nextcrm::CaughtError caught;
    bool attached = false;
    try {
        request = nextcrm::attach_to_caller(main_arg);
        attached = true;
    } catch (...) {
        caught = nextcrm::capture_current_exception();
    }
    if (!attached)
        nextcrm::raise_caught(caught); // nothing to record: no database yet
    BackgroundWorkerInitializeConnectionByOid(request.database, request.userid, 0);
    pgstat_report_appname("nextcrm migration");

    bool failed = false;
    try {
        // An archive is walked once and its collections spooled
        // (core/archive_demux.hpp), not re-read for each collection.
        nextcrm::spool_archives_in_temp_files();
        nextcrm::run_migration(request, &stop_requested);
    } catch (...) {
        caught = nextcrm::capture_current_exception();
        failed = true;
    }
    if (failed)
        finish_after_error(request, caught);
    proc_exit(0);
}
