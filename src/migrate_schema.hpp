// The target schema: created from the profile's migrations when the database
// has none of its tables, checked against the profile's mapping in any case.
#pragma once

#include "core/profile.hpp"

namespace nextcrm {

// Needs a transaction with SPI connected.
void ensure_target_schema(const Profile &profile);

} // namespace nextcrm
