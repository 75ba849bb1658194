// What a mongodump source holds, said before a migration starts.
#pragma once

#include "pg_wall.hpp"

namespace nextcrm {

// For a dump_dir or archive server: resolves the backup (an ERROR naming the
// path when it is missing, of the wrong kind, unreadable or a symlink loop,
// or naming both files when a collection is both .bson and .bson.gz), then
// one NOTICE each for the profile's collections the dump does not hold
// (absent, which is not empty), for the collections it skips (views,
// system.*, time-series, oplog), for those whose documents are missing or
// unreadable, and for the collections the profile does not map.  Does
// nothing for a live server.
void check_dump_source(Oid serverid, const class Profile &profile);

} // namespace nextcrm
