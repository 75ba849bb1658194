#include "mongodump_archive.hpp"

#include "bson_check.hpp"
#include "dump_path.hpp"
#include "error.hpp"

#include <zlib.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace nextcrm {

namespace {

// The archive's magic number, 0x8199e26d, little-endian.
constexpr std::uint32_t magic_number = 0x8199e26du;
constexpr std::uint32_t terminator = 0xffffffffu;
// A server never returns more than 16 MB plus its internal slack; a longer
// prefix is damage, not a document.
constexpr std::uint32_t max_document = (16u << 20) + (16u << 10);

std::uint32_t le32(const std::uint8_t *p) {
    return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
           static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

// Slicing-by-8 tables: crc_tables[0] is the classic byte-at-a-time table
// (the ECMA-182 polynomial, bit-reversed); crc_tables[k][b] is the remainder of
// byte b followed by k zero bytes, so that eight bytes are folded in with
// eight independent look-ups instead of a chain of eight dependent ones.
// The CRC of 61 MB took 0.19 s a byte at a time (bench/dump_shapes.sh).
using CrcTables = std::array<std::array<std::uint64_t, 256>, 8>;

CrcTables make_crc_tables() {
    constexpr std::uint64_t poly = 0xC96C5795D7870F42ull;
    CrcTables t{};
    for (std::uint64_t i = 0; i < 256; ++i) {
        std::uint64_t c = i;
        for (int k = 0; k < 8; ++k)
            c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
        t[0][i] = c;
    }
    for (std::size_t k = 1; k < 8; ++k)
        for (std::size_t i = 0; i < 256; ++i)
            t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
    return t;
}

const CrcTables crc_tables = make_crc_tables();

std::string string_field(const bson_t *doc, const char *key) {
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it))
        return bson_iter_utf8(&it, nullptr);
    return {};
}

} // namespace

std::uint64_t crc64_ecma(std::uint64_t crc, const std::uint8_t *data, std::size_t n) {
    const auto &t = crc_tables;
    crc = ~crc;
    // The CRC is reflected: its low byte meets the next data byte, so eight
    // data bytes read little-endian are XORed in at once whatever the
    // machine's byte order.
    for (; n >= 8; n -= 8, data += 8) {
        std::uint64_t x = crc;
        for (int b = 0; b < 8; ++b)
            x ^= static_cast<std::uint64_t>(data[b]) << (8 * b);
        crc = t[7][x & 0xff] ^ t[6][(x >> 8) & 0xff] ^ t[5][(x >> 16) & 0xff] ^
              t[4][(x >> 24) & 0xff] ^ t[3][(x >> 32) & 0xff] ^ t[2][(x >> 40) & 0xff] ^
              t[1][(x >> 48) & 0xff] ^ t[0][x >> 56];
    }
    for (std::size_t i = 0; i < n; ++i)
        crc = t[0][static_cast<std::uint8_t>(crc) ^ data[i]] ^ (crc >> 8);
    return ~crc;
}

struct ArchiveReader::File {
    gzFile gz = nullptr;
    ~File() {
        if (gz)
            gzclose(gz);
    }
};

ArchiveReader::ArchiveReader(const std::string &path) : path_(path), file_(new File) {
    // Refused before a byte is read when it is not a regular file (a named
    // pipe would wait for a writer forever).  zlib reads a file that is not
    // gzip as it is, so compression is decided by the bytes, never by the
    // name.
    Fd fd = open_regular_file(path, RegularFile::archive);
    file_->gz = gzdopen(fd.get(), "rb");
    if (!file_->gz)
        throw Error(Message(NEXTCRM_MSG("could not read archive \"%s\": out of memory"), path),
                    sqlstate::insufficient_resources);
    fd.release();
    gzbuffer(file_->gz, 1 << 17);

    std::uint8_t magic[4];
    int got = gzread(file_->gz, magic, 4);
    if (got != 4 || le32(magic) != magic_number)
        throw Error(Message(NEXTCRM_MSG("file \"%s\" is not a mongodump archive"), path),
                    sqlstate::fdw_error,
                    "It does not begin with the archive format's magic number.",
                    "Give a file written by mongodump --archive (with or without --gzip), or a "
                    "dump directory with the option \"dump_dir\".");
    offset_ = 4;
    // The header, then one metadata document per collection, then a
    // terminator.
    bool at_end = false;
    if (!read_document_or_terminator(&at_end) || at_end)
        fail("the archive's prelude has no header");
    for (;;) {
        if (!read_document_or_terminator(&at_end))
            break;
        if (at_end)
            fail("the archive ends inside its prelude");
        bson_t doc;
        if (!bson_init_static(&doc, buf_.data(), length_) || !bson_structure_valid(&doc, nullptr))
            fail("a collection's metadata in the prelude is not valid BSON");
        ArchiveCollection c{string_field(&doc, "db"), string_field(&doc, "collection"),
                            string_field(&doc, "type")};
        if (c.collection.empty())
            fail("a collection's metadata in the prelude has no collection name");
        prelude_.push_back(std::move(c));
    }
}

