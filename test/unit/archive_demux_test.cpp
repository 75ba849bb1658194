// The one-pass archive walk (core/archive_demux.hpp) against the reader it
// replaces: for whole, cut, damaged and oddly built archives, every
// collection's spool yields what ArchiveCollectionSource reads from the
// archive itself -- the same documents, then the same error, word for word
// -- and the walk's counts are count_archive_documents()'s.
#include "core/archive_demux.hpp"
#include "core/bson_check.hpp"
#include "core/error.hpp"
#include "core/mongodump.hpp"
#include "core/mongodump_archive.hpp"
#include "test_files.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

void write_gzip(const std::string &path, const std::string &bytes) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
}

std::string bson_of(bson_t *doc) {
    std::string out(reinterpret_cast<const char *>(bson_get_data(doc)), doc->len);
    bson_destroy(doc);
    return out;
}

const std::string terminator("\xff\xff\xff\xff", 4);
const std::string magic("\x6d\xe2\x99\x81", 4);

std::vector<std::string> documents_of(const std::string &bson_file) {
    std::string all = read_all(bson_file);
    std::vector<std::string> out;
    for (std::size_t at = 0; at + 4 <= all.size();) {
        auto len = static_cast<std::size_t>(static_cast<unsigned char>(all[at]) |
                                            static_cast<unsigned char>(all[at + 1]) << 8 |
                                            static_cast<unsigned char>(all[at + 2]) << 16);
        out.push_back(all.substr(at, len));
        at += len;
    }
    return out;
}

std::string header(const std::string &collection, bool eof, std::uint64_t crc = 0) {
    return eof ? bson_of(BCON_NEW("db", "nextcrm", "collection", collection.c_str(), "EOF",
                                  BCON_BOOL(true), "CRC",
                                  BCON_INT64(static_cast<std::int64_t>(crc))))
               : bson_of(BCON_NEW("db", "nextcrm", "collection", collection.c_str(), "EOF",
                                  BCON_BOOL(false)));
}

// Three collections of the fixture in blocks of two documents, taken in
// turn (as mongodump's writers interleave them), each closed by its
// end-of-data header: many blocks in a few kilobytes.
std::string interleaved() {
    std::vector<std::string> names = {"Boards", "Employees", "Sections"};
    std::string a = magic + bson_of(BCON_NEW("version", "0.1"));
    for (const auto &n : names)
        a += bson_of(BCON_NEW("db", "nextcrm", "collection", n.c_str(), "type", "collection"));
    a += terminator;
    std::vector<std::vector<std::string>> docs;
    for (const auto &n : names)
        docs.push_back(documents_of(mongodump_fixtures() + "/dir/nextcrm/" + n + ".bson"));
    std::vector<std::size_t> next(names.size(), 0);
    std::vector<std::uint64_t> crc(names.size(), 0);
    for (bool more = true; more;) {
        more = false;
        for (std::size_t c = 0; c < names.size(); ++c) {
            if (next[c] > docs[c].size())
                continue;
            more = true;
            if (next[c] == docs[c].size()) {
                a += header(names[c], true, crc[c]) + terminator;
                ++next[c];
                continue;
            }
            a += header(names[c], false);
            for (int k = 0; k < 2 && next[c] < docs[c].size(); ++k, ++next[c]) {
                const std::string &d = docs[c][next[c]];
                crc[c] = nextcrm::crc64_ecma(
                    crc[c], reinterpret_cast<const std::uint8_t *>(d.data()), d.size());
                a += d;
            }
            a += terminator;
        }
    }
    return a;
}

class MemorySpool : public nextcrm::Spool {
  public:
    void append(const std::uint8_t *data, std::size_t n) override {
        bytes_.append(reinterpret_cast<const char *>(data), n);
    }
    std::size_t read(std::int64_t offset, std::uint8_t *into, std::size_t n) override {
        auto at = static_cast<std::size_t>(offset);
        std::size_t got = at >= bytes_.size() ? 0 : std::min(n, bytes_.size() - at);
        std::memcpy(into, bytes_.data() + at, got);
        return got;
    }

  private:
    std::string bytes_;
};

nextcrm::SpoolMaker memory_spools() {
    return [] { return std::make_unique<MemorySpool>(); };
}

std::string error_text(const nextcrm::Error &e) {
    return std::string(e.sqlstate()) + " | " + e.what() + " | " + e.detail() + " | " + e.hint();
}

