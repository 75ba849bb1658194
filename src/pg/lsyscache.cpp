#include "pg/lsyscache.hpp"

extern "C" {
#include "access/nbtree.h"
#include "catalog/pg_am.h"
#include "commands/defrem.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
}

namespace nextcrm::pg {

TypeStorage typlenbyvalalign(Oid type) {
    TypeStorage s{};
    pg_call([type, &s] { ::get_typlenbyvalalign(type, &s.len, &s.byval, &s.align); });
    return s;
}

void getTypeInputInfo(Oid type, Oid *input_func, Oid *ioparam) {
    pg_call([=] { ::getTypeInputInfo(type, input_func, ioparam); });
}

Oid get_element_type(Oid type) {
    return pg_call([type] { return ::get_element_type(type); });
}

char *format_type_with_typemod(Oid type, int32 typmod) {
    return pg_call([type, typmod] { return ::format_type_with_typemod(type, typmod); });
}

char *get_rel_name(Oid relid) {
    return pg_call([relid] { return ::get_rel_name(relid); });
}

char *get_opname(Oid opno) {
    return pg_call([opno] { return ::get_opname(opno); });
}

bool get_collation_isdeterministic(Oid collid) {
    return pg_call([collid] { return ::get_collation_isdeterministic(collid); });
}

Oid default_btree_opfamily(Oid type) {
    return pg_call([type] {
        Oid opclass = GetDefaultOpClass(type, BTREE_AM_OID);
        return OidIsValid(opclass) ? ::get_opclass_family(opclass) : InvalidOid;
    });
}

} // namespace nextcrm::pg
