// The four shapes of real mongodump output (test/fixtures/mongodump, made by
// mongodump 100.18.0) read as the same documents, and damaged copies of them
// fail with the file, the byte offset and the documents read.
#include "bson_bytes.hpp"
#include "core/archive_demux.hpp"
#include "core/error.hpp"
#include "core/mongodump.hpp"
#include "core/mongodump_archive.hpp"
#include "test_files.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace {

std::string gunzip(const std::string &path) {
    gzFile f = gzopen(path.c_str(), "rb");
    std::string out;
    char buf[65536];
    int n;
    while ((n = gzread(f, buf, sizeof buf)) > 0)
        out.append(buf, static_cast<std::size_t>(n));
    gzclose(f);
    return out;
}

void write_gzip(const std::string &path, const std::string &bytes) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
}

nextcrm::SourceOptions dump_dir(const std::string &dir, const std::string &database = "") {
    nextcrm::SourceOptions o;
    o.dump_dir = dir;
    o.database = database;
    return o;
}

nextcrm::SourceOptions archive(const std::string &path, const std::string &database = "") {
    nextcrm::SourceOptions o;
    o.archive = path;
    o.database = database;
    return o;
}

// Per collection: documents and a CRC-64 of their bytes in order.
std::map<std::string, std::pair<std::int64_t, std::uint64_t>> digest(const nextcrm::Dump &d) {
    std::map<std::string, std::pair<std::int64_t, std::uint64_t>> out;
    for (const auto &name : d.collections()) {
        auto src = d.open(name);
        std::uint64_t crc = 0;
        while (const bson_t *doc = src->next())
            crc = nextcrm::crc64_ecma(crc, bson_get_data(doc), doc->len);
        out[name] = {src->count(), crc};
    }
    return out;
}

// The message and detail of the Error `f` throws.
template <typename F>
std::string error_of(F f) {
    try {
        f();
    } catch (const nextcrm::Error &e) {
        return std::string(e.what()) + " | " + e.detail() + " | " + e.hint();
    }
    return "(no error)";
}

// Reads a collection until it fails: the documents read and the error.
std::pair<std::int64_t, std::string> read_until_error(const nextcrm::SourceOptions &o,
                                                      const std::string &collection) {
    nextcrm::Dump d(o, [] {});
    auto src = d.open(collection);
    std::string err = error_of([&] {
        while (src->next()) {
        }
    });
    return {src->count(), err};
}

} // namespace

TEST(Mongodump, FourShapesHoldTheSameDocuments) {
    std::string f = mongodump_fixtures();
    nextcrm::Dump whole(dump_dir(f + "/dir", "nextcrm"), [] {});
    nextcrm::Dump whole_default(dump_dir(f + "/dir"), [] {}); // the only user database
    nextcrm::Dump folder(dump_dir(f + "/dir/nextcrm"), [] {});
    nextcrm::Dump gzip(dump_dir(f + "/gzip"), [] {});
    nextcrm::Dump plain_archive(archive(f + "/nextcrm.archive"), [] {});
    nextcrm::Dump gzip_archive(archive(f + "/nextcrm.archive.gz", "nextcrm"), [] {});
    EXPECT_EQ(whole.location(), f + "/dir/nextcrm");
    EXPECT_EQ(whole_default.location(), f + "/dir/nextcrm");
    EXPECT_EQ(gzip.location(), f + "/gzip/nextcrm");
    EXPECT_TRUE(plain_archive.is_archive());
    auto expected = digest(whole);
    ASSERT_EQ(expected.size(), 29u);
    std::int64_t total = 0;
    for (const auto &[name, v] : expected)
        total += v.first;
    EXPECT_EQ(total, 3000);
    EXPECT_EQ(expected.at("crm_Accounts").first, 237);
    EXPECT_EQ(expected.at("crm_Contacts").first, 444);
    EXPECT_EQ(digest(folder), expected);
    EXPECT_EQ(digest(gzip), expected);
    EXPECT_EQ(digest(plain_archive), expected);
    EXPECT_EQ(digest(gzip_archive), expected);
    EXPECT_EQ(gzip_archive.count("crm_Leads", [] {}), 178);
    EXPECT_EQ(gzip.count("crm_Leads", [] {}), 178);
    EXPECT_EQ(plain_archive.open("NoSuchCollection"), nullptr);
}

