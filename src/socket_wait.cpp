// The wait the driver's streams use inside PostgreSQL (core/wait_stream.hpp):
// the sockets and the process latch in one WaitEventSet, as postgres_fdw
// waits for libpq.  A pending cancel, statement_timeout, termination or
// worker stop ends the wait; the I/O then fails inside libmongoc like a
// network error, and the entry wall raises the interrupt once the driver's
// frames are left (raise_caught runs CHECK_FOR_INTERRUPTS first).
#include "connection.hpp"

extern "C" {
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"
}

namespace nextcrm {

namespace {

volatile sig_atomic_t *worker_stop = nullptr;

// The interrupts that end a statement: ProcessInterrupts() raises them.
// Others (a barrier, a memory-context log request) wait for the next
// CHECK_FOR_INTERRUPTS after the I/O; ending the I/O for them would turn
// them into a failed query.
bool stop_pending() {
    if (worker_stop && *worker_stop)
        return true;
    if (!INTERRUPTS_PENDING_CONDITION() || !INTERRUPTS_CAN_BE_PROCESSED())
        return false;
    bool pending = QueryCancelPending || ProcDiePending || ClientConnectionLost;
#if PG_VERSION_NUM >= 170000
    pending = pending || TransactionTimeoutPending;
#endif
    return pending;
}

// The wait event pg_stat_activity shows for a backend waiting on MongoDB:
// NextcrmMongoSocket from 17 on (custom wait events), Extension before.
uint32 socket_wait_event() {
#if PG_VERSION_NUM >= 170000
    static uint32 event = 0;
    // Registering the name needs shared memory, which an exiting backend
    // may have left already.
    if (event == 0 && proc_exit_inprogress)
        return PG_WAIT_EXTENSION;
    if (event == 0)
        event = WaitEventExtensionNew("NextcrmMongoSocket");
    return event;
#else
    return PG_WAIT_EXTENSION;
#endif
}

enum class Woke { latch, socket, timeout, postmaster_death };

// One WaitEventSetWait over the latch, postmaster death and the sockets;
// fills sockets[i].ready.  May ereport: called inside pg_call().
Woke wait_once(WaitSocket *sockets, std::size_t n, long timeout_ms) {
    uint32 wait_event = socket_wait_event();
    int size = static_cast<int>(n) + 2;
#if PG_VERSION_NUM >= 170000
    WaitEventSet *set =
        CreateWaitEventSet(proc_exit_inprogress ? nullptr : CurrentResourceOwner, size);
#else
    WaitEventSet *set = CreateWaitEventSet(CurrentMemoryContext, size);
#endif
    AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, nullptr);
    if (IsUnderPostmaster)
        AddWaitEventToSet(set, WL_POSTMASTER_DEATH, PGINVALID_SOCKET, nullptr, nullptr);
    for (std::size_t i = 0; i < n; ++i)
        AddWaitEventToSet(set, sockets[i].for_write ? WL_SOCKET_WRITEABLE : WL_SOCKET_READABLE,
                          sockets[i].fd, nullptr, &sockets[i]);
    WaitEvent events[8];
    int got = WaitEventSetWait(set, timeout_ms, events, lengthof(events), wait_event);
    FreeWaitEventSet(set);
    Woke woke = Woke::timeout;
    for (int i = 0; i < got; ++i) {
        if (events[i].events & WL_POSTMASTER_DEATH)
            return Woke::postmaster_death;
        if (events[i].events & WL_LATCH_SET) {
            ResetLatch(MyLatch);
            if (woke == Woke::timeout)
                woke = Woke::latch;
        } else if (events[i].user_data) {
            static_cast<WaitSocket *>(events[i].user_data)->ready = true;
            woke = Woke::socket;
        }
    }
    return woke;
}

// At backend exit the clients are destroyed, and libmongoc ends their
// sessions (endSessions) on the network: a healthy server answers in
// milliseconds, an unresponsive one must not hold the exit for its
// socketTimeoutMS.  The bound is for all of the exit's waits together: a
// server that sends its reply a byte at a time ends each wait at once and
// would otherwise hold the exit for as long as it keeps sending.
constexpr int exit_wait_ms = 1000;

// When the exit's waits must all have ended (0: no exit wait yet).
TimestampTz exit_deadline = 0;

WaitOutcome latch_wait(WaitSocket *sockets, std::size_t n, int timeout_ms) noexcept {
    try {
        if (proc_exit_inprogress) {
            TimestampTz now = GetCurrentTimestamp();
            if (exit_deadline == 0)
                exit_deadline = TimestampTzPlusMilliseconds(now, exit_wait_ms);
            long budget = (exit_deadline - now) / 1000;
            if (budget <= 0)
                return WaitOutcome::timed_out;
            if (timeout_ms < 0 || timeout_ms > budget)
                timeout_ms = static_cast<int>(budget);
        }
        TimestampTz start = GetCurrentTimestamp();
        for (;;) {
            if (stop_pending())
                return WaitOutcome::interrupted;
            long left = -1;
            if (timeout_ms >= 0) {
                left = timeout_ms - (GetCurrentTimestamp() - start) / 1000;
                if (left < 0)
                    left = 0;
            }
            switch (pg_call([&] { return wait_once(sockets, n, left); })) {
            case Woke::socket:
                return WaitOutcome::ready;
            case Woke::timeout:
                return WaitOutcome::timed_out;
            case Woke::postmaster_death:
                // Not WL_EXIT_ON_PM_DEATH: exiting here would run the
                // exit callbacks (which destroy the clients) inside a
                // driver call.  The next wait outside the driver exits.
                return WaitOutcome::interrupted;
            case Woke::latch:
                break; // look at the interrupts again
            }
        }
    } catch (...) {
        // An error of the wait machinery itself (out of file descriptors):
        // the I/O fails; the error's details are gone with it.
        return WaitOutcome::failed;
    }
}

} // namespace

void install_socket_wait() {
    set_socket_wait(latch_wait);
}

void set_driver_stop_flag(volatile sig_atomic_t *flag) {
    worker_stop = flag;
}

} // namespace nextcrm
