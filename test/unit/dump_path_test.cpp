// Dump files stay inside their directory whatever symbolic links say
// (core/dump_path.hpp; core/mongodump.hpp's Dump, which every reader of a
// dump goes through, and core/document_source.hpp's find_dump_file).
#include "core/document_source.hpp"
#include "core/dump_path.hpp"
#include "core/error.hpp"
#include "core/mongodump.hpp"
#include "core/options.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/nextcrm_dump_path_XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

std::string state_of(const std::string &dir, const std::string &collection) {
    std::string found = "none";
    try {
        nextcrm::find_dump_file(dir, collection);
    } catch (const nextcrm::Error &e) {
        found = e.sqlstate();
    }
    // The same answer through Dump, the route of every scan, count and run:
    // opening the collection and counting it each check on their own.
    nextcrm::SourceOptions opts;
    opts.dump_dir = dir;
    nextcrm::Dump dump(opts, [] {});
    std::string opened = "none", counted = "none";
    try {
        dump.open(collection);
    } catch (const nextcrm::Error &e) {
        opened = e.sqlstate();
    }
    try {
        dump.count(collection, [] {});
    } catch (const nextcrm::Error &e) {
        counted = e.sqlstate();
    }
    EXPECT_EQ(opened, found) << "Dump::open of " << collection;
    // count() has nothing to count for a name that is no collection.
    if (found != "HV024") {
        EXPECT_EQ(counted, found) << "Dump::count of " << collection;
    }
    return found;
}

} // namespace

TEST(DumpPath, SymbolicLinksCannotLeaveTheDirectory) {
    TempDir outside, dump;
    // One empty BSON document each, so that a file that may be read reads.
    const std::string empty_document("\x05\0\0\0\0", 5);
    std::ofstream(outside.path + "/secret.bson") << empty_document;
    std::ofstream(dump.path + "/inside.bson") << empty_document;
    ASSERT_EQ(symlink((outside.path + "/secret.bson").c_str(), (dump.path + "/link.bson").c_str()),
              0);
    ASSERT_EQ(symlink(outside.path.c_str(), (dump.path + "/sub").c_str()), 0);
    ASSERT_EQ(symlink((dump.path + "/inside.bson").c_str(), (dump.path + "/alias.bson").c_str()),
              0);

    EXPECT_EQ(state_of(dump.path, "inside"), "none");
    EXPECT_EQ(state_of(dump.path, "alias"), "none") << "a link inside the directory is fine";
    EXPECT_EQ(state_of(dump.path, "link"), "42501");
    EXPECT_EQ(state_of(dump.path, "sub/secret"), "HV024");
    EXPECT_EQ(state_of(dump.path, "../" + outside.path.substr(5) + "/secret"), "HV024");
    EXPECT_EQ(state_of(dump.path, "missing"), "none");
    EXPECT_FALSE(nextcrm::find_dump_file(dump.path, "missing").has_value());
    // The directory itself may be reached through a link.
    TempDir links;
    ASSERT_EQ(symlink(dump.path.c_str(), (links.path + "/d").c_str()), 0);
    EXPECT_EQ(state_of(links.path + "/d", "inside"), "none");
    EXPECT_EQ(state_of(links.path + "/d", "link"), "42501");
}
