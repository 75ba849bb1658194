// One-dimensional arrays (utils/array.h).  The C++ values are built before
// or after PostgreSQL is called, never inside: only POD state is alive when a
// call may longjmp.
#pragma once

#include "pg_wall.hpp"

extern "C" {
#include "utils/array.h"
}

#include <optional>
#include <string>
#include <vector>

namespace nextcrm::pg {

// A text[] Datum of values, in the current memory context.
Datum construct_text_array(const std::vector<std::string> &values);

// The elements of a one-dimensional text[] (nullopt for a NULL element).
std::vector<std::optional<std::string>> deconstruct_text_array(ArrayType *array);

// The array a Datum holds, detoasted if need be (DatumGetArrayTypeP()).
ArrayType *detoast_array(Datum value);

// deconstruct_array() of an array of element type elem_type.
void deconstruct_array(ArrayType *array, Oid elem_type, Datum **elems, bool **nulls, int *count);

} // namespace nextcrm::pg
