#include "pg/arrays.hpp"

#include "pg/lsyscache.hpp"
#include "pg/memory.hpp"
#include "pg/text.hpp"

extern "C" {
#include "catalog/pg_type.h"
}

namespace nextcrm::pg {

Datum construct_text_array(const std::vector<std::string> &values) {
    int n = static_cast<int>(values.size());
    auto *elems = static_cast<Datum *>(palloc(sizeof(Datum) * (n ? n : 1)));
    for (int i = 0; i < n; ++i)
        elems[i] = text_datum(values[i]);
    ArrayType *array = pg_call(
        [elems, n] { return ::construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT); });
    for (int i = 0; i < n; ++i)
        pfree(DatumGetPointer(elems[i]));
    pfree(elems);
    return PointerGetDatum(array);
}

std::vector<std::optional<std::string>> deconstruct_text_array(ArrayType *array) {
    Datum *elems = nullptr;
    bool *nulls = nullptr;
    int n = 0;
    deconstruct_array(array, TEXTOID, &elems, &nulls, &n);
    std::vector<std::optional<std::string>> out(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
        if (!nulls[i])
            out[i] = text_datum_string(elems[i]);
    pfree(elems);
    pfree(nulls);
    return out;
}

ArrayType *detoast_array(Datum value) {
    return pg_call([value] { return DatumGetArrayTypeP(value); });
}

void deconstruct_array(ArrayType *array, Oid elem_type, Datum **elems, bool **nulls, int *count) {
    TypeStorage storage = typlenbyvalalign(elem_type);
    pg_call([=] {
        ::deconstruct_array(array, elem_type, storage.len, storage.byval, storage.align, elems,
                            nulls, count);
    });
}

} // namespace nextcrm::pg
