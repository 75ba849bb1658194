// Type input (fmgr.h): reading text as a value of a type.
#pragma once

#include "pg_wall.hpp"

namespace nextcrm::pg {

// What reading text with a type's input function gave: the value, or the
// SQLSTATE of the input function's refusal.
struct InputResult {
    bool ok;
    Datum value;
    int sqlstate;
};

// Reads text as a value of the type whose input function is input_func,
// with PostgreSQL's soft-error input: a refusal (bad syntax, out of range, a
// character the encoding cannot hold) is returned, never raised, and leaves
// nothing behind (pg_compat.hpp's input_function_call_safe).  Any other
// error is raised as PgException.
InputResult input_soft(Oid input_func, const char *text, Oid typioparam, int32 typmod);

// The text of a value of type (its output function's result), palloc'd.
char *output_cstring(Oid type, Datum value);

} // namespace nextcrm::pg
