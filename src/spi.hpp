// SPI from C++ frames: every call goes through pg_call(), so a PostgreSQL
// error unwinds the C++ caller instead of jumping over it.
#pragma once

#include "pg_wall.hpp"

extern "C" {
#include "executor/spi.h"
}

#include <string>

namespace nextcrm {

// Runs one statement with parameters; throws PgException on an error and
// Error when SPI reports a failure code.  Returns SPI_processed.  Never
// read-only: each statement must see what the previous ones in the same
// transaction did (a read-only SPI call keeps the older snapshot).
uint64 spi_exec(const char *sql, int nargs = 0, Oid *types = nullptr, Datum *values = nullptr,
                const char *nulls = nullptr);

// The first column of the first row as text, or an empty optional-like
// string with *isnull set when there is no row or the value is NULL.
std::string spi_text(int row, int col, bool *isnull);
int64 spi_int8(int row, int col, bool *isnull);

// Datum helpers that allocate in the current memory context.
Datum text_datum(const std::string &s);

} // namespace nextcrm
