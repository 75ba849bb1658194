#include "pg/executor.hpp"

namespace nextcrm::pg {

TupleTableSlot *ExecClearTuple(TupleTableSlot *slot) {
    return pg_call([slot] { return ::ExecClearTuple(slot); });
}

TupleTableSlot *ExecStoreVirtualTuple(TupleTableSlot *slot) {
    return pg_call([slot] { return ::ExecStoreVirtualTuple(slot); });
}

void ExplainPropertyText(const char *label, const char *value, ExplainState *es) {
    pg_call([label, value, es] { ::ExplainPropertyText(label, value, es); });
}

} // namespace nextcrm::pg
