// Functions that exercise the two walls from SQL.  They are not part of the
// extension's SQL API: the regression test creates them by symbol name.
#include "pg_wall.hpp"
#include "pg/lsyscache.hpp"
#include "pg/text.hpp"
#include "pg/types.hpp"

extern "C" {
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
}

#include <new>
#include <stdexcept>
#include <string>

namespace {

int destructor_runs = 0;

// Observes that a C++ frame was unwound rather than jumped over.
struct UnwindWitness {
    ~UnwindWitness() { ++destructor_runs; }
};

} // namespace

NEXTCRM_PG_FUNCTION(nextcrm_debug_throw) {
    std::string kind = nextcrm::pg::text_datum_string(PG_GETARG_DATUM(0));
    UnwindWitness witness;
    if (kind == "nextcrm")
        throw nextcrm::Error("thrown on purpose", nextcrm::sqlstate::invalid_parameter_value,
                             "a detail", "a hint");
    if (kind == "std")
        throw std::runtime_error("std::runtime_error thrown on purpose");
    if (kind == "bad_alloc")
        throw std::bad_alloc();
    if (kind == "other")
        throw 42;
    PG_RETURN_DATUM(nextcrm::pg::text_datum("nothing thrown"));
}

// Raises a PostgreSQL error (division by zero) from under a live C++ object.
NEXTCRM_PG_FUNCTION(nextcrm_debug_pg_error_under_cpp) {
    UnwindWitness witness;
    std::string keep_alive(64, 'x'); // heap-owning object that must be freed
    Datum result = nextcrm::pg_call(
        [] { return DirectFunctionCall2(int4div, Int32GetDatum(1), Int32GetDatum(0)); });
    PG_RETURN_DATUM(result);
}

NEXTCRM_PG_FUNCTION(nextcrm_debug_destructor_runs) {
    PG_RETURN_INT32(destructor_runs);
}

// Reads text as a value of a type with soft-error input (pg/types.hpp):
// "ok: <the value's text>" or "refused: <SQLSTATE>", never an ERROR for
// input the type refuses.
NEXTCRM_PG_FUNCTION(nextcrm_debug_input_soft) {
    Oid type = PG_GETARG_OID(0);
    std::string input = nextcrm::pg::text_datum_string(PG_GETARG_DATUM(1));
    Oid input_func = InvalidOid, ioparam = InvalidOid;
    nextcrm::pg::getTypeInputInfo(type, &input_func, &ioparam);
    nextcrm::pg::InputResult in = nextcrm::pg::input_soft(input_func, input.c_str(), ioparam, -1);
    std::string out;
    if (in.ok)
        out = std::string("ok: ") + nextcrm::pg::output_cstring(type, in.value);
    else
        out = std::string("refused: ") + nextcrm::sqlstate_text(in.sqlstate);
    PG_RETURN_DATUM(nextcrm::pg::text_datum(out));
}
