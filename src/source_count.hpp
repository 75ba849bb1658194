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
    bool damaged = false;    // the file ends inside a frame or holds an impossible length
};

// A dump folder: every file named <collection>.bson or <collection>.bson.gz
// in the folder itself or in its subfolder named by the "database" option
// (any subfolder without it), each walked by its BSON length prefixes alone.
// A live server: countDocuments.  Nothing for an archive (its blocks are
// not walked here).
std::vector<IndependentCount> independent_counts(const SourceOptions &opts, Client *client,
                                                 const std::string &collection);

} // namespace nextcrm
