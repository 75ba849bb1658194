#include "pg/types.hpp"

#include "pg_compat.hpp"

extern "C" {
#include "utils/lsyscache.h"
}

namespace nextcrm::pg {

InputResult input_soft(Oid input_func, const char *text, Oid typioparam, int32 typmod) {
    FmgrInfo flinfo;
    pg_call([input_func, &flinfo] { fmgr_info(input_func, &flinfo); });
    InputResult out{false, (Datum)0, 0};
    out.ok = input_function_call_safe(&flinfo, const_cast<char *>(text), typioparam, typmod,
                                      &out.value, &out.sqlstate);
    return out;
}

char *output_cstring(Oid type, Datum value) {
    return pg_call([type, value] {
        Oid output_func;
        bool varlena;
        getTypeOutputInfo(type, &output_func, &varlena);
        return OidOutputFunctionCall(output_func, value);
    });
}

} // namespace nextcrm::pg
