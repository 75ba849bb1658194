// The migration's background worker: connects as the calling user, runs the
// migration in its own transactions, and records a failure where the calling
// session (and anyone reading nextcrm_migration.run) sees it.
#include "migrate.hpp"

#include "spi.hpp"

extern "C" {
#include "access/xact.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"
}

#include <cstring>

namespace {

volatile sig_atomic_t stop_requested = false;

// SIGTERM (the caller's Ctrl+C, pg_terminate_backend, a shutdown) stops the
// worker after the batch in flight, which then commits with its checkpoint.
extern "C" void request_stop(SIGNAL_ARGS) {
    int saved = errno;
    stop_requested = true;
    SetLatch(MyLatch);
    errno = saved;
}

// Upserts, since the failure may come before the run was recorded, but never
// over another worker's running migration.
void record_failure(const char *server, const char *message) {
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    SPI_connect();
    PushActiveSnapshot(GetTransactionSnapshot());
    Datum args[2] = {CStringGetTextDatum(message ? message : "unknown error"),
                     CStringGetTextDatum(server)};
    Oid types[2] = {TEXTOID, TEXTOID};
    SPI_execute_with_args("INSERT INTO nextcrm_migration.run AS r (server, status, message,"
                          "  finished_at) VALUES ($2, 'failed', $1, clock_timestamp())"
                          " ON CONFLICT (singleton) DO UPDATE SET status = 'failed',"
                          "  message = $1, finished_at = clock_timestamp(), worker_pid = NULL"
                          " WHERE r.worker_pid = pg_backend_pid() OR r.status <> 'running'",
                          2, types, args, nullptr, false, 0);
    SPI_finish();
    PopActiveSnapshot();
    CommitTransactionCommand();
}

} // namespace

extern "C" PGDLLEXPORT void nextcrm_migration_worker_main(Datum main_arg);

void nextcrm_migration_worker_main(Datum main_arg) {
    pqsignal(SIGTERM, request_stop);
    BackgroundWorkerUnblockSignals();

    nextcrm::MigrationRequest request;
    std::memcpy(&request, MyBgworkerEntry->bgw_extra, sizeof request);
    BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(main_arg), request.userid, 0);
    pgstat_report_appname("nextcrm migration");

    PG_TRY();
    {
        nextcrm::CaughtError caught;
        bool failed = false;
        try {
            nextcrm::run_migration(request, &stop_requested);
        } catch (...) {
            caught = nextcrm::capture_current_exception();
            failed = true;
        }
        if (failed)
            nextcrm::raise_caught(caught);
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(TopMemoryContext);
        ErrorData *edata = CopyErrorData();
        EmitErrorReport();
        FlushErrorState();
        AbortOutOfAnyTransaction();
        record_failure(request.server, edata->message);
        proc_exit(1);
    }
    PG_END_TRY();
    proc_exit(0);
}
