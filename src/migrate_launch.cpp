// nextcrm_migrate_all() and nextcrm_migrate_table(): start the migration's
// background worker, relay its progress as NOTICEs, stop it cleanly on
// Ctrl+C, and return one summary row per collection.
#include "migrate.hpp"

#include "connection.hpp"
#include "pg_compat.hpp"
#include "spi.hpp"

extern "C" {
#include "access/xact.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/wait_event.h"
}

#include <cstring>
#include <string>

namespace {

using nextcrm::Error;
namespace sqlstate = nextcrm::sqlstate;

BackgroundWorkerHandle *start_worker(const nextcrm::MigrationRequest &request) {
    BackgroundWorker worker;
    std::memset(&worker, 0, sizeof worker);
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
    worker.bgw_restart_time = BGW_NEVER_RESTART;
    std::snprintf(worker.bgw_library_name, BGW_MAXLEN, "nextcrm_mongo_fdw");
    std::snprintf(worker.bgw_function_name, BGW_MAXLEN, "nextcrm_migration_worker_main");
    std::snprintf(worker.bgw_name, BGW_MAXLEN, "nextcrm migration of %s", request.server);
    std::snprintf(worker.bgw_type, BGW_MAXLEN, "nextcrm migration");
    worker.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
    worker.bgw_notify_pid = MyProcPid;
    std::memcpy(worker.bgw_extra, &request, sizeof request);

    BackgroundWorkerHandle *handle = nullptr;
    bool ok = nextcrm::pg_call([&] { return RegisterDynamicBackgroundWorker(&worker, &handle); });
    if (!ok)
        throw Error("could not start the migration's background worker",
                    "53000", // insufficient_resources
                    {}, "Raise max_worker_processes.");
    pid_t pid = 0;
    BgwHandleStatus status =
        nextcrm::pg_call([&] { return WaitForBackgroundWorkerStartup(handle, &pid); });
    if (status != BGWH_STARTED)
        throw Error("the migration's background worker did not start", "53000");
    return handle;
}

// Emits one NOTICE per batch the worker committed since `last_seen`.
int64 relay_batches(int64 last_seen) {
    Datum arg = Int64GetDatum(last_seen);
    Oid type = INT8OID;
    nextcrm::spi_exec(
        "SELECT id, format('%s: batch %s, %s/%s (%s%%), overall %s%%, %s docs/s, ETA %s',"
        "  collection, batch, processed, total,"
        "  round(100.0 * processed / greatest(total, 1), 1),"
        "  round(100.0 * overall_processed / greatest(overall_total, 1), 1),"
        "  round(docs_per_second), "
        "  to_char(make_interval(secs => eta_seconds), 'HH24:MI:SS'))"
        " FROM nextcrm_migration.batch_log WHERE id > $1 ORDER BY id",
        1, &type, &arg);
    uint64 n = SPI_processed;
    for (uint64 i = 0; i < n; ++i) {
        bool isnull;
        last_seen = nextcrm::spi_int8(static_cast<int>(i), 1, &isnull);
        std::string line = nextcrm::spi_text(static_cast<int>(i), 2, &isnull);
        nextcrm::pg_call([&line] { ereport(NOTICE, (errmsg("%s", line.c_str()))); });
    }
    return last_seen;
}

int64 latest_batch_id() {
    nextcrm::spi_exec("SELECT coalesce(max(id), 0) FROM nextcrm_migration.batch_log", 0, nullptr,
                      nullptr);
    bool isnull;
    return nextcrm::spi_int8(0, 1, &isnull);
}

// What the run table says now (a fresh snapshot per call in READ COMMITTED).
std::string run_status(std::string *message) {
    nextcrm::spi_exec("SELECT status, message FROM nextcrm_migration.run", 0);
    bool isnull;
    std::string status = nextcrm::spi_text(0, 1, &isnull);
    if (message)
        *message = nextcrm::spi_text(0, 2, &isnull);
    return status;
}

bool worker_running(BackgroundWorkerHandle *handle) {
    pid_t pid;
    return nextcrm::pg_call([&] { return GetBackgroundWorkerPid(handle, &pid); }) != BGWH_STOPPED;
}

// Waits for the worker, relaying progress.  On an interrupt (Ctrl+C,
// statement_timeout) the worker is asked to stop after its current batch and
// waited for before the interrupt is raised again, so nothing is left running
// behind the user's back.
void wait_for_worker(BackgroundWorkerHandle *handle, int64 last_seen) {
    volatile int64 seen = last_seen;
    nextcrm::pg_call([&] {
        PG_TRY();
        {
            for (;;) {
                bool running = worker_running(handle);
                seen = relay_batches(seen);
                if (!running)
                    break;
                (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 200,
                                PG_WAIT_EXTENSION);
                ResetLatch(MyLatch);
                CHECK_FOR_INTERRUPTS();
            }
        }
        PG_CATCH();
        {
            HOLD_INTERRUPTS();
            TerminateBackgroundWorker(handle);
            (void)WaitForBackgroundWorkerShutdown(handle);
            RESUME_INTERRUPTS();
            PG_RE_THROW();
        }
        PG_END_TRY();
    });
}

void return_summary(FunctionCallInfo fcinfo, const char *collection) {
    nextcrm::pg_call([fcinfo] { InitMaterializedSRF(fcinfo, 0); });
    auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
    Datum arg = nextcrm::text_datum(collection);
    Oid type = TEXTOID;
    nextcrm::spi_exec("SELECT collection, source_total, migrated, failed, repaired,"
                      "       round(seconds::numeric, 3)::float8,"
                      "       round((processed / nullif(seconds, 0))::numeric, 0)::float8"
                      "  FROM nextcrm_migration.checkpoint"
                      " WHERE $1 = '' OR collection = $1 ORDER BY position",
                      1, &type, &arg);
    nextcrm::pg_call([rsinfo] {
        for (uint64 i = 0; i < SPI_processed; ++i) {
            Datum values[7];
            bool nulls[7];
            for (int c = 0; c < 7; ++c)
                values[c] =
                    SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, c + 1, &nulls[c]);
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        }
    });
}

