#include "spi.hpp"

extern "C" {
#include "utils/builtins.h"
}

namespace nextcrm {

uint64 spi_exec(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls) {
    int rc = pg_call([&] {
        return nargs == 0 ? SPI_execute(sql, false, 0)
                          : SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);
    });
    if (rc < 0)
        throw Error(std::string("SPI failed (") + SPI_result_code_string(rc) + ") for: " + sql,
                    sqlstate::internal_error);
    return SPI_processed;
}

std::string spi_text(int row, int col, bool *isnull) {
    *isnull = true;
    if (static_cast<uint64>(row) >= SPI_processed)
        return {};
    char *value = pg_call(
        [row, col] { return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col); });
    if (!value)
        return {};
    *isnull = false;
    return value;
}

int64 spi_int8(int row, int col, bool *isnull) {
    std::string text = spi_text(row, col, isnull);
    return *isnull ? 0 : std::stoll(text);
}

Datum text_datum(const std::string &s) {
    return pg_call([&s] { return PointerGetDatum(cstring_to_text_with_len(s.data(), s.size())); });
}

} // namespace nextcrm
