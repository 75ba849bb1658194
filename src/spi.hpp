// The one way C++ runs SQL (engineering/cpp-in-postgres.md §8).
//
// Every statement runs with search_path pinned to "pg_catalog, pg_temp" (a
// GUC nest level around the call, as a function's SET clause does), so a
// function or operator a user planted earlier on the session's path is never
// called with the extension's privileges; the SQL names the extension's and
// the target's objects with their schema.  Results are copied out and the SPI
// tuple table freed before returning, so a loop that polls keeps nothing per
// iteration.  Every call goes through pg_call(): a PostgreSQL error unwinds
// the C++ caller as PgException.
#pragma once

#include "pg_wall.hpp"

extern "C" {
#include "executor/spi.h"
}

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace nextcrm {

// The schema a profile's tables live in (where its migrations create them).
inline constexpr const char *target_schema = "public";

// target_schema."name", for SQL text.
std::string target_table(const std::string &name);

// A query's result as text, copied out of SPI.
class SpiRows {
  public:
    std::size_t size() const { return rows_.size(); }
    bool empty() const { return rows_.empty(); }
    // Column col (1-based, as in SPI) of row row (0-based); nullopt for NULL
    // or a row past the end.
    const std::optional<std::string> &at(std::size_t row, int col) const;
    // The same with NULL (or no row) as "" / 0.
    std::string text(std::size_t row, int col) const { return at(row, col).value_or(""); }
    int64 int8(std::size_t row, int col) const;

  private:
    friend SpiRows spi_query(const char *, int, Oid *, Datum *, const char *);
    std::vector<std::vector<std::optional<std::string>>> rows_;
};

// Runs one statement with parameters (types/values/nulls as for
// SPI_execute_with_args; nulls may be nullptr).  Throws PgException on a
// PostgreSQL error and Error when SPI reports a failure code.  Returns the
// number of rows processed; any result rows are discarded.  Never read-only:
// each statement sees what the previous ones in the same transaction did.
uint64 spi_exec(const char *sql, int nargs = 0, Oid *types = nullptr, Datum *values = nullptr,
                const char *nulls = nullptr);

// Runs DDL written without schema names (a profile's migrations) so
// that it creates its objects in target_schema: search_path is pinned to
// target_schema alone, which PostgreSQL searches after pg_catalog.
void spi_exec_target_ddl(const char *sql);

// The same as spi_exec, returning the result rows as text.
SpiRows spi_query(const char *sql, int nargs = 0, Oid *types = nullptr, Datum *values = nullptr,
                  const char *nulls = nullptr);

// Runs body() inside an internal subtransaction.  When body() raises a
// PostgreSQL error the subtransaction is rolled back and the error returned
// (allocated in the memory context current at the call); any other exception
// rolls back and propagates.  On success the subtransaction commits, unless
// keep is false: then it is rolled back too, which releases every lock body()
// took (how the calling session reads the migration's tables without holding
// a lock the worker could queue behind).  Returns nullptr on success.
ErrorData *in_subtransaction(const std::function<void()> &body, bool keep = true);

// A text Datum allocated in the current memory context.
Datum text_datum(const std::string &s);

} // namespace nextcrm
