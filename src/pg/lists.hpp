// Lists (nodes/pg_list.h): appending allocates, so it is behind the wall.
#pragma once

#include "pg_wall.hpp"

extern "C" {
#include "nodes/pg_list.h"
}

namespace nextcrm::pg {

List *lappend(List *list, void *datum);

} // namespace nextcrm::pg