// Everything a reader of the collection sees: each document's bytes, then
// how it ended.
std::string read_out(nextcrm::DocumentSource &s) {
    std::string out;
    try {
        while (const bson_t *d = s.next())
            out.append(reinterpret_cast<const char *>(bson_get_data(d)), d->len);
        out += "(end)";
    } catch (const nextcrm::Error &e) {
        out += "(error) " + error_text(e);
    }
    out += " after " + std::to_string(s.count());
    // A source that failed stays finished.
    EXPECT_EQ(s.next(), nullptr);
    return out;
}

// Compares the walk with the reader on the archive at `path`; returns how
// many collections failed.
int compare(const std::string &path, const std::string &what) {
    SCOPED_TRACE(what);
    std::shared_ptr<const nextcrm::DemuxedArchive> walk;
    std::string open_error;
    try {
        walk = nextcrm::demux_archive(path, "nextcrm", memory_spools(), {});
    } catch (const nextcrm::Error &e) {
        open_error = error_text(e);
    }
    if (!walk) {
        // The reader refuses the same archive in the same words.
        std::string reader_error = "(none)";
        try {
            nextcrm::ArchiveReader r(path);
        } catch (const nextcrm::Error &e) {
            reader_error = error_text(e);
        }
        EXPECT_EQ(open_error, reader_error);
        return 0;
    }
    std::string counted;
    try {
        for (const auto &[name, n] : nextcrm::count_archive_documents(path, "nextcrm", [] {}))
            counted += name + "=" + std::to_string(n) + " ";
    } catch (const nextcrm::Error &e) {
        counted = error_text(e);
    }
    std::string walked;
    if (walk->count_failure)
        walked = error_text(*walk->count_failure);
    else
        for (const auto &[name, n] : walk->counts)
            walked += name + "=" + std::to_string(n) + " ";
    EXPECT_EQ(walked, counted);
    int failed = 0;
    for (const auto &[name, c] : walk->collections) {
        nextcrm::ArchiveCollectionSource direct(path, "nextcrm", name);
        nextcrm::SpooledCollectionSource spooled(walk, name);
        std::string expected = read_out(direct);
        EXPECT_EQ(read_out(spooled), expected) << name;
        failed += c.failure.has_value();
    }
    return failed;
}

} // namespace

TEST(ArchiveDemux, MongodumpsOwnArchivesSpoolAsTheyRead) {
    EXPECT_EQ(compare(mongodump_fixtures() + "/nextcrm.archive", "plain"), 0);
    EXPECT_EQ(compare(mongodump_fixtures() + "/nextcrm.archive.gz", "gzip"), 0);
}

// Cut at every 7th byte, and with a byte changed every 11th byte (to a
// length no document has, or a letter's case: a CRC failure), plain and
// gzip: damage in prelude, headers, documents and terminators alike.
TEST(ArchiveDemux, DamagedArchivesFailEachCollectionAsTheReaderDoes) {
    TempDir t;
    std::string a = interleaved();
    ASSERT_EQ(compare((write_all(t.path + "/whole", a), t.path + "/whole"), "whole"), 0);
    int failures = 0;
    for (std::size_t cut = 1; cut < a.size(); cut += 7) {
        write_all(t.path + "/cut", a.substr(0, cut));
        failures += compare(t.path + "/cut", "cut at " + std::to_string(cut));
    }
    for (std::size_t at = 4; at < a.size(); at += 11) {
        for (char to : {'\x7f', static_cast<char>(a[at] ^ 0x20)}) {
            std::string bad = a;
            bad[at] = to;
            write_all(t.path + "/bad", bad);
            failures += compare(t.path + "/bad", "byte " + std::to_string(at) + " changed");
        }
    }
    for (std::size_t cut : {a.size() / 3, a.size() / 2, a.size() - 9}) {
        write_gzip(t.path + "/cut.gz", a.substr(0, cut));
        failures += compare(t.path + "/cut.gz", "gzip cut at " + std::to_string(cut));
        // Cut inside the compressed stream itself.
        write_gzip(t.path + "/whole.gz", a);
        std::string z = read_all(t.path + "/whole.gz");
        write_all(t.path + "/zcut.gz", z.substr(0, z.size() * cut / a.size()));
        failures += compare(t.path + "/zcut.gz", "gzip stream cut");
    }
    // The gzip trailer's CRC-32 (in mongodump's archive: zlib reports it
    // after the last end-of-data header) fails every collection.
    std::string z = read_all(mongodump_fixtures() + "/nextcrm.archive.gz");
    z[z.size() - 8] = static_cast<char>(z[z.size() - 8] ^ 0xff);
    write_all(t.path + "/crc32.gz", z);
    std::size_t all = nextcrm::demux_archive(mongodump_fixtures() + "/nextcrm.archive.gz",
                                             "nextcrm", memory_spools(), {})
                          ->collections.size();
    EXPECT_EQ(compare(t.path + "/crc32.gz", "gzip CRC-32"), static_cast<int>(all));
    EXPECT_GT(failures, 100);
}

