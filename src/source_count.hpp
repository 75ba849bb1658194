// How many documents the source holds for a collection, counted without the
// migration's reader, so that a reader that misreads a dump's layout (a
// whole-server folder taken for one database's) or passes over a file
// cannot make the migration and the validator agree on nothing.
#pragma once

#include "core/options.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace nextcrm {

class Client;

struct IndependentCount {
    std::string where;       // a file of the dump, or the server's count
    std::int64_t documents;  // frames walked by their length prefixes, or countDocuments
    std::int64_t bytes = -1; // the file's size (-1 for a live server)
    // The file ends inside a frame or holds an impossible length (an
    // archive: before the collection's end-of-data header).
    bool damaged = false;
};

// A dump folder: every file named <collection>.bson or <collection>.bson.gz
// in the folder itself or in its subfolder named by the "database" option
// (any subfolder without it), each walked by its BSON length prefixes alone.
// An archive: the collection's documents in the archive's blocks, walked by
// their length prefixes and namespace headers (core/archive_count.hpp), one
// count per database holding the collection (the "database" option's only,
// when given).  A live server: countDocuments.
std::vector<IndependentCount> independent_counts(const SourceOptions &opts, Client *client,
                                                 const std::string &collection);

} // namespace nextcrm
