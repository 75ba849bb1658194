#include "archive_count.hpp"

#include "document_source.hpp"
#include "dump_path.hpp"
#include "error.hpp"

#include <bson/bson.h>
#include <zlib.h>

#include <algorithm>
#include <memory>
#include <set>

namespace nextcrm {

namespace {

// The walk's own constants, written from the format, not taken from the
// reader: the magic number and the terminator, and a frame no writer makes
// (BSON's 16 MB limit, with room to spare).
constexpr std::uint32_t archive_magic = 0x8199e26du;
constexpr std::uint32_t end_of_frames = 0xffffffffu;
constexpr std::uint32_t largest_frame = 48u << 20;

std::uint32_t le32(const unsigned char *b) {
    return static_cast<std::uint32_t>(b[0]) | static_cast<std::uint32_t>(b[1]) << 8 |
           static_cast<std::uint32_t>(b[2]) << 16 | static_cast<std::uint32_t>(b[3]) << 24;
}

struct Damage {
    std::string what;
};

class Walker {
  public:
    Walker(gzFile gz, const std::function<void()> &between) : gz_(gz), between_(between) {}

    // Reads n bytes; at_end_ok: a clean end before the first byte returns
    // false.  Short reads and zlib errors are damage.
    bool read(void *into, std::size_t n, bool at_end_ok = false) {
        auto *p = static_cast<unsigned char *>(into);
        std::size_t done = 0;
        while (done < n) {
            int got = gzread(gz_, p + done, static_cast<unsigned>(n - done));
            if (got < 0) {
                int code = 0;
                throw Damage{"read error at byte " + std::to_string(offset_ + done) + ": " +
                             gz_error(gz_, &code)};
            }
            if (got == 0) {
                // A gzip stream cut short ends like a whole one, 0 bytes
                // read, at whatever byte the cut left: only zlib's error
                // says the stream's end is missing.
                int code = 0;
                std::string why = gz_error(gz_, &code);
                if (code != Z_OK && code != Z_STREAM_END)
                    throw Damage{"read error at byte " + std::to_string(offset_ + done) + ": " +
                                 why};
                if (done == 0 && at_end_ok)
                    return false;
                throw Damage{"the file ends inside a frame at byte " +
                             std::to_string(offset_ + done)};
            }
            done += static_cast<std::size_t>(got);
        }
        offset_ += static_cast<std::int64_t>(n);
        return true;
    }

    // A frame's length prefix: end_of_frames, or a length within bounds.
    // false at a clean end of the file when at_end_ok.
    bool prefix(std::uint32_t *length, bool at_end_ok = false) {
        unsigned char b[4];
        if (!read(b, 4, at_end_ok))
            return false;
        *length = le32(b);
        if (*length != end_of_frames && (*length < 5 || *length > largest_frame))
            throw Damage{"a frame at byte " + std::to_string(offset_ - 4) + " has the length " +
                         std::to_string(*length)};
        if ((++frames_ & 1023) == 0 && between_)
            between_();
        return true;
    }

    // The rest of a frame whose prefix was read: kept, or skipped.
    void body(std::uint32_t length, std::vector<unsigned char> *keep) {
        std::size_t left = length - 4;
        if (keep) {
            keep->resize(length);
            for (int i = 0; i < 4; ++i)
                (*keep)[i] = static_cast<unsigned char>(length >> (8 * i));
            read(keep->data() + 4, left);
            return;
        }
        unsigned char buf[64 * 1024];
        while (left > 0) {
            std::size_t n = std::min(left, sizeof buf);
            read(buf, n);
            left -= n;
        }
    }

  private:
    gzFile gz_;
    const std::function<void()> &between_;
    std::int64_t offset_ = 0;
    std::int64_t frames_ = 0;
};

std::string utf8_of(const bson_t *doc, const char *key) {
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it))
        return bson_iter_utf8(&it, nullptr);
    return {};
}

ArchiveNamespaceCount &entry(ArchiveWalk &walk, const std::string &db,
                             const std::string &collection) {
    for (auto &n : walk.namespaces)
        if (n.db == db && n.collection == collection)
            return n;
    walk.namespaces.push_back({db, collection});
    return walk.namespaces.back();
}

