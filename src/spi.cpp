#include "spi.hpp"

#include "core/doc_transform.hpp"

extern "C" {
#include "access/xact.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/resowner.h"
}

#include <exception>

namespace nextcrm {

namespace {

// The path every statement of the extension runs under: nothing a user can
// create in is searched for functions, operators or types.
constexpr const char *pinned_search_path = "pg_catalog, pg_temp";

// Runs exec() with search_path pinned; the nest level is popped however
// exec() ends, keeping a plain SET made by the statement itself (the worker's
// session settings) only when it succeeded.
// quiet: the statement's own NOTICEs (the target's DDL saying a schema
// already exists) are not sent on to the migration's caller.
template <typename Exec>
int with_pinned_path(Exec exec, const char *path = pinned_search_path, bool quiet = false) {
    int nest = pg_call([path, quiet] {
        int level = NewGUCNestLevel();
        (void)set_config_option("search_path", path, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
                                true, 0, false);
        if (quiet)
            (void)set_config_option("client_min_messages", "warning", PGC_USERSET, PGC_S_SESSION,
                                    GUC_ACTION_SAVE, true, 0, false);
        return level;
    });
    int rc = 0;
    std::exception_ptr failure;
    try {
        rc = pg_call(exec);
    } catch (...) {
        failure = std::current_exception();
    }
    pg_call([nest, ok = !failure] { AtEOXact_GUC(ok, nest); });
    if (failure)
        std::rethrow_exception(failure);
    return rc;
}

int run(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls,
        const char *path = pinned_search_path, bool quiet = false) {
    int rc = with_pinned_path(
        [&] {
            return nargs == 0 ? SPI_execute(sql, false, 0)
                              : SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);
        },
        path, quiet);
    if (rc < 0)
        throw Error(std::string("SPI failed (") + SPI_result_code_string(rc) + ") for: " + sql,
                    sqlstate::internal_error);
    return rc;
}

void free_result() {
    pg_call([] {
        SPI_freetuptable(SPI_tuptable);
        SPI_tuptable = nullptr;
    });
}

} // namespace

std::string target_table(const std::string &name) {
    return std::string(target_schema) + "." + quote_ident(name);
}

const std::optional<std::string> &SpiRows::at(std::size_t row, int col) const {
    static const std::optional<std::string> none;
    if (row >= rows_.size() || col < 1 || static_cast<std::size_t>(col) > rows_[row].size())
        return none;
    return rows_[row][col - 1];
}

int64 SpiRows::int8(std::size_t row, int col) const {
    const auto &v = at(row, col);
    return v ? std::stoll(*v) : 0;
}

uint64 spi_exec(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls) {
    run(sql, nargs, types, values, nulls);
    uint64 processed = SPI_processed;
    free_result();
    return processed;
}

void spi_exec_target_ddl(const char *sql) {
    run(sql, 0, nullptr, nullptr, nullptr, target_schema, true);
    free_result();
}

SpiRows spi_query(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls) {
    run(sql, nargs, types, values, nulls);
    SpiRows out;
    std::exception_ptr failure;
    try {
        SPITupleTable *table = SPI_tuptable;
        uint64 n = table ? SPI_processed : 0;
        int width = table ? table->tupdesc->natts : 0;
        out.rows_.resize(n);
        for (uint64 r = 0; r < n; ++r) {
            out.rows_[r].resize(width);
            for (int c = 0; c < width; ++c) {
                char *value =
                    pg_call([&] { return SPI_getvalue(table->vals[r], table->tupdesc, c + 1); });
                if (!value)
                    continue;
                out.rows_[r][c] = value;
                pg_call([value] { pfree(value); });
            }
        }
    } catch (...) {
        failure = std::current_exception();
    }
    free_result();
    if (failure)
        std::rethrow_exception(failure);
    return out;
}

ErrorData *in_subtransaction(const std::function<void()> &body, bool keep) {
    MemoryContext context = CurrentMemoryContext;
    ResourceOwner owner = CurrentResourceOwner;
    pg_call([context] {
        BeginInternalSubTransaction(nullptr);
        MemoryContextSwitchTo(context);
    });
    ErrorData *error = nullptr;
    std::exception_ptr other;
    try {
        body();
    } catch (const PgException &e) {
        error = e.data();
    } catch (...) {
        other = std::current_exception();
    }
    pg_call([&] {
        if (keep && !error && !other)
            ReleaseCurrentSubTransaction();
        else
            RollbackAndReleaseCurrentSubTransaction();
        MemoryContextSwitchTo(context);
        CurrentResourceOwner = owner;
    });
    if (other)
        std::rethrow_exception(other);
    return error;
}

Datum text_datum(const std::string &s) {
    return pg_call([&s] { return PointerGetDatum(cstring_to_text_with_len(s.data(), s.size())); });
}

} // namespace nextcrm
