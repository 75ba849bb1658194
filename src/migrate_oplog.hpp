// A mongodump --oplog backup's oplog in the migration (core/oplog_apply.hpp
// says how its entries are applied): the collections' documents are read
// with it replayed over them, each entry's outcome is recorded in
// nextcrm_migration.oplog_applied with the batch that reads its document, and
// the end of the run records the entries no collection applies.
#pragma once

#include "pg_wall.hpp"

#include "core/mapping.hpp"
#include "core/mongodump.hpp"
#include "core/oplog_apply.hpp"

#include <memory>
#include <string>
#include <vector>

namespace nextcrm {

// The dump's oplog entries on its database; nullptr when it has none.  Read
// once per oplog file (kept while its size, time and inode stay the same):
// every collection of a run asks for it.
std::shared_ptr<const OplogReplay> dump_oplog(const Dump &dump);

// `source` (a collection of `dump`, possibly nullptr when the dump lacks it)
// with the dump's oplog replayed over it; `source` itself when the oplog has
// no entry on the database.
std::unique_ptr<DocumentSource> with_oplog(const Dump &dump, std::unique_ptr<DocumentSource> source,
                                           const std::string &collection);

// Writes entries' outcomes (the batch that read their documents); an entry
// recorded before (a retried document) takes its new outcome.  Needs SPI.
void record_oplog(const std::vector<OplogRecord> &records, int batch);

// At the end of a run whose collections are all done: records the entries
// no collection applied -- failed: commands, entries without an _id, parts
// of a transaction spread over several entries; skipped: entries on
// collections the profile does not map -- and returns what the run's record says of the oplog
// ("oplog: N operations on database "db": A applied, F failed, S skipped"),
// empty when the dump has none.  Needs SPI.
std::string finish_oplog(const Mapping &mapping, const SourceOptions &opts);

} // namespace nextcrm
