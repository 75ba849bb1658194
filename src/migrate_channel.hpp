// The channel between a migration's calling session and its background
// worker: PostgreSQL's own leader/worker pattern (parallel query's), a
// dynamic shared memory segment that holds the request and a shm_mq.  The
// worker redirects its client output into the queue, so each NOTICE,
// WARNING and its final error reach the caller as protocol messages with
// all their fields, and either side learns from the queue's detach that the
// other is gone (no process id to poll and be fooled by its reuse).  The
// nextcrm_migration tables stay the record of the run; nothing is read from
// them to learn how the worker is doing.
#pragma once

#include "migrate.hpp"

extern "C" {
#include "storage/dsm.h"
#include "storage/shm_mq.h"
}

namespace nextcrm {

// The caller's end.  Every member is owned by PostgreSQL: the segment by the
// caller's transaction (an error detaches it), the worker by the postmaster.
struct WorkerChannel {
    dsm_segment *segment = nullptr;
    shm_mq_handle *queue = nullptr;
    BackgroundWorkerHandle *worker = nullptr;
};

// Creates the segment and queue, copies the request in and starts the
// worker on it.  Throws when no worker can start.
WorkerChannel launch_worker(const MigrationRequest &request, const char *server);

// Waits for the worker's messages until it detaches (it has exited),
// re-emitting each NOTICE and WARNING as the caller's own.  Returns the
// error the worker ended with (elevel ERROR, palloc'd in the current memory
// context), or nullptr when it ended without one.  An interrupt of the
// caller (Ctrl+C, statement_timeout) stops the worker (stop_worker()) and
// is then raised.
ErrorData *relay_worker(WorkerChannel &channel);

// Detaches the caller's end once the worker is gone.
void close_channel(WorkerChannel &channel);

// The worker's end: attaches to the segment named by the worker's main
// argument, sends all further client output into the queue, and returns
// the request.  Called first thing in the worker, before it connects.
MigrationRequest attach_to_caller(Datum main_arg);

// Whether the caller has detached (it exited or was terminated): the
// worker then has no one to report to.
bool caller_gone();

} // namespace nextcrm
