// A mongodump backup as a source: which collections it holds and where
// their documents are, whatever shape mongodump wrote it in.
//
// PostgreSQL-free.  The shapes (server options in brackets):
//   a database folder          [dump_dir]  <collection>.bson[.gz] + .metadata.json[.gz]
//   a whole-server dump        [dump_dir, database]  prelude.json + <database>/...
//   an archive                 [archive, database]  mongodump --archive
//   a gzip-compressed archive  [archive, database]  mongodump --archive --gzip
// gzip is recognised from a file's bytes, never from its name.
//
// A collection's name comes from its metadata where there is metadata
// (mongodump escapes some names in file names), otherwise from the file
// name.  Views, time-series collections (and their system.buckets.*),
// system.* collections and oplog.bson hold no NextCRM data: they are listed
// as skipped, with the reason, and never read as collections.  The oplog of
// a whole-server dump (mongodump --oplog) is recognised as what it is:
// oplog_entries() says how many of its entries change the database read.
#pragma once

#include "document_source.hpp"
#include "dump_path.hpp"
#include "options.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace nextcrm {

struct DemuxedArchive;

struct DumpEntry {
    enum class State {
        Ready,       // has documents to read
        Skipped,     // not data (view, system collection, ...): `reason` says which
        NoDocuments, // metadata says it exists, its documents are missing
        Unusable,    // its file cannot be read as one (directory, loop, unreadable)
        Ambiguous,   // both <name>.bson and <name>.bson.gz
    };
    std::string name;
    State state = State::Ready;
    std::string file;   // the documents' file (a dump folder); the archive's path otherwise
    std::string reason; // why it is not Ready, as a full sentence
    // The documents' file name inside the folder (empty for an archive),
    // and the SQLSTATE of the error when it is Unusable.
    std::string file_name;
    const char *sqlstate = nullptr;
};

class Dump {
  public:
    // Resolves the server's dump_dir or archive (and database).  Throws an
    // Error naming the path when it does not exist, is not a directory (a
    // file), cannot be read or is a symlink loop, and naming the databases
    // present when a whole-server dump or archive holds several and
    // `database` picks none of them.  `between` is called every 1024
    // documents an archive source reads past (another collection's), so
    // that a long stretch without a document of its own stays
    // interruptible.
    Dump(const SourceOptions &opts, std::function<void()> between);

    // Every collection found (skipped ones included), sorted by name.
    const std::vector<DumpEntry> &entries() const noexcept { return entries_; }
    // The entry of one collection, or nullptr when the dump has none.
    const DumpEntry *find(const std::string &collection) const;
    // Whether the dump holds the collection: an entry, or (in an archive)
    // blocks of it that the prelude does not list (false when a damaged
    // archive cannot be counted: reading the collection says why).
    bool holds(const std::string &collection) const;
    // The names of the collections that hold (or should hold) documents:
    // everything but the skipped ones.
    std::vector<std::string> collections() const;

    // The collection's documents in file order; nullptr when the dump does
    // not hold the collection (absent or skipped).  Throws an Error with the
    // reason when its file is unusable or ambiguous or its documents are
    // missing; the returned source throws on damage.
    std::unique_ptr<DocumentSource> open(const std::string &collection) const;

    // Documents of a collection (0 when absent), counted by reading them;
    // `between` is called every 1024 documents (to check for interrupts).
    std::int64_t count(const std::string &collection, const std::function<void()> &between) const;

    // Entries of the dump's oplog (mongodump --oplog: oplog.bson beside a
    // whole-server dump's folders, or the archive's namespace "oplog" of no
    // database) that change database() -- inserts, updates, deletes and
    // commands, those inside a transaction's applyOps included; no-ops are
    // not counted.  0 when the dump has no oplog.  Reads the whole oplog;
    // damage is an Error naming the file.
    std::int64_t oplog_entries() const;
    // Calls fn with every entry of the dump's oplog, in order (nothing when
    // there is none); damage is an Error naming the file.
    void for_each_oplog_entry(const std::function<void(const bson_t *)> &fn) const;
    // Where the oplog is (empty when there is none).
    const std::string &oplog_location() const noexcept { return oplog_shown_; }

    // The folder or archive the collections are read from.
    const std::string &location() const noexcept { return location_; }
    bool is_archive() const noexcept { return archive_; }
    const std::string &database() const noexcept { return database_; }

  private:
    void read_folder(const std::string &dir);
    // The folder's file `name`, opened as core/dump_path.hpp says.
    Fd open_file(const std::string &name, const std::string &shown) const;
    void read_archive(const std::string &path, const std::string &database);
    // Documents per collection of the archive's database, counted from its
    // blocks (whatever its prelude lists); kept for the archive as it is.
    const std::map<std::string, std::int64_t> &archive_counts() const;
    // The archive's identity as it is now (path, database, size, time,
    // inode): a walk is kept while it stays the same.
    std::string archive_key() const;
    // The one walk that spools every collection (core/archive_demux.hpp).
    std::shared_ptr<const DemuxedArchive> archive_walk() const;
    // Whether the kept walk of this archive, as it is now, says that it
    // holds no oplog entry (never walks).
    bool no_oplog_in_kept_walk() const;
    // A collection of the archive: read from its spool when spooling is on,
    // from the archive itself otherwise.
    std::unique_ptr<DocumentSource> open_archive_collection(const std::string &collection) const;

    std::vector<DumpEntry> entries_;
    // The folder the collections' files are in (a database's folder in a
    // whole-server dump): every file is opened relative to it.
    std::shared_ptr<Fd> dir_;
    // A whole-server dump's top folder and its oplog file's name, if any.
    std::shared_ptr<Fd> top_;
    std::string oplog_name_, oplog_shown_;
    std::string location_;
    std::string database_;
    bool archive_ = false;
    std::function<void()> between_;
};

// How many operations on database `db` one oplog entry holds: 1 for an
// insert, update, delete or command on it, the count of its operations on
// `db` for an applyOps (a transaction), 0 otherwise (a no-op, another
// database).
std::int64_t oplog_entries_for(const bson_t *entry, const std::string &db);

// Checks a dump_dir or archive option's value when the server is created or
// altered: throws an Error naming the path when it does not exist, is of the
// wrong kind (a file for dump_dir, a directory for archive), cannot be read
// or is a symlink loop.
void check_dump_location(const std::string &option, const std::string &path);

} // namespace nextcrm