// A header or prelude document's names; damage when it is no document.
bson_t as_document(const std::vector<unsigned char> &frame, const char *what) {
    bson_t doc;
    if (!bson_init_static(&doc, frame.data(), frame.size()))
        throw Damage{std::string(what) + " is not a BSON document"};
    return doc;
}

} // namespace

ArchiveWalk walk_archive(const std::string &path, const std::function<void()> &between) {
    Fd fd = open_regular_file(path, RegularFile::archive);
    std::unique_ptr<gzFile_s, int (*)(gzFile)> gz(gzdopen(fd.get(), "rb"), gzclose);
    if (!gz)
        throw Error(Message(NEXTCRM_MSG("could not read archive \"%s\": out of memory"), path),
                    sqlstate::insufficient_resources);
    fd.release();
    ArchiveWalk walk;
    Walker w(gz.get(), between);
    std::vector<unsigned char> frame;
    try {
        unsigned char magic[4];
        if (!w.read(magic, 4, true) || le32(magic) != archive_magic)
            throw Damage{"it does not begin with the archive format's magic number"};
        // The prelude: its header, one document per collection, a
        // terminator.  Each collection it lists is counted, from 0.
        std::uint32_t length = 0;
        bool header = true;
        for (;;) {
            w.prefix(&length);
            if (length == end_of_frames)
                break;
            w.body(length, header ? nullptr : &frame);
            if (!header) {
                bson_t doc = as_document(frame, "a collection's entry in the prelude");
                entry(walk, utf8_of(&doc, "db"), utf8_of(&doc, "collection")).listed = true;
            }
            header = false;
        }
        // Blocks: a namespace header, its documents, a terminator.
        while (w.prefix(&length, true)) {
            if (length == end_of_frames)
                throw Damage{"a terminator where a block's header belongs"};
            w.body(length, &frame);
            bson_t doc = as_document(frame, "a block's header");
            ArchiveNamespaceCount &ns =
                entry(walk, utf8_of(&doc, "db"), utf8_of(&doc, "collection"));
            ns.in_blocks = true;
            bson_iter_t eof;
            if (bson_iter_init_find(&eof, &doc, "EOF") && BSON_ITER_HOLDS_BOOL(&eof) &&
                bson_iter_bool(&eof))
                ns.closed = true;
            for (;;) {
                w.prefix(&length);
                if (length == end_of_frames)
                    break;
                w.body(length, nullptr);
                ++ns.documents;
            }
        }
        // mongodump closes every namespace it writes with an end-of-data
        // header: an archive cut between blocks splits no frame, yet the
        // namespace it cut lost what followed.
        for (const auto &n : walk.namespaces)
            if (n.in_blocks && !n.closed)
                throw Damage{"the archive ends before the end-of-data header of \"" + n.db + "." +
                             n.collection + "\""};
    } catch (const Damage &d) {
        walk.damage = d.what;
        // A namespace closed before the damage holds what its end-of-data
        // header covered, as the reader reads it; any other may have lost
        // documents to it.
        for (auto &n : walk.namespaces)
            n.damaged = !n.closed;
    }
    // A block under a database the prelude does not list (mongodump lists
    // every namespace it writes; the oplog's has no database): the reader
    // never reads it, so a header lying about its database would hide its
    // documents from both the reader and a count of the prelude's
    // database.  Every count of that collection name is doubtful.
    std::set<std::string> listed_dbs;
    for (const auto &n : walk.namespaces)
        if (n.listed)
            listed_dbs.insert(n.db);
    for (const auto &n : walk.namespaces) {
        if (n.db.empty() || listed_dbs.empty() || listed_dbs.count(n.db))
            continue;
        if (walk.damage.empty())
            walk.damage = "a block names \"" + n.db + "." + n.collection +
                          "\", of a database the prelude does not list";
        for (auto &m : walk.namespaces)
            if (m.collection == n.collection)
                m.damaged = true;
    }
    return walk;
}

} // namespace nextcrm
