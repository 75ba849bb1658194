// A mongodump archive read in one pass: each collection's documents go to a
// spool of their own, read back when the collection is migrated.
//
// PostgreSQL-free.  Why: the archive interleaves blocks of all collections
// in whatever order mongodump flushed them, while the migration reads one
// collection at a time in dependency order.  Reading a collection straight
// from the archive (ArchiveCollectionSource) re-reads (and re-inflates) the
// whole archive for every collection.  The walk here reads it once: it
// counts every collection (as count_archive_documents does) and writes each
// collection's documents, byte for byte, to a Spool the caller provides
// (PostgreSQL's temporary files in the backend, memory in the unit tests).
// Memory stays one document whatever the archive's size.
//
// What a collection's reader sees is what ArchiveCollectionSource would
// have returned and thrown: the same documents in the same order (each
// validated and covered by its collection's CRC-64 during the walk), then
// the same error, if any, with the same message and detail.  The walk
// records, for each collection, the documents spooled before its failure
// and the failure itself; see demux_archive() for how damage is shared out.
#pragma once

#include "document_source.hpp"
#include "error.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace nextcrm {

// Where one collection's documents are kept between the walk and the read.
// Written once, front to back, then read (any number of times).  Either
// may throw (a full disk, a size limit): the walk lets it through.
class Spool {
  public:
    virtual ~Spool() = default;
    virtual void append(const std::uint8_t *data, std::size_t n) = 0;
    // Up to n bytes from byte `offset`; fewer only at the end of what was
    // appended.
    virtual std::size_t read(std::int64_t offset, std::uint8_t *into, std::size_t n) = 0;
};

using SpoolMaker = std::function<std::unique_ptr<Spool>()>;

// One collection of the archive's database, as the walk left it.
struct DemuxedCollection {
    std::shared_ptr<Spool> spool; // null when nothing was spooled
    std::int64_t documents = 0;   // documents spooled
    // Thrown once the spooled documents have been read; none: they are all.
    std::optional<Error> failure;
};

struct DemuxedArchive {
    // Every collection the prelude lists for the database, and every one a
    // block names under it.
    std::map<std::string, DemuxedCollection> collections;
    // What count_archive_documents() returns, or the error it throws.
    std::map<std::string, std::int64_t> counts;
    std::optional<Error> count_failure;
    // Entries in blocks of mongodump --oplog's namespace ("oplog" of no
    // database), read past.  With no count_failure, none means a read of
    // the archive's oplog would find no entry: Dump need not read the whole
    // archive again (inflate it again, when gzipped) to know it.
    std::int64_t oplog_entries = 0;
};

// Walks the archive at `path` once for database `db`.  An archive that
// cannot be opened or whose prelude is damaged is thrown (as the reader's
// constructor throws it); damage further on is recorded per collection.
// `between` is called every 1024 documents.  Whatever `make` or a spool
// throws, or `between` throws, ends the walk and is thrown.
std::shared_ptr<const DemuxedArchive> demux_archive(const std::string &path, const std::string &db,
                                                    const SpoolMaker &make,
                                                    const std::function<void()> &between);

// The documents one collection's spool holds, then its failure.
class SpooledCollectionSource : public DocumentSource {
  public:
    SpooledCollectionSource(std::shared_ptr<const DemuxedArchive> archive,
                            const std::string &collection);
    const bson_t *next() override;

  private:
    // Makes at least n bytes from pos_ available in buf_; false at the end.
    bool fill(std::size_t n);

    std::shared_ptr<const DemuxedArchive> archive_;
    const DemuxedCollection *collection_ = nullptr;
    std::vector<std::uint8_t> buf_;
    std::size_t at_ = 0, end_ = 0; // unread bytes of buf_
    std::int64_t read_to_ = 0;     // spool offset of buf_[end_]
    bool done_ = false;
    bson_t doc_;
};

// Archive spooling for every Dump of this process: when a maker is set,
// Dump reads an archive's collections through demux_archive(), one walk per
// archive (kept while the file's identity stays the same), instead of one
// pass over the archive per collection.  An empty maker turns it off.
void set_archive_spooling(SpoolMaker make);
bool archive_spooling() noexcept;
// The archive's walk for `db` (`key` names the archive as it is: path,
// size, time, inode), made on first use and kept until another key is asked
// for or release_archive_spools() is called.
std::shared_ptr<const DemuxedArchive> spooled_archive(const std::string &key,
                                                      const std::string &path,
                                                      const std::string &db,
                                                      const std::function<void()> &between);
// The kept walk when it is the one of `key`, else null; never walks.
std::shared_ptr<const DemuxedArchive> kept_archive_walk(const std::string &key);
// Drops the kept walk (its spools go when the last reader of them does).
void release_archive_spools() noexcept;

} // namespace nextcrm
