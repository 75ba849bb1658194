// Reading a mongodump archive (`mongodump --archive`, plain or `--gzip`).
//
// PostgreSQL-free.  The format, as mongo-tools writes it: a magic number,
// a prelude (one header document, one metadata document per collection, a
// terminator), then blocks until the end of the file.  A block is a
// namespace header document {db, collection, EOF, CRC}, then that
// collection's documents, then a terminator (0xFFFFFFFF).  A header with
// EOF true has no documents: it closes the namespace and carries the
// CRC-64 (ECMA) of all of its documents' bytes.  Blocks of different
// collections are interleaved in whatever order mongodump's parallel
// writers flushed them.
//
// Everything is streamed: memory holds one document at a time whatever the
// archive's size.  Compression is detected from the bytes (zlib reads a
// plain file as it is).
#pragma once

#include "document_source.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace nextcrm {

// One collection as the archive's prelude describes it.
struct ArchiveCollection {
    std::string db;
    std::string collection;
    std::string type; // "", "collection", "view", "timeseries"
};

// The low-level reader: the prelude, then blocks and their documents.
class ArchiveReader {
  public:
    // Opens the file and reads its prelude.  Throws nextcrm::Error naming the
    // path when it cannot be opened or is not a mongodump archive.
    explicit ArchiveReader(const std::string &path);
    ~ArchiveReader();
    ArchiveReader(const ArchiveReader &) = delete;
    ArchiveReader &operator=(const ArchiveReader &) = delete;

    const std::vector<ArchiveCollection> &prelude() const noexcept { return prelude_; }
    const std::string &path() const noexcept { return path_; }

    struct Block {
        std::string db;
        std::string collection;
        bool eof = false;
        std::uint64_t crc = 0; // meaningful when eof
    };
    // Reads the next block header; false at a clean end of the archive.
    // The previous block must have been read to its terminator.
    bool next_block(Block *block);
    // The next document of the current block (valid until the next call),
    // or nullptr at the block's terminator.  The document is not validated.
    const std::uint8_t *next_document(std::uint32_t *length);

    // Uncompressed bytes consumed so far: the offset of the next read.
    std::int64_t offset() const noexcept { return offset_; }

    // Throws an Error about damage at the current offset.
    [[noreturn]] void fail(const std::string &what) const;
    // Throws the Error for a zlib read error (a checksum failure says so).
    [[noreturn]] void read_failed(const std::string &zlib_message) const;

    struct File;

  private:
    // Reads a length prefix: the terminator, or a document into buf_.
    // Returns false for the terminator; at the end of the file, sets *at_end
    // when at_end is given and throws otherwise.
    bool read_document_or_terminator(bool *at_end);
    void read_exact(void *into, std::size_t n);

    std::string path_;
    std::unique_ptr<File> file_;
    std::vector<ArchiveCollection> prelude_;
    std::vector<std::uint8_t> buf_;
    std::uint32_t length_ = 0;
    std::int64_t offset_ = 0;
    bool in_block_ = false;
};

// The documents of one collection of an archive, in archive order.  Other
// collections' blocks are read past.  Every document is validated, and the
// collection's end-of-data header must come and match the CRC of what was
// read; a truncated or corrupt archive is an Error naming the file, the
// byte offset and the documents read.  mongodump writes nothing of a
// collection after its end-of-data header, but an archive may hold more
// (archives joined, a writer gone wrong): the rest of the archive is read,
// and documents of the collection in later blocks are returned too, so that
// each document the archive holds is migrated or reported, as counting them
// counts them.  Damage after the end-of-data header ends the collection
// there: what its CRC covered is whole.
class ArchiveCollectionSource : public DocumentSource {
  public:
    // `between` (may be empty) is called every 1024 documents read past.
    ArchiveCollectionSource(const std::string &path, const std::string &db,
                            const std::string &collection, std::function<void()> between = {});
    const bson_t *next() override;

  private:
    [[noreturn]] void damaged(const std::string &what) const;

    ArchiveReader reader_;
    std::string db_, collection_;
    bool in_ours_ = false;
    bool done_ = false;
    bool closed_ = false; // its end-of-data header was read
    std::uint64_t crc_ = 0;
    std::int64_t passed_ = 0;
    std::function<void()> between_;
    bson_t doc_;
};

// Documents per collection of database `db` in one pass over the archive
// (lengths walked, nothing parsed); `between` is called every 1024
// documents.  Damage is an Error as for ArchiveCollectionSource.
std::map<std::string, std::int64_t> count_archive_documents(const std::string &path,
                                                            const std::string &db,
                                                            const std::function<void()> &between);

// CRC-64 with the ECMA polynomial, as Go's hash/crc64 computes it
// (reflected, initial and final value all ones): `crc` is the value so far
// (0 to start).
std::uint64_t crc64_ecma(std::uint64_t crc, const std::uint8_t *data, std::size_t n);

} // namespace nextcrm
