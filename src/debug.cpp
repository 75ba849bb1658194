// Functions that exercise the two walls from SQL.  They are not part of the
// extension's SQL API: the regression test creates them by symbol name.
#include "pg_wall.hpp"

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
    text *arg = PG_GETARG_TEXT_PP(0);
    std::string kind = nextcrm::pg_call([arg] { return text_to_cstring(arg); });
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
    PG_RETURN_TEXT_P(nextcrm::pg_call([] { return cstring_to_text("nothing thrown"); }));
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
