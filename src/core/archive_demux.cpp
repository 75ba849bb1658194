#include "archive_demux.hpp"

#include "bson_check.hpp"
#include "mongodump_archive.hpp"

#include <algorithm>
#include <cstring>

namespace nextcrm {

namespace {

// One collection during the walk: what its own reader
// (ArchiveCollectionSource) would know at this point of the archive.
struct Track {
    DemuxedCollection *out = nullptr;
    std::uint64_t crc = 0;
    bool closed = false; // its end-of-data header was read (and matched)
    bool failed() const { return out->failure.has_value(); }
};

// The Error ArchiveReader::fail() throws for `what` at the reader's offset.
Error reader_error(const ArchiveReader &reader, const std::string &what) {
    try {
        reader.fail(what);
    } catch (const Error &e) {
        return e;
    }
    return Error("ArchiveReader::fail returned", sqlstate::internal_error);
}

class Walk {
  public:
    Walk(const std::string &path, const std::string &db, const SpoolMaker &make,
         const std::function<void()> &between)
        : reader_(path), db_(db), make_(make), between_(between),
          out_(std::make_shared<DemuxedArchive>()) {
        for (const auto &c : reader_.prelude())
            if (c.db == db_) {
                out_->counts[c.collection] = 0;
                track(c.collection);
            }
    }

    std::shared_ptr<const DemuxedArchive> run() {
        ArchiveReader::Block block;
        std::int64_t *n = nullptr; // the count of the block being read
        for (;;) {
            n = nullptr; // damage in a block header belongs to no collection
            bool more = false;
            try {
                more = reader_.next_block(&block);
            } catch (const Error &e) {
                damage(e, true, n, block);
                return out_;
            }
            if (!more)
                break;
            Track *x = block.db == db_ ? &track(block.collection) : nullptr;
            n = x ? &out_->counts[block.collection] : nullptr;
            // As Dump::for_each_oplog_entry() tells the oplog's blocks.
            oplog_ = block.db.empty() && block.collection == "oplog";
            try {
                if (x && block.eof)
                    end_of_data(*x, block, n);
                else
                    documents(x, block.collection, n);
            } catch (const Error &e) {
                damage(e, false, n, block);
                return out_;
            }
        }
        // mongodump closes every namespace it wrote with an end-of-data
        // header: without one, the archive was cut short.
        for (auto &[name, t] : tracks_)
            if (!t.failed() && !t.closed)
                fail(t, name,
                     reader_error(reader_, "the archive ends before the end-of-data marker of "
                                           "collection \"" +
                                               name + "\""));
        return out_;
    }

  private:
    Track &track(const std::string &collection) {
        auto it = tracks_.find(collection);
        if (it != tracks_.end())
            return it->second;
        Track &t = tracks_[collection];
        t.out = &out_->collections[collection];
        return t;
    }

    // The collection's reader would stop here with `e`, and say how far it
    // had got.
    void fail(Track &t, const std::string &name, const Error &e) {
        t.out->failure =
            e.with_detail("Collection \"" + name + "\": " + std::to_string(t.out->documents) +
                          " documents were read before the damage." +
                          (e.detail().empty() ? "" : " " + e.detail()));
    }

    void tick() {
        if ((++seen_ & 1023) == 0 && between_)
            between_();
    }

    // An end-of-data header of collection x: its CRC, then the block's
    // terminator (a document there is damage to x alone).
    void end_of_data(Track &x, const ArchiveReader::Block &block, std::int64_t *n) {
        const std::string &name = block.collection;
        if (!x.failed()) {
            if (block.crc != x.crc)
                // "checksum" is checksum_failure_phrase (document_source.hpp).
                fail(x, name,
                     Error(Message(NEXTCRM_MSG("archive \"%s\" fails the CRC-64 checksum of "
                                               "collection \"%s\" at byte %s"),
                                   reader_.path(), name, std::to_string(reader_.offset())),
                           sqlstate::data_corrupted,
                           "The checksum covers every document of the collection, so none "
                           "of them can be trusted."));
            else {
                // A second header (after documents that followed the first)
                // covers those documents.
                x.closed = true;
                x.crc = 0;
            }
        }
        std::uint32_t length = 0;
        bool first = true;
        while (reader_.next_document(&length)) {
            ++*n;
            tick();
            if (oplog_)
                ++out_->oplog_entries;
            if (first && !x.failed())
                fail(x, name,
                     reader_error(reader_, "an end-of-data header is followed by a document"));
            first = false;
        }
    }

    // A block's documents: spooled for a collection of the database (x),
    // counted, or only read past.
    void documents(Track *x, const std::string &name, std::int64_t *n) {
        for (;;) {
            std::int64_t at = reader_.offset();
            std::uint32_t length = 0;
            const std::uint8_t *data = reader_.next_document(&length);
            if (!data)
                return;
            tick();
            if (oplog_)
                ++out_->oplog_entries;
            if (!x)
                continue;
            ++*n;
            if (x->failed())
                continue; // its reader stopped at its failure
            bson_t doc;
            std::size_t bad = 0;
            if (!bson_init_static(&doc, data, length) || !bson_structure_valid(&doc, &bad)) {
                fail(*x, name,
                     Error(Message(NEXTCRM_MSG("archive \"%s\" holds a corrupt document at "
                                               "byte %s (byte %s of it)"),
                                   reader_.path(), std::to_string(at), std::to_string(bad)),
                           sqlstate::fdw_error));
                continue;
            }
            x->crc = crc64_ecma(x->crc, data, length);
            if (!x->out->spool)
                x->out->spool = make_();
            x->out->spool->append(data, length);
            ++x->out->documents;
        }
    }

