// Where documents come from: a live MongoDB cursor or a mongodump file.
//
// PostgreSQL-free.  The foreign scan and the migration engine both read
// through DocumentSource::next(), which returns the next document (valid
// until the following call) or nullptr at the end, and throws nextcrm::Error
// when the source fails: a server error, a timeout, a truncated or corrupt
// file.  A failure is never reported as the end of the data.
//
// Neither implementation calls back into the caller: to stay interruptible,
// call next() in a loop and check for interrupts between documents.
#pragma once

#include "dump_path.hpp"
#include "mongo_client.hpp"

#include <bson/bson.h>

#include <cstdint>
#include <memory>
#include <functional>
#include <string>
#include <vector>

struct gzFile_s;

namespace nextcrm {

class DocumentSource {
  public:
    virtual ~DocumentSource() = default;
    // The next document, or nullptr once the source is exhausted.  Throws on
    // any failure.
    virtual const bson_t *next() = 0;
    // Documents returned so far.
    std::int64_t count() const noexcept { return count_; }

  protected:
    std::int64_t count_ = 0;
};

// A value owned by C++ (a copy of a bson_value_t).
class OwnedValue {
  public:
    OwnedValue() = default;
    explicit OwnedValue(const bson_value_t *v) { bson_value_copy(v, &value_), set_ = true; }
    OwnedValue(const OwnedValue &other) : OwnedValue() { *this = other; }
    OwnedValue &operator=(const OwnedValue &other);
    ~OwnedValue() { reset(); }
    void reset();
    bool has_value() const noexcept { return set_; }
    const bson_value_t *get() const noexcept { return set_ ? &value_ : nullptr; }

  private:
    bson_value_t value_{};
    bool set_ = false;
};

// What to ask a live server for.  Empty filter/projection/sort mean none.
struct QuerySpec {
    BsonPtr filter;
    BsonPtr projection;
    BsonPtr sort;
    std::int64_t limit = 0; // 0: no limit
    std::int64_t skip = 0;
    std::int32_t batch_size = 1000;
    std::int64_t max_time_ms = 0; // server-side limit on the cursor; 0: none
    // Resume after this _id: adds {_id: {$gt: value}} to the filter and sorts
    // by _id ascending (any other sort is replaced).
    OwnedValue resume_after_id;
};

// The find command a QuerySpec turns into: the effective filter and the
// options document (projection, sort, limit, skip, batchSize, maxTimeMS).
void build_find(const QuerySpec &spec, bson_t *filter, bson_t *opts);

// A find cursor on one collection of a live server.  The client must outlive
// the source.  After the last document, a cursor error is thrown.
class MongoCursorSource : public DocumentSource {
  public:
    MongoCursorSource(mongoc_client_t *client, const std::string &database,
                      const std::string &collection, const QuerySpec &spec);
    const bson_t *next() override;

  private:
    std::string collection_;
    CollectionPtr coll_;
    CursorPtr cursor_;
    bool done_ = false;
};

// Reads <dir>/<collection>.bson or <dir>/<collection>.bson.gz in file order.
// Every document is validated; a short or corrupt file is an error.
class DumpFileSource : public DocumentSource {
  public:
    // Reads the open regular file `file` (core/dump_path.hpp); `path` names
    // it in errors.
    DumpFileSource(Fd file, const std::string &path);
    // Opens `path` itself (a file named by a privileged role, or a test's).
    explicit DumpFileSource(const std::string &path);
    ~DumpFileSource() override;
    const bson_t *next() override;

    struct Handle; // the (possibly gzip) file behind the reader

  private:
    std::string path_;
    std::unique_ptr<Handle> handle_;
    bson_reader_t *reader_ = nullptr;
    bool done_ = false;
};

// zlib's error message for `file` without the "<fd:N>: " it puts first
// for a file opened from a descriptor; *code gets its error code.
std::string gz_error(gzFile_s *file, int *code);
// Whether a zlib error message says a gzip member's trailer (its CRC-32 or
// length) does not match what was inflated.
bool is_gzip_checksum_error(const std::string &error);

// A dump's checksum (an archive collection's CRC-64, a .bson.gz file's
// CRC-32) is checked after the last document it covers has been read, so
// when it fails every document already read is suspect, not only those
// after some point.  The error says so with this phrase, and
// is_checksum_failure() recognises such an error's message: the migration
// keeps nothing of a collection whose checksum failed.
inline constexpr const char *checksum_failure_phrase = "checksum";
bool is_checksum_failure(const std::string &damage);

// Documents in a dump file, counted by walking the documents' length prefixes
// (nothing is parsed); a file that does not end on a document boundary is an
// error.  tick, when given, is called every 1024 documents (the caller's
// interrupt check; whatever it throws ends the count).
std::int64_t count_dump_documents(Fd file, const std::string &path,
                                  const std::function<void()> &tick = {});
std::int64_t count_dump_documents(const std::string &path, const std::function<void()> &tick = {});

} // namespace nextcrm