TEST(Mongodump, MissingOrWrongLocationsNameThePath) {
    TempDir t;
    EXPECT_NE(error_of([&] {
                  nextcrm::Dump d(dump_dir(t.path + "/nope"), [] {});
              }).find("dump directory \"" + t.path + "/nope\" does not exist"),
              std::string::npos);
    write_all(t.path + "/file", "x");
    EXPECT_NE(error_of([&] {
                  nextcrm::Dump d(dump_dir(t.path + "/file"), [] {});
              }).find("is not a directory"),
              std::string::npos);
    ASSERT_EQ(symlink("loop", (t.path + "/loop").c_str()), 0);
    EXPECT_NE(error_of([&] {
                  nextcrm::Dump d(dump_dir(t.path + "/loop"), [] {});
              }).find("\"" + t.path + "/loop\" is a symbolic link loop"),
              std::string::npos);
    EXPECT_NE(error_of([&] { nextcrm::Dump d(archive(t.path), [] {}); }).find("is a directory"),
              std::string::npos);
    EXPECT_NE(error_of([&] {
                  nextcrm::Dump d(archive(t.path + "/file"), [] {});
              }).find("is not a mongodump archive"),
              std::string::npos);
    // A whole-server dump and an archive name the databases they hold.
    std::string f = mongodump_fixtures();
    std::string e = error_of([&] { nextcrm::Dump d(dump_dir(f + "/dir", "crm"), [] {}); });
    EXPECT_NE(e.find("database \"crm\" is not in the dump"), std::string::npos) << e;
    EXPECT_NE(e.find("The dump holds the databases: nextcrm."), std::string::npos) << e;
    e = error_of([&] { nextcrm::Dump d(archive(f + "/nextcrm.archive.gz", "crm"), [] {}); });
    EXPECT_NE(e.find("The dump holds the databases: nextcrm."), std::string::npos) << e;
    mkdir((t.path + "/server").c_str(), 0700);
    mkdir((t.path + "/server/a").c_str(), 0700);
    mkdir((t.path + "/server/b").c_str(), 0700);
    e = error_of([&] { nextcrm::Dump d(dump_dir(t.path + "/server"), [] {}); });
    EXPECT_NE(e.find("holds several databases"), std::string::npos) << e;
    EXPECT_NE(e.find("a, b"), std::string::npos) << e;
}

TEST(Mongodump, CollectionFilesResolveToOneFileOrAReason) {
    TempDir t;
    std::string f = mongodump_fixtures() + "/dir/nextcrm";
    std::string accounts = read_all(f + "/crm_Accounts.bson");
    write_all(t.path + "/crm_Accounts.bson", accounts);
    write_gzip(t.path + "/crm_Accounts.bson.gz", accounts);
    mkdir((t.path + "/Users.bson").c_str(), 0700);
    write_all(t.path + "/Tasks.metadata.json", read_all(f + "/Tasks.metadata.json"));
    write_all(t.path + "/recent.metadata.json",
              R"({"collectionName":"recent","type":"view","options":{}})");
    write_all(t.path + "/system.views.bson", read_all(f + "/Boards.bson"));
    write_all(t.path + "/oplog.bson", read_all(f + "/Boards.bson"));
    // The name comes from the metadata, not the file name.
    write_all(t.path + "/escaped.bson", read_all(f + "/Boards.bson"));
    write_all(t.path + "/escaped.metadata.json",
              R"({"collectionName":"Boards","type":"collection"})");
    write_all(t.path + "/locked.bson", read_all(f + "/Boards.bson"));
    chmod((t.path + "/locked.bson").c_str(), 0);

    nextcrm::Dump d(dump_dir(t.path), [] {});
    using S = nextcrm::DumpEntry::State;
    std::map<std::string, S> states;
    for (const auto &e : d.entries())
        states[e.name] = e.state;
    EXPECT_EQ(states.at("crm_Accounts"), S::Ambiguous);
    EXPECT_EQ(states.at("Users"), S::Unusable);
    EXPECT_EQ(states.at("Tasks"), S::NoDocuments);
    EXPECT_EQ(states.at("recent"), S::Skipped);
    EXPECT_EQ(states.at("system.views"), S::Skipped);
    EXPECT_EQ(states.at("oplog"), S::Skipped);
    EXPECT_EQ(states.at("Boards"), S::Ready);
    EXPECT_EQ(states.count("escaped"), 0u);
    std::string e = error_of([&] { d.open("crm_Accounts"); });
    EXPECT_NE(e.find(t.path + "/crm_Accounts.bson\" and \"" + t.path + "/crm_Accounts.bson.gz"),
              std::string::npos)
        << e;
    e = error_of([&] { d.open("Users"); });
    EXPECT_NE(e.find("is a directory"), std::string::npos) << e;
    e = error_of([&] { d.open("Tasks"); });
    EXPECT_NE(e.find("documents of collection \"Tasks\" are missing"), std::string::npos) << e;
    EXPECT_EQ(d.open("recent"), nullptr);
    EXPECT_EQ(d.open("absent"), nullptr);
    EXPECT_EQ(d.count("Boards", [] {}), 11);
    if (geteuid() != 0) {
        EXPECT_EQ(states.at("locked"), S::Unusable);
        e = error_of([&] { d.open("locked"); });
        EXPECT_NE(e.find("cannot be read"), std::string::npos) << e;
    }
}

