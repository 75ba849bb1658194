// text values (utils/builtins.h, varlena.c), each call behind the wall: a
// detoast or allocation failure becomes PgException.
#pragma once

#include "pg_wall.hpp"

#include <string>
#include <string_view>

namespace nextcrm::pg {

// A text value holding s, palloc'd in the current memory context.
text *cstring_to_text_with_len(std::string_view s);
// The same as a Datum (CStringGetTextDatum for a string that may hold NULs).
Datum text_datum(std::string_view s);
// The characters of a text Datum (detoasted if need be), copied out.
std::string text_datum_string(Datum value);
// quote_literal_cstr(): s as an SQL literal, palloc'd.
char *quote_literal_cstr(const char *s);

} // namespace nextcrm::pg
