#include "pg/srf.hpp"

extern "C" {
#include "utils/tuplestore.h"
}

namespace nextcrm::pg {

ReturnSetInfo *InitMaterializedSRF(FunctionCallInfo fcinfo) {
    pg_call([fcinfo] { ::InitMaterializedSRF(fcinfo, 0); });
    return reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
}

void put_values(ReturnSetInfo *rsinfo, const Datum *values, const bool *nulls) {
    pg_call([=] {
        ::tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, const_cast<Datum *>(values),
                               const_cast<bool *>(nulls));
    });
}

void put_cstrings(ReturnSetInfo *rsinfo, AttInMetadata *meta, char **values) {
    pg_call([=] {
        HeapTuple tuple = ::BuildTupleFromCStrings(meta, values);
        ::tuplestore_puttuple(rsinfo->setResult, tuple);
        heap_freetuple(tuple);
    });
}

AttInMetadata *TupleDescGetAttInMetadata(TupleDesc desc) {
    return pg_call([desc] { return ::TupleDescGetAttInMetadata(desc); });
}

} // namespace nextcrm::pg