TEST(Mongodump, TruncatedArchivesKeepTheDocumentsBeforeTheDamage) {
    TempDir t;
    // The two archives come from two mongodump runs: same documents,
    // different interleaving of blocks.  Cut each.
    for (const char *source : {"/nextcrm.archive", "/nextcrm.archive.gz"}) {
        std::string bytes = gunzip(mongodump_fixtures() + source);
        nextcrm::Dump whole(archive(mongodump_fixtures() + "/nextcrm.archive"), [] {});
        auto expected = digest(whole);
        for (std::size_t cut : {bytes.size() / 3, bytes.size() / 2, bytes.size() - 3}) {
            for (bool gz : {false, true}) {
                std::string path = t.path + "/cut" + (gz ? ".gz" : "");
                if (gz)
                    write_gzip(path, bytes.substr(0, cut));
                else
                    write_all(path, bytes.substr(0, cut));
                nextcrm::Dump d(archive(path), [] {});
                int failed = 0;
                for (const auto &[name, v] : expected) {
                    auto [read, err] = read_until_error(archive(path), name);
                    if (err == "(no error)") {
                        EXPECT_EQ(read, v.first) << name;
                        continue;
                    }
                    ++failed;
                    EXPECT_LE(read, v.first) << name;
                    EXPECT_NE(err.find("archive \"" + path + "\" is truncated or corrupt at byte "),
                              std::string::npos)
                        << err;
                    EXPECT_NE(err.find("Collection \"" + name + "\": " + std::to_string(read) +
                                       " documents were read before the damage."),
                              std::string::npos)
                        << err;
                }
                EXPECT_GT(failed, 0) << "cut at " << cut;
            }
        }
    }
}

TEST(Mongodump, CorruptArchivesAreErrors) {
    TempDir t;
    std::string bytes = read_all(mongodump_fixtures() + "/nextcrm.archive");
    // A length prefix that is not one: the first document of the first
    // block (after the prelude) is damaged.
    nextcrm::ArchiveReader reader(mongodump_fixtures() + "/nextcrm.archive");
    std::int64_t body = reader.offset();
    nextcrm::ArchiveReader::Block block;
    ASSERT_TRUE(reader.next_block(&block));
    std::int64_t first_doc = reader.offset();
    std::string bad = bytes;
    bad[static_cast<std::size_t>(first_doc) + 3] = '\x7f';
    write_all(t.path + "/bad", bad);
    write_gzip(t.path + "/bad.gz", bad);
    for (const char *name : {"/bad", "/bad.gz"}) {
        auto [read, err] = read_until_error(archive(t.path + name), block.collection);
        EXPECT_EQ(read, 0);
        EXPECT_NE(err.find("is truncated or corrupt at byte " + std::to_string(first_doc)),
                  std::string::npos)
            << err;
        EXPECT_NE(err.find("neither a BSON document length nor a terminator"), std::string::npos)
            << err;
    }
    // A changed byte inside a string keeps the BSON valid: the CRC in the
    // collection's end-of-data header catches it.
    std::string flipped = bytes;
    ASSERT_GT(body, 4);
    std::string name;
    {
        nextcrm::ArchiveReader r(mongodump_fixtures() + "/nextcrm.archive");
        nextcrm::ArchiveReader::Block b;
        while (r.next_block(&b)) {
            std::uint32_t len = 0;
            std::int64_t start = r.offset();
            if (!b.eof && r.next_document(&len)) {
                // A byte of text (three letters in a row), changed in case.
                auto letter = [&](std::size_t i) {
                    return std::isalpha(static_cast<unsigned char>(flipped[i])) != 0;
                };
                for (std::size_t i = static_cast<std::size_t>(start) + 5;
                     i + 1 < static_cast<std::size_t>(start) + len; ++i)
                    if (letter(i - 1) && letter(i) && letter(i + 1)) {
                        flipped[i] ^= 0x20;
                        break;
                    }
                name = b.collection;
                while (r.next_document(&len)) {
                }
                break;
            }
            while (r.next_document(&len)) {
            }
        }
    }
    ASSERT_FALSE(name.empty());
    write_all(t.path + "/flipped", flipped);
    auto [read, err] = read_until_error(archive(t.path + "/flipped"), name);
    EXPECT_NE(err.find("fails the CRC-64 checksum of collection \"" + name + "\""),
              std::string::npos)
        << err;
    EXPECT_TRUE(nextcrm::is_checksum_failure(err)) << err;
}