// Documents after a collection's end-of-data header (the second header
// checks them), after one with no second header, a document straight after
// an end-of-data header, a collection the prelude does not list, and one
// the prelude lists with no block.
TEST(ArchiveDemux, OddlyBuiltArchivesSpoolAsTheyRead) {
    TempDir t;
    auto boards = documents_of(mongodump_fixtures() + "/dir/nextcrm/Boards.bson");
    auto tasks = documents_of(mongodump_fixtures() + "/dir/nextcrm/Tasks.bson");
    auto crc_of = [](const std::vector<std::string> &docs, std::size_t from, std::size_t to) {
        std::uint64_t c = 0;
        for (std::size_t i = from; i < to; ++i)
            c = nextcrm::crc64_ecma(c, reinterpret_cast<const std::uint8_t *>(docs[i].data()),
                                    docs[i].size());
        return c;
    };
    auto run = [](const std::vector<std::string> &docs, std::size_t from, std::size_t to) {
        std::string s;
        for (std::size_t i = from; i < to; ++i)
            s += docs[i];
        return s;
    };
    std::string prelude = magic + bson_of(BCON_NEW("version", "0.1")) +
                          bson_of(BCON_NEW("db", "nextcrm", "collection", "Boards")) +
                          bson_of(BCON_NEW("db", "nextcrm", "collection", "Users")) + terminator;
    std::string boards_closed = header("Boards", false) + run(boards, 0, 4) + terminator +
                                header("Boards", true, crc_of(boards, 0, 4)) + terminator;
    std::string tasks_all = header("Tasks", false) + run(tasks, 0, tasks.size()) + terminator +
                            header("Tasks", true, crc_of(tasks, 0, tasks.size())) + terminator;
    std::string boards_late = header("Boards", false) + run(boards, 4, boards.size()) + terminator;
    std::string boards_reclosed =
        header("Boards", true, crc_of(boards, 4, boards.size())) + terminator;
    std::string other_db =
        bson_of(BCON_NEW("db", "other", "collection", "Boards", "EOF", BCON_BOOL(false))) +
        run(boards, 0, 2) + terminator;
    struct Case {
        const char *what;
        std::string bytes;
        int failed;
    } cases[] = {
        {"late documents, closed again",
         prelude + boards_closed + tasks_all + boards_late + boards_reclosed, 1},
        {"late documents, not closed again", prelude + boards_closed + tasks_all + boards_late, 1},
        {"a document after an end-of-data header",
         prelude + header("Boards", true, 0) + boards[0] + terminator + tasks_all, 2},
        {"another database's block", prelude + other_db + boards_closed + tasks_all, 1},
        {"a wrong CRC, then damage",
         prelude + header("Boards", false) + run(boards, 0, 3) + terminator +
             header("Boards", true, 7) + terminator + tasks_all.substr(0, tasks_all.size() / 2),
         3},
    };
    for (const auto &c : cases) {
        write_all(t.path + "/odd", c.bytes);
        EXPECT_EQ(compare(t.path + "/odd", c.what), c.failed) << c.what;
    }
}