ArchiveReader::~ArchiveReader() = default;

void ArchiveReader::fail(const std::string &what) const {
    throw Error(Message(NEXTCRM_MSG("archive \"%s\" is truncated or corrupt at byte %s: %s"), path_,
                        std::to_string(offset_), what),
                sqlstate::fdw_error);
}

void ArchiveReader::read_failed(const std::string &zlib_message) const {
    if (is_gzip_checksum_error(zlib_message))
        // "checksum" is checksum_failure_phrase, which is_checksum_failure()
        // finds in the untranslated text.
        throw Error(Message(NEXTCRM_MSG("archive \"%s\" fails its gzip checksum at byte %s: %s"),
                            path_, std::to_string(offset_), zlib_message),
                    sqlstate::data_corrupted,
                    "The checksum covers the whole archive, so none of its documents can be "
                    "trusted.");
    fail("read error: " + zlib_message);
}

void ArchiveReader::read_exact(void *into, std::size_t n) {
    auto *p = static_cast<std::uint8_t *>(into);
    std::size_t done = 0;
    while (done < n) {
        int got = gzread(file_->gz, p + done, static_cast<unsigned>(n - done));
        if (got < 0) {
            int code = 0;
            std::string msg = gz_error(file_->gz, &code);
            read_failed(msg);
        }
        if (got == 0) {
            int code = 0;
            std::string msg = gz_error(file_->gz, &code);
            if (code != Z_OK && code != Z_STREAM_END)
                read_failed(msg);
            fail("unexpected end of file");
        }
        done += static_cast<std::size_t>(got);
    }
}

bool ArchiveReader::read_document_or_terminator(bool *at_end) {
    std::uint8_t prefix[4];
    int got = gzread(file_->gz, prefix, 4);
    if (got == 0 && at_end) {
        int code = 0;
        std::string msg = gz_error(file_->gz, &code);
        if (code != Z_OK && code != Z_STREAM_END)
            read_failed(msg);
        *at_end = true;
        return true;
    }
    if (got > 0 && got < 4) {
        // A prefix split across zlib's reads is rare but legal.
        offset_ += got;
        read_exact(prefix + got, static_cast<std::size_t>(4 - got));
        offset_ -= got;
    } else if (got != 4) {
        if (got < 0) {
            int code = 0;
            std::string msg = gz_error(file_->gz, &code);
            read_failed(msg);
        }
        fail("unexpected end of file");
    }
    std::uint32_t size = le32(prefix);
    if (size == terminator) {
        offset_ += 4;
        return false;
    }
    if (size < 5 || size > max_document)
        fail(std::to_string(size) + " is neither a BSON document length nor a terminator");
    buf_.resize(size);
    std::memcpy(buf_.data(), prefix, 4);
    std::int64_t start = offset_;
    offset_ += 4;
    read_exact(buf_.data() + 4, size - 4);
    offset_ = start;
    if (buf_[size - 1] != 0)
        fail("a document of " + std::to_string(size) + " bytes does not end with a zero byte");
    offset_ = start + size;
    length_ = size;
    return true;
}

bool ArchiveReader::next_block(Block *block) {
    if (in_block_)
        throw Error("ArchiveReader::next_block called inside a block", sqlstate::internal_error);
    bool at_end = false;
    std::int64_t start = offset_;
    if (!read_document_or_terminator(&at_end))
        fail("two terminators in a row (a block without a namespace header)");
    if (at_end)
        return false;
    bson_t doc;
    bson_iter_t it;
    if (!bson_init_static(&doc, buf_.data(), length_) || !bson_structure_valid(&doc, nullptr)) {
        offset_ = start;
        fail("a namespace header is not valid BSON");
    }
    block->db = string_field(&doc, "db");
    block->collection = string_field(&doc, "collection");
    block->eof =
        bson_iter_init_find(&it, &doc, "EOF") && BSON_ITER_HOLDS_BOOL(&it) && bson_iter_bool(&it);
    block->crc = bson_iter_init_find(&it, &doc, "CRC") && BSON_ITER_HOLDS_INT64(&it)
                     ? static_cast<std::uint64_t>(bson_iter_int64(&it))
                     : 0;
    if (block->collection.empty()) {
        offset_ = start;
        fail("a namespace header names no collection");
    }
    in_block_ = true;
    return true;
}