TEST(Mongodump, Crc64MatchesGo) {
    // Go: crc64.Checksum([]byte("123456789"), crc64.MakeTable(crc64.ECMA))
    const char *check = "123456789";
    EXPECT_EQ(nextcrm::crc64_ecma(0, reinterpret_cast<const std::uint8_t *>(check), 9),
              0x995dc9bbdf1939faull);
}

// CRC-64/ECMA one bit at a time, from the polynomial alone: the reference
// the table-driven crc64_ecma must agree with.
static std::uint64_t crc64_bitwise(const std::uint8_t *data, std::size_t n) {
    std::uint64_t crc = ~0ull;
    for (std::size_t i = 0; i < n; ++i) {
        crc ^= data[i];
        for (int k = 0; k < 8; ++k)
            crc = (crc & 1) ? (crc >> 1) ^ 0xC96C5795D7870F42ull : crc >> 1;
    }
    return ~crc;
}

TEST(Mongodump, Crc64MatchesTheBitwiseDefinitionAtEveryLengthAlignmentAndSplit) {
    // crc64_ecma folds eight bytes at a time and the rest one by one: every
    // length up to a few words, at every alignment, and every split of a
    // running CRC (a collection's documents are summed one after another)
    // must give what the polynomial gives.
    std::vector<std::uint8_t> bytes(80 + 8);
    std::uint32_t x = 12345;
    for (auto &b : bytes) {
        x = x * 1103515245u + 12345u;
        b = static_cast<std::uint8_t>(x >> 16);
    }
    for (std::size_t align = 0; align < 8; ++align)
        for (std::size_t n = 0; n <= 80; ++n) {
            const std::uint8_t *p = bytes.data() + align;
            std::uint64_t want = crc64_bitwise(p, n);
            ASSERT_EQ(nextcrm::crc64_ecma(0, p, n), want) << "length " << n << " at " << align;
            for (std::size_t cut = 0; cut <= n; ++cut)
                ASSERT_EQ(nextcrm::crc64_ecma(nextcrm::crc64_ecma(0, p, cut), p + cut, n - cut),
                          want)
                    << "length " << n << " at " << align << " split at " << cut;
        }
    // The check value again, through the reference, so that the reference
    // itself is the ECMA-182 variant mongodump writes.
    EXPECT_EQ(crc64_bitwise(reinterpret_cast<const std::uint8_t *>("123456789"), 9),
              0x995dc9bbdf1939faull);
    // A megabyte of one byte value: the word loop alone, over and over.
    std::vector<std::uint8_t> big(1 << 20, 0xa5);
    EXPECT_EQ(nextcrm::crc64_ecma(0, big.data(), big.size()),
              crc64_bitwise(big.data(), big.size()));
}

TEST(Mongodump, ReadingPastOtherCollectionsCallsBetween) {
    // The collection whose end-of-data header comes last has the most of
    // the archive to read past.
    std::string path = mongodump_fixtures() + "/nextcrm.archive";
    std::string last;
    {
        nextcrm::ArchiveReader r(path);
        nextcrm::ArchiveReader::Block b;
        std::uint32_t len = 0;
        while (r.next_block(&b)) {
            if (b.eof)
                last = b.collection;
            while (r.next_document(&len)) {
            }
        }
    }
    int calls = 0;
    nextcrm::ArchiveCollectionSource src(path, "nextcrm", last, [&calls] { ++calls; });
    while (src.next()) {
    }
    EXPECT_GE(calls, 1) << last;
    // An exception from the hook (an interrupt) ends the read.
    nextcrm::ArchiveCollectionSource stopped(path, "nextcrm", last,
                                             [] { throw std::runtime_error("interrupted"); });
    EXPECT_THROW(while (stopped.next()){}, std::runtime_error);
}

