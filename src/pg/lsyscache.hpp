// Catalog look-ups by OID (utils/lsyscache.h, utils/builtins.h,
// parser/parse_type.h): each may raise a cache-lookup ERROR, which becomes
// PgException.
#pragma once

#include "pg_wall.hpp"

namespace nextcrm::pg {

// A type's length, pass-by-value flag and alignment, as get_typlenbyvalalign()
// returns them.
struct TypeStorage {
    int16 len;
    bool byval;
    char align;
};

TypeStorage typlenbyvalalign(Oid type);
// getTypeInputInfo(): the input function and its I/O parameter.
void getTypeInputInfo(Oid type, Oid *input_func, Oid *ioparam);
Oid get_element_type(Oid type);
char *format_type_with_typemod(Oid type, int32 typmod);
char *get_rel_name(Oid relid);
char *get_opname(Oid opno);
bool get_collation_isdeterministic(Oid collid);
// The btree operator family of type's default btree operator class, or
// InvalidOid when it has none.
Oid default_btree_opfamily(Oid type);

} // namespace nextcrm::pg
