#include "pg/lists.hpp"

namespace nextcrm::pg {

List *lappend(List *list, void *datum) {
    return pg_call([list, datum] { return ::lappend(list, datum); });
}

} // namespace nextcrm::pg
