// Documents per namespace of a mongodump archive, counted without the
// reader that migrates it (mongodump_archive.hpp), for the validator's
// independent count (source_count.hpp).
//
// Why a walk and not the archive's own figures: the archive carries no
// count.  Its prelude lists each collection with its metadata (indexes,
// uuid, type) and a "size" that mongodump writes as 0 (mongo-tools
// 100.18.0, the fixtures in test/fixtures/mongodump); a block header names
// a namespace and, at its end-of-data header, the CRC of its bytes, not
// how many documents they were.  So the independent source is a second,
// minimal walker: the magic number, the prelude's frames to their
// terminator, then each block's header (db, collection, EOF) and its
// documents by their length prefixes alone, to the block's terminator.  A
// document is counted for the namespace of the header before it, wherever
// it lies -- after its collection's end-of-data header too -- so a reader
// that stops at that header, passes over a collection (its prelude entry
// calling it a view) or takes a block for another collection's counts
// fewer than the walk.  Nothing is validated beyond the lengths and the
// headers' names: what a document holds is the reader's business.
// PostgreSQL-free.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace nextcrm {

struct ArchiveNamespaceCount {
    std::string db, collection;
    std::int64_t documents = 0;
    bool listed = false;    // the prelude lists it
    bool in_blocks = false; // a block's header names it
    bool closed = false;    // its end-of-data header was walked past
    // The walk ended at damage before its end-of-data header, or a block
    // names its collection under a database the prelude does not list (a
    // header that lies about its database: which count is the reader's
    // cannot be known, and the reader reads only the prelude's).
    bool damaged = false;
};

struct ArchiveWalk {
    // Namespaces in the order the prelude lists them, then those only
    // blocks name, in the order of their first block.
    std::vector<ArchiveNamespaceCount> namespaces;
    std::string damage; // why the walk ended early (empty: read to its end)
};

// Walks the archive at `path` (plain or gzip, decided by its bytes);
// `between` is called every 1024 frames.  A file that cannot be opened is
// an Error; damage ends the walk and is reported in the result.
ArchiveWalk walk_archive(const std::string &path, const std::function<void()> &between);

} // namespace nextcrm
