// Dump files stay inside their directory whatever symbolic links say
// (core/dump_path.hpp; core/mongodump.hpp's Dump, which every reader of a
// dump goes through).
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

// The SQLSTATE of opening the collection through Dump, the route of every
// scan, count and run ("none" when it opens or is absent); counting it must
// give the same answer.
std::string state_of(const std::string &dir, const std::string &collection) {
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
    // count() has nothing to count for a name that is no collection.
    if (opened != "HV024") {
        EXPECT_EQ(counted, opened) << "Dump::count of " << collection;
    }
    return opened;
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
    {
        nextcrm::SourceOptions opts;
        opts.dump_dir = dump.path;
        EXPECT_EQ(nextcrm::Dump(opts, [] {}).open("missing"), nullptr);
    }
    // The directory itself may be reached through a link.
    TempDir links;
    ASSERT_EQ(symlink(dump.path.c_str(), (links.path + "/d").c_str()), 0);
    EXPECT_EQ(state_of(links.path + "/d", "inside"), "none");
    EXPECT_EQ(state_of(links.path + "/d", "link"), "42501");
}
