// Tuple slots and EXPLAIN output (executor/tuptable.h, commands/explain.h),
// each call behind the wall: an ERROR becomes PgException.
#pragma once

#include "pg_wall.hpp"

extern "C" {
#include "commands/explain.h"
#include "executor/tuptable.h"
// 18 moved the ExplainProperty* functions to explain_format.h.
#if PG_VERSION_NUM >= 180000
#include "commands/explain_format.h"
#endif
}

namespace nextcrm::pg {

TupleTableSlot *ExecClearTuple(TupleTableSlot *slot);
// Marks the slot's tts_values/tts_isnull, filled by the caller, as its tuple.
TupleTableSlot *ExecStoreVirtualTuple(TupleTableSlot *slot);
void ExplainPropertyText(const char *label, const char *value, ExplainState *es);

} // namespace nextcrm::pg