namespace {

// The oplog of a whole-server dump made while NextCRM was written to: four
// operations on "nextcrm" (one inside a transaction), and entries that are
// not: a no-op, another database, a database whose name starts the same.
std::string oplog_bytes() {
    std::vector<bson_t *> entries = {
        BCON_NEW("op", "i", "ns", "nextcrm.Users", "o", "{", "_id", BCON_INT32(1), "}"),
        BCON_NEW("op", "u", "ns", "nextcrm.Users", "o", "{", "$v", BCON_INT32(2), "diff", "{", "u",
                 "{", "name", "x", "}", "}", "}", "o2", "{", "_id", BCON_INT32(1), "}"),
        BCON_NEW("op", "d", "ns", "nextcrm.Boards", "o", "{", "_id", BCON_INT32(1), "}"),
        BCON_NEW("op", "n", "ns", "", "o", "{", "msg", "periodic noop", "}"),
        BCON_NEW("op", "i", "ns", "other.Users", "o", "{", "_id", BCON_INT32(2), "}"),
        BCON_NEW("op", "c", "ns", "admin.$cmd", "o", "{", "applyOps", "[", "{", "op", "i", "ns",
                 "nextcrm.Tasks", "o", "{", "_id", BCON_INT32(3), "}", "}", "{", "op", "i", "ns",
                 "other.x", "o", "{", "_id", BCON_INT32(4), "}", "}", "]", "}"),
        BCON_NEW("op", "i", "ns", "nextcrmx.Users", "o", "{", "_id", BCON_INT32(5), "}"),
    };
    std::string out;
    for (bson_t *e : entries) {
        out.append(reinterpret_cast<const char *>(bson_get_data(e)), e->len);
        bson_destroy(e);
    }
    return out;
}

std::string bson_of(bson_t *doc) {
    std::string out(reinterpret_cast<const char *>(bson_get_data(doc)), doc->len);
    bson_destroy(doc);
    return out;
}

const std::string terminator_bytes("\xff\xff\xff\xff", 4);

} // namespace

TEST(Mongodump, AWholeServerDumpWithItsOplogReadsTheDatabase) {
    TempDir t;
    std::string f = mongodump_fixtures();
    ASSERT_EQ(std::system(("cp -r '" + f + "/dir' '" + t.path + "/server'").c_str()), 0);
    write_all(t.path + "/server/oplog.bson", oplog_bytes());
    for (bool prelude : {true, false}) {
        if (!prelude) {
            ASSERT_EQ(unlink((t.path + "/server/prelude.json").c_str()), 0);
        }
        nextcrm::Dump d(dump_dir(t.path + "/server"), [] {});
        EXPECT_EQ(d.database(), "nextcrm");
        EXPECT_EQ(d.location(), t.path + "/server/nextcrm");
        EXPECT_EQ(d.count("crm_Leads", [] {}), 178) << "the database folder is read";
        EXPECT_EQ(d.find("oplog"), nullptr);
        EXPECT_EQ(d.oplog_location(), t.path + "/server/oplog.bson");
        EXPECT_EQ(d.oplog_entries(), 4);
    }
    // Without an oplog there is nothing to apply.
    nextcrm::Dump plain(dump_dir(f + "/dir"), [] {});
    EXPECT_EQ(plain.oplog_entries(), 0);
    EXPECT_EQ(plain.oplog_location(), "");
}

