#include "pg_wall.hpp"

// The wall's errmsg() looks its formats up in the extension's own message
// catalog (bound in _PG_init), as PostgreSQL's own modules do.
#undef TEXTDOMAIN
#define TEXTDOMAIN PG_TEXTDOMAIN("nextcrm_mongo_fdw")

#include <new>

namespace nextcrm {

namespace {

// Copies into the current memory context without ever throwing or longjmp'ing:
// running out of memory here must not escape the catch block.
char *copy_text(const char *s) noexcept {
    if (!s || !*s)
        return nullptr;
    size_t len = strlen(s) + 1;
    auto *out = static_cast<char *>(
        MemoryContextAllocExtended(CurrentMemoryContext, len, MCXT_ALLOC_NO_OOM));
    if (out)
        memcpy(out, s, len);
    return out;
}

} // namespace

CaughtError capture_current_exception() noexcept {
    CaughtError out;
    try {
        throw;
    } catch (const PgException &e) {
        out.pg_error = e.data();
    } catch (const Error &e) {
        out.sqlstate = sqlstate_code(e.sqlstate());
        out.message = copy_text(e.what());
        if (e.format() && e.args().size() <= max_message_args) {
            out.format = e.format();
            for (std::size_t i = 0; i < e.args().size(); ++i)
                out.args[i] = copy_text(e.args()[i].c_str());
        }
        out.detail = copy_text(e.detail().c_str());
        out.hint = copy_text(e.hint().c_str());
    } catch (const std::bad_alloc &) {
        out.sqlstate = ERRCODE_OUT_OF_MEMORY;
        out.message = copy_text("out of memory in C++ code");
    } catch (const std::exception &e) {
        out.sqlstate = ERRCODE_INTERNAL_ERROR;
        out.message = copy_text(e.what());
    } catch (...) {
        out.sqlstate = ERRCODE_INTERNAL_ERROR;
    }
    return out;
}

void raise_caught(const CaughtError &caught) {
    if (caught.pg_error)
        ReThrowError(caught.pg_error);
    // A driver call whose wait an interrupt ended fails with a network
    // error (core/wait_stream.hpp): the pending cancel, timeout or
    // termination is the error to raise, as PostgreSQL would have.
    CHECK_FOR_INTERRUPTS();
    // A format from NEXTCRM_MSG is translated by errmsg(); its conversions
    // are %s only, and arguments past the format's are not read.  Any other
    // message was built from parts and is raised as it is.
    auto arg = [&caught](int i) { return caught.args[i] ? caught.args[i] : ""; };
    if (caught.format)
        ereport(ERROR, (errcode(caught.sqlstate),
                        errmsg(caught.format, arg(0), arg(1), arg(2), arg(3), arg(4), arg(5),
                               arg(6), arg(7)),
                        caught.detail ? errdetail("%s", caught.detail) : 0,
                        caught.hint ? errhint("%s", caught.hint) : 0));
    ereport(ERROR,
            (errcode(caught.sqlstate),
             errmsg_internal("%s", caught.message ? caught.message : "unexpected C++ exception"),
             caught.detail ? errdetail("%s", caught.detail) : 0,
             caught.hint ? errhint("%s", caught.hint) : 0));
    pg_unreachable();
}

// A copy of `e` and of every string it points to in `context`, which
// outlives the transaction whose memory holds the original.
ErrorData *copy_error(const ErrorData *e, MemoryContext context) {
    return pg_call([e, context] {
        MemoryContext old = MemoryContextSwitchTo(context);
        auto *copy = static_cast<ErrorData *>(palloc(sizeof(ErrorData)));
        *copy = *e;
        for (char **field :
             {&copy->message, &copy->detail, &copy->detail_log, &copy->hint, &copy->context,
              &copy->backtrace, &copy->schema_name, &copy->table_name, &copy->column_name,
              &copy->datatype_name, &copy->constraint_name, &copy->internalquery})
            if (*field)
                *field = pstrdup(*field);
        // The location too: it may live in the failed transaction's memory
        // (an error relayed from a nested handler), not in static storage.
        if (copy->filename)
            copy->filename = pstrdup(copy->filename);
        if (copy->funcname)
            copy->funcname = pstrdup(copy->funcname);
        copy->assoc_context = context;
        MemoryContextSwitchTo(old);
        return copy;
    });
}

} // namespace nextcrm