// The running worker holds the advisory lock for its whole life.
void refuse_if_running() {
    Datum key = Int64GetDatum(nextcrm::migration_lock_key);
    Oid type = INT8OID;
    nextcrm::spi_exec("SELECT pg_try_advisory_lock($1) AND pg_advisory_unlock($1)", 1, &type, &key);
    bool isnull;
    if (nextcrm::spi_text(0, 1, &isnull) != "t") {
        nextcrm::spi_exec("SELECT worker_pid FROM nextcrm_migration.run");
        std::string pid = nextcrm::spi_text(0, 1, &isnull);
        throw Error("a migration of this database is already running (worker pid " + pid + ")",
                    "55006", {},
                    "Watch it in nextcrm_migration.progress, or stop it with "
                    "pg_cancel_backend() on its calling session.");
    }
}

Datum migrate(FunctionCallInfo fcinfo, const char *collection, bool retry) {
    const char *server = NameStr(*PG_GETARG_NAME(0));
    bool restart = !retry && PG_GETARG_BOOL(PG_NARGS() - 1);
    nextcrm::server_oid_by_name(server); // the server must exist and be ours

    if (XactIsoLevel != XACT_READ_COMMITTED)
        throw Error("nextcrm_migrate_all() must run in READ COMMITTED",
                    "25001", // active_sql_transaction
                    "Each batch commits in a background worker; a snapshot taken earlier would "
                    "hide its progress.");
    if (IsTransactionBlock())
        throw Error("nextcrm_migrate_all() cannot run inside a transaction block", "25001", {},
                    "The migration commits as it goes; run it as a statement of its own.");

    nextcrm::MigrationRequest request{};
    request.userid = GetUserId();
    request.restart = restart;
    request.retry = retry;
    if (strlen(server) >= sizeof request.server || strlen(collection) >= sizeof request.collection)
        throw Error("server or collection name too long", sqlstate::invalid_parameter_value);
    strcpy(request.server, server);
    strcpy(request.collection, collection);

    nextcrm::pg_call([] { SPI_connect(); });
    refuse_if_running();
    std::string message;
    std::string status = run_status(&message);
    if (retry && status == "running")
        throw Error("the migration is still running", "55006");
    if (retry && status != "complete")
        throw Error("retry the errors after the migration is complete",
                    sqlstate::invalid_parameter_value, {},
                    "Run nextcrm_migrate_all() to its end first.");
    if (status == "complete" && !restart && !retry) {
        nextcrm::pg_call([] {
            ereport(NOTICE, (errmsg("the migration is complete; nothing to do"),
                             errhint("restart => true starts over.")));
        });
    } else {
        int64 seen = latest_batch_id();
        BackgroundWorkerHandle *handle = start_worker(request);
        wait_for_worker(handle, seen);
        status = run_status(&message);
        if (status == "failed")
            throw Error("the migration failed: " + message, sqlstate::fdw_error, {},
                        "Fix the cause and run it again; it resumes from the last committed "
                        "batch.");
        if (status == "running")
            throw Error("another migration of this database is running", "55006");
        if (status != "complete" && status != "stopped")
            throw Error("the migration's worker ended without recording its outcome",
                        sqlstate::internal_error, {}, "The server log has its messages.");
    }
    return_summary(fcinfo, collection);
    nextcrm::pg_call([] { SPI_finish(); });
    return (Datum)0;
}

} // namespace

NEXTCRM_PG_FUNCTION(nextcrm_migrate_all) {
    return migrate(fcinfo, "", false);
}

NEXTCRM_PG_FUNCTION(nextcrm_retry_errors) {
    return migrate(fcinfo, "", true);
}

NEXTCRM_PG_FUNCTION(nextcrm_migrate_table) {
    text *arg = PG_GETARG_TEXT_PP(1);
    std::string collection(VARDATA_ANY(arg), VARSIZE_ANY_EXHDR(arg));
    if (collection.empty())
        throw Error("collection must not be empty", sqlstate::invalid_parameter_value);
    return migrate(fcinfo, collection.c_str(), false);
}