TEST(Mongodump, AnArchiveWithItsOplogReadsTheDatabase) {
    TempDir t;
    std::string boards = read_all(mongodump_fixtures() + "/dir/nextcrm/Boards.bson");
    std::string oplog = oplog_bytes();
    auto crc = [](const std::string &s) {
        return static_cast<std::int64_t>(
            nextcrm::crc64_ecma(0, reinterpret_cast<const std::uint8_t *>(s.data()), s.size()));
    };
    std::string a("\x6d\xe2\x99\x81", 4);
    a += bson_of(BCON_NEW("version", "0.1"));
    a += bson_of(BCON_NEW("db", "nextcrm", "collection", "Boards", "type", "collection"));
    a += bson_of(BCON_NEW("db", "", "collection", "oplog"));
    a += terminator_bytes;
    a += bson_of(BCON_NEW("db", "nextcrm", "collection", "Boards", "EOF", BCON_BOOL(false)));
    a += boards + terminator_bytes;
    a += bson_of(BCON_NEW("db", "nextcrm", "collection", "Boards", "EOF", BCON_BOOL(true), "CRC",
                          BCON_INT64(crc(boards))));
    a += terminator_bytes;
    a += bson_of(BCON_NEW("db", "", "collection", "oplog", "EOF", BCON_BOOL(false)));
    a += oplog + terminator_bytes;
    a += bson_of(BCON_NEW("db", "", "collection", "oplog", "EOF", BCON_BOOL(true), "CRC",
                          BCON_INT64(crc(oplog))));
    a += terminator_bytes;
    write_all(t.path + "/oplog.archive", a);
    nextcrm::Dump d(archive(t.path + "/oplog.archive"), [] {});
    EXPECT_EQ(d.database(), "nextcrm") << "the oplog's namespace is no database";
    EXPECT_EQ(d.count("Boards", [] {}), 11);
    EXPECT_EQ(d.find("oplog"), nullptr);
    EXPECT_EQ(d.oplog_entries(), 4);
    nextcrm::Dump plain(archive(mongodump_fixtures() + "/nextcrm.archive"), [] {});
    EXPECT_EQ(plain.oplog_entries(), 0);
}

namespace {

class MemorySpool : public nextcrm::Spool {
  public:
    void append(const std::uint8_t *data, std::size_t n) override {
        bytes_.append(reinterpret_cast<const char *>(data), n);
    }
    std::size_t read(std::int64_t offset, std::uint8_t *into, std::size_t n) override {
        std::size_t at = static_cast<std::size_t>(offset);
        std::size_t got = at >= bytes_.size() ? 0 : std::min(n, bytes_.size() - at);
        std::memcpy(into, bytes_.data() + at, got);
        return got;
    }

  private:
    std::string bytes_;
};

} // namespace

// The walk that spools an archive's collections reads every block: an
// archive it read whole without an oplog block is not read again (a whole
// inflate of a gzipped one) to find its oplog empty.  An oplog, or damage,
// is read as without spooling.
TEST(Mongodump, ASpooledArchiveIsNotReadAgainToFindNoOplog) {
    TempDir t;
    std::string docs;
    for (int i = 0; i < 3000; ++i)
        docs += bson_of(BCON_NEW("_id", BCON_INT32(i)));
    std::string oplog = oplog_bytes();
    auto crc = [](const std::string &s) {
        return static_cast<std::int64_t>(
            nextcrm::crc64_ecma(0, reinterpret_cast<const std::uint8_t *>(s.data()), s.size()));
    };
    auto archive_of = [&](bool with_oplog) {
        std::string a("\x6d\xe2\x99\x81", 4);
        a += bson_of(BCON_NEW("version", "0.1"));
        a += bson_of(BCON_NEW("db", "nextcrm", "collection", "Boards", "type", "collection"));
        a += terminator_bytes;
        a += bson_of(BCON_NEW("db", "nextcrm", "collection", "Boards", "EOF", BCON_BOOL(false)));
        a += docs + terminator_bytes;
        if (with_oplog) {
            a += bson_of(BCON_NEW("db", "", "collection", "oplog", "EOF", BCON_BOOL(false)));
            a += oplog + terminator_bytes;
        }
        a += bson_of(BCON_NEW("db", "nextcrm", "collection", "Boards", "EOF", BCON_BOOL(true),
                              "CRC", BCON_INT64(crc(docs))));
        return a + terminator_bytes;
    };
    write_all(t.path + "/plain.archive", archive_of(false));
    write_all(t.path + "/oplog.archive", archive_of(true));
    std::string cut = archive_of(false);
    write_all(t.path + "/cut.archive", cut.substr(0, cut.size() / 2));

    // What each gives without spooling: the oplog's entries, or the error.
    auto oplog_of = [&](const std::string &name, int *betweens) {
        nextcrm::Dump d(archive(t.path + name), [betweens] { ++*betweens; });
        // The walk, with spooling (the cut archive's count is its error).
        std::string counted = error_of([&] { d.count("Boards", [] {}); });
        EXPECT_EQ(counted == "(no error)", name != std::string("/cut.archive")) << counted;
        *betweens = 0;
        std::string out;
        std::string err = error_of([&] { out = std::to_string(d.oplog_entries()); });
        return err == "(no error)" ? out : err;
    };
    std::map<std::string, std::string> direct;
    int betweens = 0;
    for (const char *name : {"/plain.archive", "/oplog.archive", "/cut.archive"}) {
        direct[name] = oplog_of(name, &betweens);
        EXPECT_GE(betweens, 1) << name << ": the archive is read for its oplog";
    }
    EXPECT_EQ(direct["/plain.archive"], "0");
    EXPECT_EQ(direct["/oplog.archive"], "4");
    EXPECT_NE(direct["/cut.archive"].find("unexpected end of file"), std::string::npos)
        << direct["/cut.archive"];

    nextcrm::set_archive_spooling([] { return std::make_unique<MemorySpool>(); });
    EXPECT_EQ(oplog_of("/plain.archive", &betweens), "0");
    EXPECT_EQ(betweens, 0) << "the walk's reading is not done again";
    for (const char *name : {"/oplog.archive", "/cut.archive"}) {
        EXPECT_EQ(oplog_of(name, &betweens), direct[name]) << name;
        EXPECT_GE(betweens, 1) << name << ": read again, as without spooling";
    }
    // The walk is only trusted for the archive as it was walked.
    EXPECT_EQ(oplog_of("/plain.archive", &betweens), "0");
    write_all(t.path + "/plain.archive", archive_of(true));
    {
        nextcrm::Dump d(archive(t.path + "/plain.archive"), [] {});
        EXPECT_EQ(d.oplog_entries(), 4) << "rewritten with an oplog after the walk";
    }
    nextcrm::set_archive_spooling({});
}