const std::uint8_t *ArchiveReader::next_document(std::uint32_t *length) {
    if (!in_block_)
        return nullptr;
    if (!read_document_or_terminator(nullptr)) {
        in_block_ = false;
        return nullptr;
    }
    *length = length_;
    return buf_.data();
}

ArchiveCollectionSource::ArchiveCollectionSource(const std::string &path, const std::string &db,
                                                 const std::string &collection,
                                                 std::function<void()> between)
    : reader_(path), db_(db), collection_(collection), between_(std::move(between)) {}

void ArchiveCollectionSource::damaged(const std::string &what) const {
    reader_.fail(what);
}

const bson_t *ArchiveCollectionSource::next() {
    if (done_)
        return nullptr;
    try {
        for (;;) {
            if (in_ours_) {
                std::uint32_t length = 0;
                std::int64_t at = reader_.offset();
                const std::uint8_t *data = reader_.next_document(&length);
                if (!data) {
                    in_ours_ = false;
                    continue;
                }
                std::size_t bad = 0;
                if (!bson_init_static(&doc_, data, length) || !bson_structure_valid(&doc_, &bad))
                    throw Error(Message(NEXTCRM_MSG("archive \"%s\" holds a corrupt document at "
                                                    "byte %s (byte %s of it)"),
                                        reader_.path(), std::to_string(at), std::to_string(bad)),
                                sqlstate::fdw_error);
                crc_ = crc64_ecma(crc_, data, length);
                ++count_;
                return &doc_;
            }
            ArchiveReader::Block block;
            bool more = false;
            try {
                more = reader_.next_block(&block);
            } catch (const Error &e) {
                if (!closed_ || is_checksum_failure(e.what()))
                    throw;
                // After its end-of-data header: what the CRC covered is
                // whole; the damage is another collection's to report.
                more = false;
            }
            if (!more) {
                done_ = true;
                if (closed_)
                    return nullptr;
                // mongodump closes every namespace it wrote with an EOF
                // header: without one, the archive was cut short.
                damaged("the archive ends before the end-of-data marker of collection \"" +
                        collection_ + "\"");
            }
            bool ours = block.db == db_ && block.collection == collection_;
            if (ours && block.eof) {
                // A second header (after documents that followed the first)
                // covers those documents.
                if (block.crc != crc_)
                    // "checksum" is checksum_failure_phrase (see above).
                    throw Error(Message(NEXTCRM_MSG("archive \"%s\" fails the CRC-64 checksum of "
                                                    "collection \"%s\" at byte %s"),
                                        reader_.path(), collection_,
                                        std::to_string(reader_.offset())),
                                sqlstate::data_corrupted,
                                "The checksum covers every document of the collection, so none "
                                "of them can be trusted.");
                closed_ = true;
                crc_ = 0;
                // The EOF header is followed by a terminator.
                std::uint32_t length = 0;
                if (reader_.next_document(&length))
                    damaged("an end-of-data header is followed by a document");
                continue;
            }
            if (ours) {
                in_ours_ = true;
                continue;
            }
            std::uint32_t length = 0;
            while (reader_.next_document(&length))
                if ((++passed_ & 1023) == 0 && between_)
                    between_();
        }
    } catch (const Error &e) {
        // Say which collection was being read and how far it got.
        done_ = true;
        throw e.with_detail("Collection \"" + collection_ + "\": " + std::to_string(count_) +
                            " documents were read before the damage." +
                            (e.detail().empty() ? "" : " " + e.detail()));
    }
}

std::map<std::string, std::int64_t> count_archive_documents(const std::string &path,
                                                            const std::string &db,
                                                            const std::function<void()> &between) {
    ArchiveReader reader(path);
    std::map<std::string, std::int64_t> counts;
    for (const auto &c : reader.prelude())
        if (c.db == db)
            counts[c.collection] = 0;
    ArchiveReader::Block block;
    std::int64_t seen = 0;
    std::int64_t *n = nullptr;
    try {
        for (;;) {
            n = nullptr; // damage in a block header belongs to no collection
            if (!reader.next_block(&block))
                break;
            std::uint32_t length = 0;
            n = block.db == db ? &counts[block.collection] : nullptr;
            while (reader.next_document(&length)) {
                if (n)
                    ++*n;
                if ((++seen & 1023) == 0)
                    between();
            }
        }
    } catch (const Error &e) {
        throw e.with_detail(n ? "Collection \"" + block.collection + "\": " + std::to_string(*n) +
                                    " documents were read before the damage."
                              : "The damage is outside the documents of database \"" + db + "\".");
    }
    return counts;
}

} // namespace nextcrm
