#include "migrate_channel.hpp"

extern "C" {
#include "libpq/pqformat.h"
#include "libpq/pqmq.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/resowner.h"
#include "utils/wait_event.h"
}

#include <csignal>
#include <cstring>
#include <exception>

namespace nextcrm {

namespace {

// The segment: this header, then the queue.
struct ChannelHeader {
    MigrationRequest request;
    // 1 while the caller is attached; its detach callback clears it, however
    // the caller leaves (an error, the end of its statement, FATAL).
    pg_atomic_uint32 caller_attached;
};

// The worker sends progress NOTICEs of about 150 bytes, one per batch, and the
// caller drains the queue as messages arrive; parallel query's error queue
// is this size too.
constexpr Size queue_size = 16384;

Size header_space() {
    return MAXALIGN(sizeof(ChannelHeader));
}

// The worker's view of the header (set by attach_to_caller()).
ChannelHeader *worker_header = nullptr;

extern "C" void mark_caller_detached(dsm_segment *, Datum arg) {
    pg_atomic_write_u32(&reinterpret_cast<ChannelHeader *>(DatumGetPointer(arg))->caller_attached,
                        0);
}

// When the caller exits (pg_terminate_backend is a FATAL: no C++ unwinding
// and no error path), the worker is told to stop after its batch.
extern "C" void stop_worker_at_exit(int, Datum arg) {
    TerminateBackgroundWorker(reinterpret_cast<BackgroundWorkerHandle *>(DatumGetPointer(arg)));
}

// Sleeps until the latch is set (a message, the worker's detach) or `ms`
// pass; an interrupt (Ctrl+C, statement_timeout, pg_terminate_backend) acts
// at once.
void nap(long ms) {
    pg_call([ms] {
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms,
                        PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
        CHECK_FOR_INTERRUPTS();
    });
}

// One message from the worker: a NOTICE or WARNING is emitted as the
// caller's own; an error is returned (elevel ERROR: the worker's FATAL ends
// only the worker).  The zero-length and any other message carry nothing.
// May ereport: call it inside pg_call().
ErrorData *take_message(void *data, Size nbytes) {
    if (nbytes == 0)
        return nullptr;
    StringInfoData msg;
    msg.data = static_cast<char *>(data);
    msg.len = static_cast<int>(nbytes);
    msg.maxlen = static_cast<int>(nbytes);
    msg.cursor = 0;
    int type = pq_getmsgbyte(&msg);
    if (type != 'E' && type != 'N')
        return nullptr;
    auto *edata = static_cast<ErrorData *>(palloc0(sizeof(ErrorData)));
    pq_parse_errornotice(&msg, edata);
    if (type == 'N') {
        edata->elevel = Min(edata->elevel, WARNING);
        ThrowErrorData(edata);
        return nullptr;
    }
    edata->elevel = ERROR;
    return edata;
}

enum class Drained { empty, detached };

// Receives every message already in the queue.  `keep` false drops them.
Drained drain(WorkerChannel &channel, bool keep, ErrorData **failure) {
    for (;;) {
        Size nbytes = 0;
        void *data = nullptr;
        shm_mq_result result =
            pg_call([&] { return shm_mq_receive(channel.queue, &nbytes, &data, true); });
        if (result == SHM_MQ_DETACHED)
            return Drained::detached;
        if (result == SHM_MQ_WOULD_BLOCK)
            return Drained::empty;
        if (!keep)
            continue;
        if (ErrorData *error = pg_call([&] { return take_message(data, nbytes); }))
            *failure = error;
    }
}

// Waits up to `naps` times 200 ms for the worker to detach.
bool wait_detached(WorkerChannel &channel, int naps) {
    for (int i = 0; i < naps; ++i) {
        if (drain(channel, false, nullptr) == Drained::detached)
            return true;
        nap(200);
    }
    return drain(channel, false, nullptr) == Drained::detached;
}

// How long the caller gives its worker to stop before it returns anyway:
// first to finish the batch in flight after SIGTERM, then to cancel it after
// SIGINT.  The worker records its stop itself, and a worker still blocked
// then stops on its own once it sees its caller gone (caller_gone()).
constexpr int stop_grace_naps = 25; // of 200 ms each: 5 s

// Asks the worker to stop after its batch (SIGTERM), waits up to 5 s for it
// to detach, then cancels the batch in flight (SIGINT) and waits as long
// again.  Never waits longer, never holds interrupts; messages that arrive
// meanwhile are dropped (the tables keep the record).
void stop_worker(WorkerChannel &channel) {
    pg_call([&] { TerminateBackgroundWorker(channel.worker); });
    if (wait_detached(channel, stop_grace_naps))
        return;
    pid_t pid = 0;
    if (pg_call([&] { return GetBackgroundWorkerPid(channel.worker, &pid); }) == BGWH_STARTED)
        (void)kill(pid, SIGINT);
    (void)wait_detached(channel, stop_grace_naps);
}

} // namespace

WorkerChannel launch_worker(const MigrationRequest &request, const char *server) {
    WorkerChannel channel;
    channel.segment = pg_call([] { return dsm_create(header_space() + queue_size, 0); });
    auto *base = static_cast<char *>(pg_call([&] { return dsm_segment_address(channel.segment); }));
    auto *header = reinterpret_cast<ChannelHeader *>(base);
    std::memcpy(&header->request, &request, sizeof request);
    pg_call([&] {
        pg_atomic_init_u32(&header->caller_attached, 1);
        on_dsm_detach(channel.segment, mark_caller_detached, PointerGetDatum(header));
    });
    shm_mq *queue = pg_call([&] { return shm_mq_create(base + header_space(), queue_size); });
    pg_call([&] { shm_mq_set_receiver(queue, MyProc); });

    BackgroundWorker worker;
    std::memset(&worker, 0, sizeof worker);
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
    worker.bgw_restart_time = BGW_NEVER_RESTART;
    std::snprintf(worker.bgw_library_name, BGW_MAXLEN, "nextcrm_mongo_fdw");
    std::snprintf(worker.bgw_function_name, BGW_MAXLEN, "nextcrm_migration_worker_main");
    std::snprintf(worker.bgw_name, BGW_MAXLEN, "nextcrm migration of %s", server);
    std::snprintf(worker.bgw_type, BGW_MAXLEN, "nextcrm migration");
    worker.bgw_main_arg =
        UInt32GetDatum(pg_call([&] { return dsm_segment_handle(channel.segment); }));
    worker.bgw_notify_pid = MyProcPid;

    bool ok = pg_call([&] { return RegisterDynamicBackgroundWorker(&worker, &channel.worker); });
    if (!ok)
        throw Error(Message(NEXTCRM_MSG("could not start the migration's background worker")),
                    sqlstate::insufficient_resources, {}, "Raise max_worker_processes.");
    // Given the worker's handle, the queue reports it detached should the
    // worker stop before it attaches.
    channel.queue = pg_call([&] { return shm_mq_attach(queue, channel.segment, channel.worker); });
    return channel;
}

ErrorData *relay_worker(WorkerChannel &channel) {
    Datum arg = PointerGetDatum(channel.worker);
    pg_call([arg] { before_shmem_exit(stop_worker_at_exit, arg); });
    ErrorData *failure = nullptr;
    std::exception_ptr interrupted;
    try {
        // The queue sets this backend's latch on every message and on the
        // worker's detach; the nap's timeout is only a safety net.
        while (drain(channel, true, &failure) != Drained::detached)
            nap(1000);
    } catch (...) {
        interrupted = std::current_exception();
    }
    if (interrupted) {
        try {
            stop_worker(channel);
        } catch (...) {
            // A second interrupt ends the wait; the first error is reported.
        }
    }
    pg_call([arg] { cancel_before_shmem_exit(stop_worker_at_exit, arg); });
    if (interrupted)
        std::rethrow_exception(interrupted);
    return failure;
}

void close_channel(WorkerChannel &channel) {
    pg_call([&] { dsm_detach(channel.segment); });
    channel = WorkerChannel{};
}

MigrationRequest attach_to_caller(Datum main_arg) {
    pg_call(
        [] { CurrentResourceOwner = ResourceOwnerCreate(nullptr, "nextcrm migration worker"); });
    dsm_segment *segment = pg_call([main_arg] { return dsm_attach(DatumGetUInt32(main_arg)); });
    if (!segment)
        throw Error(Message(NEXTCRM_MSG("could not map the migration's dynamic shared memory "
                                        "segment")),
                    sqlstate::object_not_in_prerequisite_state,
                    "The session that started the migration has gone.");
    // Mapped for the worker's whole life, whatever its transactions do with
    // resource owners.
    pg_call([segment] { dsm_pin_mapping(segment); });
    auto *base = static_cast<char *>(pg_call([segment] { return dsm_segment_address(segment); }));
    worker_header = reinterpret_cast<ChannelHeader *>(base);
    MigrationRequest request;
    std::memcpy(&request, &worker_header->request, sizeof request);
    pg_call([&] {
        auto *queue = reinterpret_cast<shm_mq *>(base + header_space());
        shm_mq_set_sender(queue, MyProc);
        pq_redirect_to_shm_mq(segment, shm_mq_attach(queue, segment, nullptr));
    });
    return request;
}

bool caller_gone() {
    return !worker_header || pg_atomic_read_u32(&worker_header->caller_attached) == 0;
}

} // namespace nextcrm