// An oplog entry nested half a million levels deep (its $set value): the
// walk that checks an entry is bounded, so the oplog is refused as corrupt,
// naming the depth, instead of overflowing the stack (bson_validate()
// recursed once per level), in a folder's oplog.bson and an archive's alike.
std::string deep_oplog_entry(int levels) {
    std::string value = nested_in_a(levels, bson_document(""));
    bson_t *set = bson_new();
    bson_t inner;
    if (!bson_init_static(&inner, reinterpret_cast<const std::uint8_t *>(value.data()),
                          value.size()))
        return {};
    BSON_APPEND_DOCUMENT(set, "name", &inner);
    bson_t *update = bson_new();
    BSON_APPEND_DOCUMENT(update, "$set", set);
    bson_destroy(set);
    bson_t *entry =
        BCON_NEW("op", "u", "ns", "nextcrm.Users", "o2", "{", "_id", BCON_INT32(1), "}");
    BSON_APPEND_DOCUMENT(entry, "o", update);
    bson_destroy(update);
    return bson_of(entry);
}

TEST(Mongodump, AnOplogEntryNestedTooDeepIsCorruptNotACrash) {
    TempDir t;
    ASSERT_EQ(
        std::system(("cp -r '" + mongodump_fixtures() + "/dir' '" + t.path + "/server'").c_str()),
        0);
    std::string deep = deep_oplog_entry(500000);
    write_all(t.path + "/server/oplog.bson", oplog_bytes() + deep);
    nextcrm::Dump d(dump_dir(t.path + "/server"), [] {});
    std::string err = error_of([&] { d.oplog_entries(); });
    EXPECT_NE(err.find("server/oplog.bson\" holds a corrupt entry after 7 entries: the value of "
                       "\"o.$set.name"),
              std::string::npos)
        << err;
    EXPECT_NE(err.find("nests deeper than 116 levels"), std::string::npos) << err;

    std::string oplog = oplog_bytes() + deep;
    std::string a("\x6d\xe2\x99\x81", 4);
    a += bson_of(BCON_NEW("version", "0.1"));
    a += bson_of(BCON_NEW("db", "", "collection", "oplog"));
    a += terminator_bytes;
    a += bson_of(BCON_NEW("db", "", "collection", "oplog", "EOF", BCON_BOOL(false)));
    a += oplog + terminator_bytes;
    write_all(t.path + "/deep.archive", a);
    nextcrm::Dump ad(archive(t.path + "/deep.archive", "nextcrm"), [] {});
    err = error_of([&] { ad.oplog_entries(); });
    EXPECT_NE(err.find("an oplog entry is not valid BSON: the value of \"o.$set.name"),
              std::string::npos)
        << err;
}