// A document nested far deeper than any document may be (16 MB allow
// some 2,000,000 levels) is passed on, CRC checked, for its reader's
// check_document() to refuse: the structure check must not recurse once per
// level (bson_validate() overflowed the stack on it, taking the process down).
TEST(ArchiveDemux, ADeeplyNestedDocumentIsPassedOnNotRecursedInto) {
    TempDir t;
    // {"_id": 1, "a": {"a": ... {"a": 1}}}, nested `levels` deep, as bytes,
    // built outside in (each wrapper is 8 bytes longer than what it holds).
    // A million: 200,000 fit in the stack of a process not built with the
    // sanitizers, so bson_validate() crashed on them only in some builds.
    const int levels = 1000000;
    std::string innermost = bson_of(BCON_NEW("a", BCON_INT32(1)));
    auto le32 = [](std::size_t n) {
        std::string b(4, '\0');
        for (int k = 0; k < 4; ++k)
            b[k] = static_cast<char>((n >> (8 * k)) & 0xff);
        return b;
    };
    std::string inner;
    inner.reserve(innermost.size() + 9 * static_cast<std::size_t>(levels));
    for (int k = levels; k >= 1; --k)
        inner += le32(innermost.size() + 8 * static_cast<std::size_t>(k)) +
                 std::string("\x03"
                             "a",
                             2) +
                 std::string(1, '\0');
    inner += innermost;
    inner += std::string(static_cast<std::size_t>(levels), '\0');
    std::string id = std::string("\x10_id", 4) + std::string(1, '\0') + le32(1);
    // And the same after a repeated "_id": check_document() reports the
    // repetition first, and the structure check must not then hand the
    // nesting to bson_validate() (it did: SIGSEGV).
    for (const std::string &head : {id, id + id}) {
        std::string deep_body = head +
                                std::string("\x03"
                                            "a",
                                            2) +
                                std::string(1, '\0') + inner;
        std::string deep = le32(4 + deep_body.size() + 1) + deep_body + std::string(1, '\0');
        auto boards = documents_of(mongodump_fixtures() + "/dir/nextcrm/Boards.bson");
        std::uint64_t crc = 0;
        for (const std::string *d : {&boards[0], &deep, &boards[1]})
            crc = nextcrm::crc64_ecma(crc, reinterpret_cast<const std::uint8_t *>(d->data()),
                                      d->size());
        std::string archive = magic + bson_of(BCON_NEW("version", "0.1")) +
                              bson_of(BCON_NEW("db", "nextcrm", "collection", "Boards")) +
                              terminator + header("Boards", false) + boards[0] + deep + boards[1] +
                              terminator + header("Boards", true, crc) + terminator;
        write_all(t.path + "/deep", archive);
        EXPECT_EQ(compare(t.path + "/deep", "a deeply nested document"), 0) << head.size();
        nextcrm::ArchiveCollectionSource direct(t.path + "/deep", "nextcrm", "Boards");
        int n = 0, refused = 0;
        while (const bson_t *d = direct.next()) {
            ++n;
            auto fault = nextcrm::check_document(d);
            refused +=
                fault && fault->kind == (head == id ? nextcrm::DocumentFault::Kind::TooDeep
                                                    : nextcrm::DocumentFault::Kind::DuplicateKey);
        }
        EXPECT_EQ(n, 3);
        EXPECT_EQ(refused, 1) << head.size();
    }
}

// What a spool throws (a full disk, temp_file_limit) ends the walk as it
// is: it is no damage to the archive, and nothing of the walk is kept.
TEST(ArchiveDemux, ASpoolThatFailsEndsTheWalk) {
    struct Full : MemorySpool {
        std::size_t left = 4096;
        void append(const std::uint8_t *data, std::size_t n) override {
            if (n > left)
                throw std::runtime_error("no space left");
            left -= n;
            MemorySpool::append(data, n);
        }
    };
    std::string path = mongodump_fixtures() + "/nextcrm.archive";
    EXPECT_THROW(
        nextcrm::demux_archive(path, "nextcrm", [] { return std::make_unique<Full>(); }, {}),
        std::runtime_error);
    // Through Dump: the walk is made again on the next use, not kept half
    // done.
    int spools = 0;
    bool full = true;
    nextcrm::set_archive_spooling([&]() -> std::unique_ptr<nextcrm::Spool> {
        ++spools;
        if (full)
            return std::make_unique<Full>();
        return std::make_unique<MemorySpool>();
    });
    nextcrm::SourceOptions o;
    o.archive = path;
    nextcrm::Dump d(o, [] {});
    EXPECT_THROW(d.count("crm_Leads", [] {}), std::runtime_error);
    full = false;
    EXPECT_EQ(d.count("crm_Leads", [] {}), 178);
    int after_walk = spools;
    auto leads = d.open("crm_Leads");
    while (leads->next()) {
    }
    EXPECT_EQ(leads->count(), 178);
    EXPECT_EQ(spools, after_walk) << "opening a collection walks no more";
    nextcrm::set_archive_spooling({});
}

// Dump reads every collection through the walk when spooling is on: the
// same documents, counts and errors as reading the archive per collection.
TEST(ArchiveDemux, DumpReadsThroughTheSpools) {
    for (const char *name : {"/nextcrm.archive", "/nextcrm.archive.gz"}) {
        nextcrm::SourceOptions o;
        o.archive = mongodump_fixtures() + name;
        auto everything = [&] {
            nextcrm::Dump d(o, [] {});
            std::string out;
            for (const auto &c : d.collections()) {
                out += c + " " + std::to_string(d.count(c, [] {})) + ": ";
                auto s = d.open(c);
                out += s ? read_out(*s) : "(none)";
            }
            return out;
        };
        std::string direct = everything();
        int spools = 0;
        nextcrm::set_archive_spooling([&] {
            ++spools;
            return std::make_unique<MemorySpool>();
        });
        EXPECT_EQ(everything(), direct) << name;
        EXPECT_GT(spools, 10) << "one spool per collection with documents";
        nextcrm::set_archive_spooling({});
    }
}
