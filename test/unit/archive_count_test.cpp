// The archive walk the validator's independent count uses
// (core/archive_count.hpp): it agrees with the reader on mongodump's own
// archives, counts what the reader must read however the blocks lie, and
// reports damage without counting past it.
#include "bson_json.hpp"

#include "core/archive_count.hpp"
#include "core/mongodump.hpp"
#include "test_files.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <zlib.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>

namespace {

struct TempFile {
    std::string path;
    TempFile() {
        char tmpl[] = "/tmp/nextcrm-archive-count-test.XXXXXX";
        int fd = mkstemp(tmpl);
        if (fd >= 0)
            close(fd);
        path = tmpl;
    }
    ~TempFile() { unlink(path.c_str()); }
    void write(const std::string &bytes) const {
        std::ofstream(path, std::ios::binary).write(bytes.data(), bytes.size());
    }
};

std::string frame(const std::string &json_text) {
    nextcrm::BsonPtr doc = json(json_text);
    return std::string(reinterpret_cast<const char *>(bson_get_data(doc.get())), doc->len);
}

const std::string magic("\x6d\xe2\x99\x81", 4);
const std::string terminator("\xff\xff\xff\xff", 4);

std::string header(const std::string &collection, bool eof) {
    return frame(R"({"db": "crm", "collection": ")" + collection + R"(", "EOF": )" +
                 (eof ? "true" : "false") + R"(, "CRC": {"$numberLong": "0"}})");
}

const nextcrm::ArchiveNamespaceCount *find(const nextcrm::ArchiveWalk &w,
                                           const std::string &collection) {
    for (const auto &n : w.namespaces)
        if (n.collection == collection)
            return &n;
    return nullptr;
}

TEST(ArchiveCount, AgreesWithTheReaderOnMongodumpsArchives) {
    for (const char *name : {"/nextcrm.archive", "/nextcrm.archive.gz"}) {
        std::string path = mongodump_fixtures() + name;
        nextcrm::ArchiveWalk w = nextcrm::walk_archive(path, {});
        EXPECT_EQ(w.damage, "") << name;
        nextcrm::SourceOptions o;
        o.archive = path;
        nextcrm::Dump dump(o, [] {});
        std::int64_t total = 0;
        ASSERT_GT(w.namespaces.size(), 20u) << name;
        for (const auto &n : w.namespaces) {
            EXPECT_EQ(n.db, "nextcrm");
            EXPECT_TRUE(n.closed) << n.collection;
            EXPECT_FALSE(n.damaged) << n.collection;
            EXPECT_EQ(n.documents, dump.count(n.collection, [] {})) << name << " " << n.collection;
            total += n.documents;
        }
        EXPECT_EQ(find(w, "crm_Leads")->documents, 178) << name;
        EXPECT_GT(total, 2000) << name;
    }
}

// Documents after their collection's end-of-data header and in blocks the
// prelude does not announce are counted; a listed collection without blocks
// holds 0.
TEST(ArchiveCount, CountsEveryBlocksDocumentsWhereverTheyLie) {
    std::string prelude = frame(R"({"version": "0.1"})") +
                          frame(R"({"db": "crm", "collection": "a", "type": "collection"})") +
                          frame(R"({"db": "crm", "collection": "empty", "type": "collection"})") +
                          terminator;
    std::string archive = magic + prelude + header("a", false) + frame(R"({"_id": 1})") +
                          frame(R"({"_id": 2})") + terminator + header("b", false) +
                          frame(R"({"_id": 1})") + terminator + header("a", true) + terminator +
                          header("a", false) + frame(R"({"_id": 3})") + terminator +
                          header("b", true) + terminator;
    TempFile f;
    f.write(archive);
    nextcrm::ArchiveWalk w = nextcrm::walk_archive(f.path, {});
    EXPECT_EQ(w.damage, "");
    ASSERT_EQ(w.namespaces.size(), 3u);
    EXPECT_EQ(w.namespaces[0].collection, "a");
    EXPECT_EQ(w.namespaces[0].documents, 3);
    EXPECT_EQ(w.namespaces[1].collection, "empty");
    EXPECT_EQ(w.namespaces[1].documents, 0);
    EXPECT_EQ(w.namespaces[2].collection, "b");
    EXPECT_EQ(w.namespaces[2].documents, 1);

    // Cut inside b's last document: a was closed before the damage, b was not.
    std::string cut = magic + prelude + header("a", false) + frame(R"({"_id": 1})") + terminator +
                      header("a", true) + terminator + header("b", false) + frame(R"({"_id": 1})") +
                      frame(R"({"_id": 2})").substr(0, 9);
    f.write(cut);
    w = nextcrm::walk_archive(f.path, {});
    EXPECT_NE(w.damage.find("ends inside a frame"), std::string::npos) << w.damage;
    EXPECT_EQ(find(w, "a")->documents, 1);
    EXPECT_FALSE(find(w, "a")->damaged);
    EXPECT_EQ(find(w, "b")->documents, 1);
    EXPECT_TRUE(find(w, "b")->damaged);
    EXPECT_TRUE(find(w, "empty")->damaged);

    // An impossible length, and a file that is no archive.
    f.write(magic + prelude + header("a", false) + std::string("\x02\x00\x00\x00", 4));
    w = nextcrm::walk_archive(f.path, {});
    EXPECT_NE(w.damage.find("has the length 2"), std::string::npos) << w.damage;
    f.write("{\"not\": \"an archive\"}");
    w = nextcrm::walk_archive(f.path, {});
    EXPECT_NE(w.damage.find("magic number"), std::string::npos) << w.damage;
    EXPECT_TRUE(w.namespaces.empty());
}

// An archive cut between blocks, before a collection's end-of-data header:
// no frame is split, yet the collection lost what followed.  The reader
// says so ("ends before the end-of-data marker"); the walk must not call
// its count whole.
TEST(ArchiveCount, AnArchiveCutBetweenBlocksIsDamage) {
    std::string prelude = frame(R"({"version": "0.1"})") +
                          frame(R"({"db": "crm", "collection": "a", "type": "collection"})") +
                          terminator;
    std::string head = magic + prelude + header("a", false) + frame(R"({"_id": 1})") + terminator;
    std::string rest =
        header("a", false) + frame(R"({"_id": 2})") + terminator + header("a", true) + terminator;
    TempFile f;
    f.write(head);
    nextcrm::ArchiveWalk w = nextcrm::walk_archive(f.path, {});
    EXPECT_NE(w.damage, "");
    EXPECT_EQ(find(w, "a")->documents, 1);
    EXPECT_TRUE(find(w, "a")->damaged);

    // The same cut in a gzip stream (flushed at the cut, then truncated
    // there): zlib returns the bytes it has and then 0, the end of the
    // stream missing.
    gzFile gz = gzopen(f.path.c_str(), "wb");
    ASSERT_NE(gz, nullptr);
    gzwrite(gz, head.data(), static_cast<unsigned>(head.size()));
    gzflush(gz, Z_FULL_FLUSH);
    struct stat st;
    ASSERT_EQ(stat(f.path.c_str(), &st), 0);
    gzwrite(gz, rest.data(), static_cast<unsigned>(rest.size()));
    gzclose(gz);
    ASSERT_EQ(truncate(f.path.c_str(), st.st_size), 0);
    w = nextcrm::walk_archive(f.path, {});
    EXPECT_NE(w.damage, "");
    EXPECT_EQ(find(w, "a")->documents, 1);
    EXPECT_TRUE(find(w, "a")->damaged);
}

// A block whose header names a database the prelude does not list: the
// reader reads the prelude's database only, so the document it holds would
// be lost with the count of the prelude's database agreeing with the
// reader.  Every count of that collection is damaged; others are not.
TEST(ArchiveCount, ABlockOfADatabaseThePreludeDoesNotListIsDoubtful) {
    std::string prelude = frame(R"({"version": "0.1"})") +
                          frame(R"({"db": "crm", "collection": "a", "type": "collection"})") +
                          frame(R"({"db": "crm", "collection": "b", "type": "collection"})") +
                          terminator;
    auto hdr = [](const std::string &db, const std::string &collection, bool eof) {
        return frame(R"({"db": ")" + db + R"(", "collection": ")" + collection + R"(", "EOF": )" +
                     (eof ? "true" : "false") + R"(, "CRC": {"$numberLong": "0"}})");
    };
    std::string archive = magic + prelude + hdr("crm", "a", false) + frame(R"({"_id": 1})") +
                          terminator + hdr("crm", "a", true) + terminator + hdr("crm", "b", true) +
                          terminator + hdr("other", "a", false) + frame(R"({"_id": 2})") +
                          terminator + hdr("other", "a", true) + terminator;
    TempFile f;
    f.write(archive);
    nextcrm::ArchiveWalk w = nextcrm::walk_archive(f.path, {});
    EXPECT_NE(w.damage.find("other.a"), std::string::npos) << w.damage;
    ASSERT_EQ(w.namespaces.size(), 3u);
    EXPECT_EQ(w.namespaces[0].db + "." + w.namespaces[0].collection, "crm.a");
    EXPECT_EQ(w.namespaces[0].documents, 1);
    EXPECT_TRUE(w.namespaces[0].damaged);
    EXPECT_FALSE(w.namespaces[1].damaged); // crm.b
    EXPECT_EQ(w.namespaces[2].db, "other");
    EXPECT_EQ(w.namespaces[2].documents, 1);
    EXPECT_TRUE(w.namespaces[2].damaged);
}

} // namespace
