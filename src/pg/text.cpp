#include "pg/text.hpp"

#include "pg_compat.hpp"

extern "C" {
#include "utils/builtins.h"
}

namespace nextcrm::pg {

text *cstring_to_text_with_len(std::string_view s) {
    const char *data = s.data();
    int len = static_cast<int>(s.size());
    return pg_call([data, len] { return ::cstring_to_text_with_len(data, len); });
}

Datum text_datum(std::string_view s) {
    return PointerGetDatum(cstring_to_text_with_len(s));
}

std::string text_datum_string(Datum value) {
    // Detoasting may fail (and allocate); the copy into std::string is made
    // after the wall, from POD state only.
    text *t = pg_call([value] {
        return pg_detoast_datum_packed(reinterpret_cast<varlena *>(DatumGetPointer(value)));
    });
    return std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

char *quote_literal_cstr(const char *s) {
    return pg_call([s] { return ::quote_literal_cstr(s); });
}

} // namespace nextcrm::pg