    // Damage to the archive itself (its framing, its compression) at the
    // reader's offset: every collection whose reader gets this far fails
    // here, except one whose end-of-data header was read when the damage
    // is in a block header (ArchiveCollectionSource: what its CRC covered
    // is whole), unless it is a checksum failure of the whole file.
    void damage(const Error &e, bool in_header, const std::int64_t *n,
                const ArchiveReader::Block &block) {
        for (auto &[name, t] : tracks_)
            if (!t.failed() && (!in_header || !t.closed || is_checksum_failure(e.what())))
                fail(t, name, e);
        out_->count_failure =
            e.with_detail(n ? "Collection \"" + block.collection + "\": " + std::to_string(*n) +
                                  " documents were read before the damage."
                            : "The damage is outside the documents of database \"" + db_ + "\".");
    }

    ArchiveReader reader_;
    std::string db_;
    const SpoolMaker &make_;
    const std::function<void()> &between_;
    std::shared_ptr<DemuxedArchive> out_;
    std::map<std::string, Track> tracks_;
    std::int64_t seen_ = 0;
    bool oplog_ = false; // the block being read is the oplog's
};

} // namespace

std::shared_ptr<const DemuxedArchive> demux_archive(const std::string &path, const std::string &db,
                                                    const SpoolMaker &make,
                                                    const std::function<void()> &between) {
    Walk walk(path, db, make, between);
    return walk.run();
}

SpooledCollectionSource::SpooledCollectionSource(std::shared_ptr<const DemuxedArchive> archive,
                                                 const std::string &collection)
    : archive_(std::move(archive)) {
    auto it = archive_->collections.find(collection);
    if (it == archive_->collections.end())
        throw Error("no spool for collection \"" + collection + "\"", sqlstate::internal_error);
    collection_ = &it->second;
}

bool SpooledCollectionSource::fill(std::size_t n) {
    if (end_ - at_ >= n)
        return true;
    // Keep what is unread, at the front, and read at least 64 kB more.
    // (buf_ is empty, its data() null, before the first read: memmove of
    // nothing from null is still undefined.)
    if (end_ > at_)
        std::memmove(buf_.data(), buf_.data() + at_, end_ - at_);
    end_ -= at_;
    at_ = 0;
    std::size_t want = std::max<std::size_t>(n, 64 * 1024);
    if (buf_.size() < want)
        buf_.resize(want);
    while (end_ < n) {
        std::size_t got =
            collection_->spool->read(read_to_, buf_.data() + end_, buf_.size() - end_);
        if (got == 0)
            return false;
        end_ += got;
        read_to_ += static_cast<std::int64_t>(got);
    }
    return true;
}

const bson_t *SpooledCollectionSource::next() {
    if (done_)
        return nullptr;
    if (count_ == collection_->documents) {
        done_ = true;
        if (collection_->failure)
            throw *collection_->failure;
        return nullptr;
    }
    std::uint32_t length = 0;
    if (fill(4)) {
        const std::uint8_t *p = buf_.data() + at_;
        length = static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
                 static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
    }
    // The walk validated what it spooled: anything else is a spool that
    // lost bytes.
    if (length < 5 || !fill(length) || !bson_init_static(&doc_, buf_.data() + at_, length)) {
        done_ = true;
        throw Error("the spool of collection documents ends short after " + std::to_string(count_) +
                        " documents",
                    sqlstate::internal_error);
    }
    at_ += length;
    ++count_;
    return &doc_;
}

namespace {

struct Spooling {
    SpoolMaker make;
    std::string key;
    std::shared_ptr<const DemuxedArchive> walk;
};

Spooling &spooling() {
    static Spooling s;
    return s;
}

} // namespace

void set_archive_spooling(SpoolMaker make) {
    release_archive_spools();
    spooling().make = std::move(make);
}

bool archive_spooling() noexcept {
    return static_cast<bool>(spooling().make);
}

std::shared_ptr<const DemuxedArchive> spooled_archive(const std::string &key,
                                                      const std::string &path,
                                                      const std::string &db,
                                                      const std::function<void()> &between) {
    Spooling &s = spooling();
    if (!s.walk || s.key != key) {
        // The previous archive's spools go first: two archives' worth of
        // temporary files is never needed.
        release_archive_spools();
        s.walk = demux_archive(path, db, s.make, between);
        s.key = key;
    }
    return s.walk;
}

std::shared_ptr<const DemuxedArchive> kept_archive_walk(const std::string &key) {
    const Spooling &s = spooling();
    return s.walk && s.key == key ? s.walk : nullptr;
}

void release_archive_spools() noexcept {
    spooling().walk.reset();
    spooling().key.clear();
}

} // namespace nextcrm
