#include "document_source.hpp"

#include "bson_compat.hpp"
#include "error.hpp"
#include "options.hpp"

#include <zlib.h>

#include <cstdint>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

namespace nextcrm {

OwnedValue &OwnedValue::operator=(const OwnedValue &other) {
    if (this == &other)
        return *this;
    reset();
    if (other.set_) {
        bson_value_copy(&other.value_, &value_);
        set_ = true;
    }
    return *this;
}

void OwnedValue::reset() {
    if (set_)
        bson_value_destroy(&value_);
    set_ = false;
}

std::string gz_error(gzFile file, int *code) {
    const char *msg = gzerror(file, code);
    std::string text = msg && *msg ? msg : "read error";
    if (text.rfind("<fd:", 0) == 0) {
        std::size_t end = text.find(">: ");
        if (end != std::string::npos)
            text.erase(0, end + 3);
    }
    return text;
}

bool is_gzip_checksum_error(const std::string &error) {
    return error == "incorrect data check" || error == "incorrect length check";
}

bool is_checksum_failure(const std::string &damage) {
    return damage.find(checksum_failure_phrase) != std::string::npos;
}

void build_find(const QuerySpec &spec, bson_t *filter, bson_t *opts) {
    bool has_filter = spec.filter && !bson_empty(spec.filter.get());
    if (spec.resume_after_id.has_value()) {
        bson_t and_list, item, cond;
        append_array_begin(filter, "$and", -1, &and_list);
        if (has_filter)
            BSON_APPEND_DOCUMENT(&and_list, "0", spec.filter.get());
        BSON_APPEND_DOCUMENT_BEGIN(&and_list, has_filter ? "1" : "0", &item);
        BSON_APPEND_DOCUMENT_BEGIN(&item, "_id", &cond);
        BSON_APPEND_VALUE(&cond, "$gt", spec.resume_after_id.get());
        bson_append_document_end(&item, &cond);
        bson_append_document_end(&and_list, &item);
        bson_append_array_end(filter, &and_list);
    } else if (has_filter) {
        bson_concat(filter, spec.filter.get());
    }
    if (spec.projection && !bson_empty(spec.projection.get()))
        BSON_APPEND_DOCUMENT(opts, "projection", spec.projection.get());
    if (spec.resume_after_id.has_value()) {
        bson_t sort;
        BSON_APPEND_DOCUMENT_BEGIN(opts, "sort", &sort);
        BSON_APPEND_INT32(&sort, "_id", 1);
        bson_append_document_end(opts, &sort);
    } else if (spec.sort && !bson_empty(spec.sort.get())) {
        BSON_APPEND_DOCUMENT(opts, "sort", spec.sort.get());
    }
    if (spec.limit > 0)
        BSON_APPEND_INT64(opts, "limit", spec.limit);
    if (spec.skip > 0)
        BSON_APPEND_INT64(opts, "skip", spec.skip);
    if (spec.batch_size > 0)
        BSON_APPEND_INT32(opts, "batchSize", spec.batch_size);
    if (spec.max_time_ms > 0)
        BSON_APPEND_INT64(opts, "maxTimeMS", spec.max_time_ms);
}

MongoCursorSource::MongoCursorSource(mongoc_client_t *client, const std::string &database,
                                     const std::string &collection, const QuerySpec &spec)
    : collection_(collection),
      coll_(mongoc_client_get_collection(client, database.c_str(), collection.c_str())) {
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER;
    build_find(spec, &filter, &opts);
    cursor_.reset(mongoc_collection_find_with_opts(coll_.get(), &filter, &opts, nullptr));
    bson_destroy(&filter);
    bson_destroy(&opts);
}

const bson_t *MongoCursorSource::next() {
    if (done_)
        return nullptr;
    const bson_t *doc = nullptr;
    if (mongoc_cursor_next(cursor_.get(), &doc)) {
        ++count_;
        return doc;
    }
    done_ = true;
    bson_error_t err;
    if (mongoc_cursor_error(cursor_.get(), &err))
        throw Error(Message(NEXTCRM_MSG("MongoDB query on collection \"%s\" failed after %s "
                                        "documents: %s"),
                            collection_, std::to_string(count_), err.message),
                    sqlstate::fdw_error);
    return nullptr;
}

// The file behind a bson_reader_t: plain or gzip, read through zlib (which
// reads uncompressed files transparently).  Errors are remembered here
// because bson_reader reports them only as "no more documents".
struct DumpFileSource::Handle {
    gzFile file = nullptr;
    std::string error;
    std::int64_t bytes = 0; // uncompressed bytes handed to the reader
};

namespace {

ssize_t read_handle(void *handle, void *buf, size_t count) {
    auto *h = static_cast<DumpFileSource::Handle *>(handle);
    int n = gzread(h->file, buf, static_cast<unsigned>(count));
    if (n < 0) {
        int code = 0;
        std::string msg = gz_error(h->file, &code);
        h->error = msg;
        return -1;
    }
    if (n == 0) {
        int code = 0;
        std::string msg = gz_error(h->file, &code);
        if (code != Z_OK && code != Z_STREAM_END)
            h->error = msg;
    }
    h->bytes += n;
    return n;
}

void destroy_handle(void *) {} // the Handle is owned by DumpFileSource

} // namespace

namespace {

// zlib over an open descriptor (it reads a file that is not gzip as it
// is); the descriptor is zlib's from here on.
gzFile gz_over(Fd file, const std::string &path) {
    gzFile gz = gzdopen(file.get(), "rb");
    if (!gz)
        throw Error(Message(NEXTCRM_MSG("could not read dump file \"%s\": out of memory"), path),
                    sqlstate::insufficient_resources);
    file.release();
    return gz;
}

} // namespace

DumpFileSource::DumpFileSource(const std::string &path)
    : DumpFileSource(open_regular_file(path, RegularFile::dump_file), path) {}

DumpFileSource::DumpFileSource(Fd file, const std::string &path)
    : path_(path), handle_(std::make_unique<Handle>()) {
    handle_->file = gz_over(std::move(file), path);
    gzbuffer(handle_->file, 1 << 17);
    reader_ = bson_reader_new_from_handle(handle_.get(), read_handle, destroy_handle);
}

DumpFileSource::~DumpFileSource() {
    if (reader_)
        bson_reader_destroy(reader_);
    if (handle_->file)
        gzclose(handle_->file);
}

const bson_t *DumpFileSource::next() {
    if (done_)
        return nullptr;
    bool eof = false;
    const bson_t *doc = bson_reader_read(reader_, &eof);
    if (!doc) {
        done_ = true;
        // Where the damage starts: the end of the last whole document, as
        // a byte offset into the file's (uncompressed) BSON stream.
        std::string at = std::to_string(bson_reader_tell(reader_));
        std::string count = std::to_string(count_);
        if (is_gzip_checksum_error(handle_->error))
            // "checksum" is checksum_failure_phrase, which is_checksum_failure()
            // finds in the untranslated text.
            throw Error(Message(NEXTCRM_MSG("dump file \"%s\" fails its gzip checksum after %s "
                                            "documents (at byte %s): %s"),
                                path_, count, at, handle_->error),
                        sqlstate::data_corrupted,
                        "The checksum covers every document of the file, so none of them can "
                        "be trusted.");
        if (!handle_->error.empty())
            throw Error(Message(NEXTCRM_MSG("could not read dump file \"%s\" after %s documents "
                                            "(at byte %s): %s"),
                                path_, count, at, handle_->error),
                        sqlstate::fdw_error);
        // bson_reader reports a file that ends inside a document as a
        // clean end: compare what it consumed with what the file held.
        if (!eof || static_cast<std::int64_t>(bson_reader_tell(reader_)) != handle_->bytes)
            throw Error(Message(NEXTCRM_MSG("dump file \"%s\" is truncated or corrupt after %s "
                                            "documents (at byte %s)"),
                                path_, count, at),
                        sqlstate::fdw_error);
        return nullptr;
    }
    // A document whose length prefix holds is passed on even when its
    // elements are malformed: the reader after it is still in step, and
    // each consumer reports the one document (check_document() in
    // bson_check.hpp) instead of stopping the whole collection here.
    // (bson_validate() would also recurse without bound.)
    ++count_;
    return doc;
}

std::int64_t count_dump_documents(const std::string &path, const std::function<void()> &tick) {
    return count_dump_documents(open_regular_file(path, RegularFile::dump_file), path, tick);
}

std::int64_t count_dump_documents(Fd fd, const std::string &path,
                                  const std::function<void()> &tick) {
    // zlib reads plain files as they are, so one loop serves .bson and
    // .bson.gz alike.  Bodies are read, not sought past, so a file cut short
    // is noticed.
    std::unique_ptr<gzFile_s, int (*)(gzFile)> file(gz_over(std::move(fd), path), gzclose);
    gzbuffer(file.get(), 1 << 20);
    std::vector<char> body;
    std::int64_t n = 0;
    for (;;) {
        // The caller's interrupt check: a big dump takes a while to walk.
        if (tick && (n & 1023) == 0)
            tick();
        unsigned char prefix[4];
        int got = gzread(file.get(), prefix, 4);
        if (got == 0)
            break;
        std::int64_t length = prefix[0] | prefix[1] << 8 | prefix[2] << 16 |
                              static_cast<std::int64_t>(prefix[3]) << 24;
        // 16 MB is MongoDB's limit; twice that is certainly not a document.
        bool ok = got == 4 && length >= 5 && length <= (32 << 20);
        if (ok) {
            body.resize(static_cast<std::size_t>(length - 4));
            ok = gzread(file.get(), body.data(), static_cast<unsigned>(body.size())) ==
                 static_cast<int>(body.size());
        }
        if (!ok)
            throw Error(Message(NEXTCRM_MSG("%s is truncated or corrupt after %s documents"), path,
                                std::to_string(n)),
                        sqlstate::fdw_error);
        ++n;
    }
    return n;
}

} // namespace nextcrm