// An archive holding documents of a collection after its end-of-data header
// (archives joined, a writer gone wrong), and a collection whose blocks the
// prelude does not list: every document is read and counted, none dropped.
TEST(Mongodump, ArchiveDocumentsTheHeadersDoNotAnnounceAreRead) {
    TempDir t;
    std::string boards = read_all(mongodump_fixtures() + "/dir/nextcrm/Boards.bson");
    std::string tasks = read_all(mongodump_fixtures() + "/dir/nextcrm/Tasks.bson");
    auto crc = [](const std::string &s) {
        return static_cast<std::int64_t>(
            nextcrm::crc64_ecma(0, reinterpret_cast<const std::uint8_t *>(s.data()), s.size()));
    };
    // Boards: its 11 documents split around its end-of-data header.
    std::size_t first = static_cast<std::size_t>(static_cast<unsigned char>(boards[0]) |
                                                 static_cast<unsigned char>(boards[1]) << 8 |
                                                 static_cast<unsigned char>(boards[2]) << 16);
    std::string before = boards.substr(0, first), after = boards.substr(first);
    std::string a("\x6d\xe2\x99\x81", 4);
    a += bson_of(BCON_NEW("version", "0.1"));
    a += bson_of(BCON_NEW("db", "nextcrm", "collection", "Boards", "type", "collection"));
    a += terminator_bytes;
    a += bson_of(BCON_NEW("db", "nextcrm", "collection", "Boards", "EOF", BCON_BOOL(false)));
    a += before + terminator_bytes;
    a += bson_of(BCON_NEW("db", "nextcrm", "collection", "Boards", "EOF", BCON_BOOL(true), "CRC",
                          BCON_INT64(crc(before))));
    a += terminator_bytes;
    a += bson_of(BCON_NEW("db", "nextcrm", "collection", "Tasks", "EOF", BCON_BOOL(false)));
    a += tasks + terminator_bytes;
    a += bson_of(BCON_NEW("db", "nextcrm", "collection", "Tasks", "EOF", BCON_BOOL(true), "CRC",
                          BCON_INT64(crc(tasks))));
    a += terminator_bytes;
    a += bson_of(BCON_NEW("db", "nextcrm", "collection", "Boards", "EOF", BCON_BOOL(false)));
    a += after + terminator_bytes;
    write_all(t.path + "/odd.archive", a);
    std::int64_t n_tasks =
        nextcrm::count_dump_documents(mongodump_fixtures() + "/dir/nextcrm/Tasks.bson");
    nextcrm::Dump d(archive(t.path + "/odd.archive"), [] {});
    EXPECT_EQ(d.count("Boards", [] {}), 11);
    EXPECT_EQ(d.count("Tasks", [] {}), n_tasks) << "counted though the prelude does not list it";
    for (const auto &[name, expected] :
         std::map<std::string, std::int64_t>{{"Boards", 11}, {"Tasks", n_tasks}}) {
        auto source = d.open(name);
        ASSERT_NE(source, nullptr) << name;
        while (source->next()) {
        }
        EXPECT_EQ(source->count(), expected) << name;
    }
    EXPECT_EQ(d.open("Users"), nullptr) << "a collection with no block is absent";
}

// A .bson.gz whose CRC-32 does not match fails after its last document, and
// says it is a checksum that failed (so that nothing read is kept).
TEST(Mongodump, AGzipChecksumFailureIsNamedAsOne) {
    TempDir t;
    write_gzip(t.path + "/Boards.bson.gz",
               read_all(mongodump_fixtures() + "/dir/nextcrm/Boards.bson"));
    std::string bytes = read_all(t.path + "/Boards.bson.gz");
    bytes[bytes.size() - 8] = static_cast<char>(bytes[bytes.size() - 8] ^ 0xff);
    write_all(t.path + "/Boards.bson.gz", bytes);
    nextcrm::Dump d(dump_dir(t.path), [] {});
    std::string e = error_of([&] {
        auto source = d.open("Boards");
        while (source->next()) {
        }
    });
    EXPECT_NE(e.find("dump file \"" + t.path + "/Boards.bson.gz\" fails its gzip checksum"),
              std::string::npos)
        << e;
    EXPECT_NE(e.find(": incorrect data check"), std::string::npos) << e;
    EXPECT_EQ(e.find("<fd:"), std::string::npos) << e;
    EXPECT_TRUE(nextcrm::is_checksum_failure(e)) << e;
}
