// Set-returning functions in materialize mode (funcapi.h,
// utils/tuplestore.h): each call behind the wall.
#pragma once

#include "pg_wall.hpp"

extern "C" {
#include "funcapi.h"
}

namespace nextcrm::pg {

// InitMaterializedSRF(fcinfo, 0); returns the function's ReturnSetInfo,
// whose setResult and setDesc are ready for rows.
ReturnSetInfo *InitMaterializedSRF(FunctionCallInfo fcinfo);
// One row into the result (tuplestore_putvalues()).
void put_values(ReturnSetInfo *rsinfo, const Datum *values, const bool *nulls);
// One row given as text, each column read by its type's input function
// (BuildTupleFromCStrings()); a null pointer is NULL.
void put_cstrings(ReturnSetInfo *rsinfo, AttInMetadata *meta, char **values);
AttInMetadata *TupleDescGetAttInMetadata(TupleDesc desc);

} // namespace nextcrm::pg
