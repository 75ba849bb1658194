// The target's non-unique B-tree indexes on fixed-length columns (the
// foreign keys' uuid columns, timestamps, enums) are built after the load, as
// pg_restore builds a dump's: maintained row by row, each batch's INSERT pays
// a B-tree descent per index and row into indexes that outgrow shared
// buffers; built once from the loaded table, each is one sort.  Every index
// that can refuse a row stays (unique ones, and those on text or
// expressions, whose entries can be too large), so each row is refused in
// its batch exactly as before.
#pragma once

#include <string>
#include <vector>

namespace nextcrm {

// nextcrm_mongo_fdw.defer_indexes: whether a run defers them (on by default).
bool defer_indexes_enabled();

// Records the definition of every such index of the given tables (of
// the target schema) in nextcrm_migration.deferred_index and drops it, in the
// caller's transaction (SPI connected), so the batches that follow do not
// maintain it.  An index PostgreSQL could not recreate exactly from its
// definition (one with a comment, in a tablespace of its own, or serving a
// constraint) is left in place, as is one the running role does not own.
// Returns how many were dropped.
int defer_indexes(const std::vector<std::string> &tables);

// Builds one index recorded by defer_indexes() and forgets it, in the
// caller's transaction (SPI connected).  Returns false when none is left.
bool build_deferred_index();

} // namespace nextcrm
