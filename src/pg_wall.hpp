// The two walls between C++ and PostgreSQL (engineering/cpp-in-postgres.md §1).
//
// Entry wall: every function PostgreSQL calls is declared with
// NEXTCRM_PG_FUNCTION, whose C-linkage shim runs the C++ body inside
// try/catch.  Whatever is caught is copied out, the catch block is left, and
// only then is ereport() raised, so no longjmp ever starts inside a catch.
//
// Call-back wall: pg_call() runs a PostgreSQL routine that may ereport() from
// a C++ frame.  A PostgreSQL error is turned into PgException, so the C++
// frames above unwind normally (destructors run) until the entry wall
// re-raises the original error with all its fields.
#pragma once

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/elog.h"
#include "utils/memutils.h"
}

#include <csetjmp>

#include "core/error.hpp"

#include <exception>
#include <type_traits>
#include <utility>

namespace nextcrm {

// A PostgreSQL error captured by pg_call(); edata lives in the memory context
// that was current when pg_call() began.
class PgException : public std::exception {
  public:
    explicit PgException(ErrorData *edata) : edata_(edata) {}
    const char *what() const noexcept override { return edata_->message; }
    ErrorData *data() const noexcept { return edata_; }

  private:
    ErrorData *edata_;
};

inline int sqlstate_code(const char *s) {
    return MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]);
}

// The five characters of a packed SQLSTATE (ErrorData.sqlerrcode).  The text
// lives in a static buffer, valid until the next call.
inline const char *sqlstate_text(int code) {
    return unpack_sql_state(code);
}

// Saves PostgreSQL's error-handling state when constructed and puts it back
// when destroyed, however the scope is left: normally, by a longjmp caught in
// pg_call(), or by a C++ exception thrown from inside it (a nested pg_call()
// that converted an error, a helper that throws).  Without it an exception
// leaving a sigsetjmp frame would leave PG_exception_stack pointing at a dead
// frame, and the next ereport() would jump into it.
class PgErrorStateGuard {
  public:
    PgErrorStateGuard() noexcept
        : exception_stack_(PG_exception_stack), context_stack_(error_context_stack),
          memory_context_(CurrentMemoryContext) {}
    ~PgErrorStateGuard() { restore(); }
    PgErrorStateGuard(const PgErrorStateGuard &) = delete;
    PgErrorStateGuard &operator=(const PgErrorStateGuard &) = delete;

    void restore() const noexcept {
        PG_exception_stack = exception_stack_;
        error_context_stack = context_stack_;
    }
    // After an error the memory context is whatever the failing routine had
    // switched to; the caller's is the one its data belongs in.
    void restore_memory_context() const noexcept { MemoryContextSwitchTo(memory_context_); }

  private:
    sigjmp_buf *exception_stack_;
    ErrorContextCallback *context_stack_;
    MemoryContext memory_context_;
};

// A copy of `e` and of every string it points to in `context`, which
// outlives the transaction whose memory holds the original (PostgreSQL's
// CopyErrorData() copies only the error being handled, into the current
// context).
ErrorData *copy_error(const ErrorData *e, MemoryContext context);

namespace detail {

// Copies the error being handled into the caller's memory context and clears
// PostgreSQL's error state; returns the copy.
inline ErrorData *take_error(const PgErrorStateGuard &guard) noexcept {
    guard.restore();
    guard.restore_memory_context();
    ErrorData *edata = CopyErrorData();
    FlushErrorState();
    return edata;
}

} // namespace detail

// Runs fn() and converts a PostgreSQL ERROR into PgException.  This and
// nothing else in the extension sets a PostgreSQL error handler: whatever way
// fn() ends (return, ERROR, C++ exception) PG_exception_stack and
// error_context_stack are as they were before.  fn must not itself hold C++
// objects that need destruction across a PostgreSQL call that can fail: a
// longjmp skips destructors.  A FATAL or PANIC never returns here (the
// process exits), so nothing is converted for those.
template <typename Fn>
auto pg_call(Fn &&fn) -> decltype(fn()) {
    using Result = decltype(fn());
    PgErrorStateGuard guard;
    sigjmp_buf jump;
    ErrorData *volatile edata = nullptr;
    if constexpr (std::is_void_v<Result>) {
        if (sigsetjmp(jump, 0) == 0) {
            PG_exception_stack = &jump;
            fn();
        } else {
            edata = detail::take_error(guard);
        }
        guard.restore();
        if (edata)
            throw PgException(edata);
    } else {
        static_assert(std::is_trivially_copyable_v<Result>,
                      "pg_call results must survive a longjmp");
        Result volatile result{};
        if (sigsetjmp(jump, 0) == 0) {
            PG_exception_stack = &jump;
            result = fn();
        } else {
            edata = detail::take_error(guard);
        }
        guard.restore();
        if (edata)
            throw PgException(edata);
        return result;
    }
}

// Lets Ctrl+C, statement_timeout and pg_terminate_backend act from C++ loops:
// a pending interrupt becomes a PgException that unwinds to the entry wall.
inline void check_for_interrupts() {
    pg_call([] { CHECK_FOR_INTERRUPTS(); });
}

// What the entry wall carries from the catch block to ereport().
struct CaughtError {
    ErrorData *pg_error = nullptr; // re-raised unchanged when set
    int sqlstate = 0;
    char *message = nullptr;
    // A translatable message: its format (a string literal, never freed)
    // and its arguments; message is then the untranslated text.
    const char *format = nullptr;
    char *args[max_message_args] = {};
    char *detail = nullptr;
    char *hint = nullptr;
};

// Copies the caught exception into palloc'd memory.  Called only inside a
// catch block; the caller raises it after leaving the block.
CaughtError capture_current_exception() noexcept;

[[noreturn]] void raise_caught(const CaughtError &caught);

template <typename Body>
Datum invoke_cpp(Body body, FunctionCallInfo fcinfo) {
    CaughtError caught;
    try {
        return body(fcinfo);
    } catch (...) {
        caught = capture_current_exception();
    }
    raise_caught(caught);
}

// The entry wall for callbacks that are not SQL functions (FDW routines,
// memory-context callbacks): runs body() and raises whatever it threw as a
// PostgreSQL ERROR after leaving the catch block.
template <typename Body>
auto call_from_pg(Body body) -> decltype(body()) {
    CaughtError caught;
    try {
        return body();
    } catch (...) {
        caught = capture_current_exception();
    }
    raise_caught(caught);
}

} // namespace nextcrm

// Declares an SQL-callable function `name` whose body is C++.
#define NEXTCRM_PG_FUNCTION(name)                                                                  \
    static Datum name##_impl(FunctionCallInfo fcinfo);                                             \
    extern "C" {                                                                                   \
    PG_FUNCTION_INFO_V1(name);                                                                     \
    }                                                                                              \
    extern "C" Datum name(PG_FUNCTION_ARGS) {                                                      \
        return nextcrm::invoke_cpp(name##_impl, fcinfo);                                           \
    }                                                                                              \
    static Datum name##_impl(FunctionCallInfo fcinfo)
