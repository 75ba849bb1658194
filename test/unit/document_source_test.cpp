#include "core/bson_check.hpp"
#include "core/document_source.hpp"
#include "core/error.hpp"
#include "test_files.hpp"
#include "core/mongodump.hpp"
#include "core/options.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace {

nextcrm::SourceOptions dump_dir(const std::string &path) {
    nextcrm::SourceOptions o;
    o.dump_dir = path;
    return o;
}

std::string documents(int n) {
    std::string out;
    for (int i = 0; i < n; ++i) {
        bson_t *doc = BCON_NEW("_id", BCON_INT32(i), "name", BCON_UTF8("x"));
        out.append(reinterpret_cast<const char *>(bson_get_data(doc)), doc->len);
        bson_destroy(doc);
    }
    return out;
}

void write_plain(const std::string &path, const std::string &bytes) {
    FILE *f = std::fopen(path.c_str(), "wb");
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
}

void write_gzip(const std::string &path, const std::string &bytes) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
}

int drain(nextcrm::DocumentSource &src) {
    int n = 0;
    while (const bson_t *doc = src.next()) {
        bson_iter_t it;
        EXPECT_TRUE(bson_iter_init_find(&it, doc, "_id"));
        EXPECT_EQ(bson_iter_int32(&it), n);
        ++n;
    }
    return n;
}

} // namespace

TEST(DumpFileSource, ReadsPlainAndGzipFiles) {
    TempDir dir;
    write_plain(dir.path + "/plain.bson", documents(2500));
    write_gzip(dir.path + "/packed.bson.gz", documents(3000));
    write_plain(dir.path + "/plain.metadata.json", "{}");
    nextcrm::Dump dump(dump_dir(dir.path), [] {});
    EXPECT_EQ(dump.collections(), (std::vector<std::string>{"packed", "plain"}));
    nextcrm::DumpFileSource a(dir.path + "/plain.bson");
    EXPECT_EQ(drain(a), 2500);
    EXPECT_EQ(a.next(), nullptr);
    nextcrm::DumpFileSource b(dir.path + "/packed.bson.gz");
    EXPECT_EQ(drain(b), 3000);
    auto c = dump.open("packed");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(drain(*c), 3000);
    EXPECT_EQ(dump.open("absent"), nullptr);
}

TEST(DumpFileSource, TruncatedFilesAreErrors) {
    TempDir dir;
    std::string bytes = documents(100);
    write_plain(dir.path + "/cut.bson", bytes.substr(0, bytes.size() - 7));
    std::string packed = dir.path + "/cutgz.bson.gz";
    write_gzip(packed, bytes);
    // Drop the gzip trailer and part of the stream.
    FILE *f = std::fopen(packed.c_str(), "rb");
    std::string gz(1 << 16, '\0');
    gz.resize(std::fread(gz.data(), 1, gz.size(), f));
    std::fclose(f);
    write_plain(packed, gz.substr(0, gz.size() - 20));
    for (const char *name : {"cut", "cutgz"}) {
        nextcrm::DumpFileSource src(dir.path + "/" + name + (name[3] ? ".bson.gz" : ".bson"));
        int n = 0;
        try {
            while (src.next())
                ++n;
            ADD_FAILURE() << name << ": no error after " << n << " documents";
        } catch (const nextcrm::Error &e) {
            EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
        }
        EXPECT_LT(n, 100);
    }
}

// A document whose length prefix holds but whose elements do not parse is
// passed on (check_document() names it), and the documents after it are
// still read: one damaged document never stops the collection.
TEST(DumpFileSource, CorruptDocumentIsPassedOnAndReadingGoesOn) {
    TempDir dir;
    std::string bytes = documents(4);
    std::size_t one = bytes.size() / 4;
    bytes[3 * one - 2] = 0x7f; // the third document's string loses its terminator
    write_plain(dir.path + "/bad.bson", bytes);
    nextcrm::DumpFileSource src(dir.path + "/bad.bson");
    for (int i = 0; i < 4; ++i) {
        const bson_t *doc = src.next();
        ASSERT_NE(doc, nullptr) << i;
        auto fault = nextcrm::check_document(doc);
        EXPECT_EQ(fault.has_value(), i == 2) << i;
        if (fault) {
            EXPECT_EQ(fault->kind, nextcrm::DocumentFault::Kind::Malformed);
        }
    }
    EXPECT_EQ(src.next(), nullptr);
}

TEST(DumpFileSource, MissingFileAndDirectory) {
    EXPECT_THROW(nextcrm::DumpFileSource("/nonexistent/x.bson"), nextcrm::Error);
    EXPECT_THROW(nextcrm::Dump(dump_dir("/nonexistent"), [] {}), nextcrm::Error);
}

TEST(DumpFileSource, CountsByLengthPrefixesAndRejectsTruncatedFiles) {
    TempDir dir;
    std::string bytes = documents(1234);
    write_plain(dir.path + "/plain.bson", bytes);
    write_gzip(dir.path + "/packed.bson.gz", bytes);
    write_plain(dir.path + "/empty.bson", "");
    write_plain(dir.path + "/cut.bson", bytes.substr(0, bytes.size() - 7));
    write_plain(dir.path + "/tail.bson", bytes + "\x10\x00");
    EXPECT_EQ(nextcrm::count_dump_documents(dir.path + "/plain.bson"), 1234);
    EXPECT_EQ(nextcrm::count_dump_documents(dir.path + "/packed.bson.gz"), 1234);
    EXPECT_EQ(nextcrm::count_dump_documents(dir.path + "/empty.bson"), 0);
    EXPECT_THROW(nextcrm::count_dump_documents(dir.path + "/cut.bson"), nextcrm::Error);
    EXPECT_THROW(nextcrm::count_dump_documents(dir.path + "/tail.bson"), nextcrm::Error);
    EXPECT_THROW(nextcrm::count_dump_documents(dir.path + "/absent.bson"), nextcrm::Error);
}
