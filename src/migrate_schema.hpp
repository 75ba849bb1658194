// The target schema: created from the Prisma migrations bundled into the
// module when the database has none, checked against the mapping otherwise.
#pragma once

#include "core/mapping.hpp"

namespace nextcrm {

// Needs a transaction with SPI connected.
void ensure_target_schema(const Mapping &mapping);

} // namespace nextcrm
