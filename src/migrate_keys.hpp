// The target's foreign keys are added after the load, as pg_restore adds a
// dump's: live during the batches, every inserted row fires a check (an SPI
// query per row and key); added afterwards, each is one validating join over
// the loaded table.  Only a key the batch's own reference check decides is
// dropped (a mapped reference or lookup column: a dangling id becomes a repair
// row or the document's error before the INSERT), so adding it back refuses
// nothing a live key would have refused, and PostgreSQL has still checked
// every row (the key comes back validated).
#pragma once

#include <string>
#include <vector>

extern "C" {
#include "postgres.h"

#include "utils/elog.h"
}

namespace nextcrm {

class Mapping;

// nextcrm_mongo_fdw.defer_foreign_keys: whether a run defers them (on by
// default).
bool defer_foreign_keys_enabled();

// A key recorded by defer_foreign_keys(): its table and name.
struct DeferredKey {
    std::string table, name;
};

// Records the definition of every such key of the given collections' tables
// (of the target schema) in nextcrm_migration.deferred_constraint and drops
// it, in the caller's transaction (SPI connected).  A key that is not valid
// (a user's NOT VALID key), has a comment, belongs to a partition's parent,
// is on a table the running role does not own, or references a column it may
// not reference (it could not add the key back) stays in place.  A key
// already recorded is recorded again with its definition now.  Returns how
// many were dropped.
int defer_foreign_keys(const Mapping &mapping, const std::vector<std::string> &collections);

// The same for the junction tables' keys to the two models each pairs (the
// same conditions), for build_junctions(), which adds them back in its own
// transaction.  Returns the keys dropped.
std::vector<DeferredKey> defer_junction_keys(const Mapping &mapping);

// The recorded keys, in the order they are added back.
std::vector<DeferredKey> deferred_foreign_keys();

// Adds one recorded key back and forgets it, in the caller's transaction (SPI
// connected).  When a row violates it (class 23: someone wrote into the target
// between two runs) nothing changes, the key stays recorded, and the error is
// returned, allocated in TopMemoryContext with a hint saying what to do; any
// other error propagates.  A key the table already has again (the same
// definition, validated) is only forgotten.  Returns nullptr when the key was
// added (or is no longer recorded, or was there).
ErrorData *add_deferred_foreign_key(const DeferredKey &key);

} // namespace nextcrm
