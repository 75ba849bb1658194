// Dump files stay inside their directory whatever symbolic links say, and
// only regular files are read (core/dump_path.hpp; core/mongodump.hpp's
// Dump, which every reader of a dump goes through).
#include "core/dump_path.hpp"
#include "core/error.hpp"
#include "core/mongodump.hpp"
#include "core/mongodump_archive.hpp"
#include "core/options.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <sys/stat.h>
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

// The message of what `f` throws, or "" when it throws nothing.
template <typename F>
std::string error_of(F f) {
    try {
        f();
    } catch (const nextcrm::Error &e) {
        return std::string(e.what()) + " | " + e.detail() + " | " + e.hint();
    }
    return "";
}

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
    // No link is followed, not even one that stays inside: a link can be
    // swapped for another between any check and the open.
    EXPECT_EQ(state_of(dump.path, "alias"), "42501");
    EXPECT_EQ(state_of(dump.path, "link"), "42501");
    {
        nextcrm::SourceOptions opts;
        opts.dump_dir = dump.path;
        nextcrm::Dump d(opts, [] {});
        std::string e = error_of([&] { d.open("link"); });
        EXPECT_NE(e.find("is a symbolic link"), std::string::npos) << e;
        EXPECT_NE(e.find("instead of linking to it"), std::string::npos) << e;
    }
    EXPECT_EQ(state_of(dump.path, "sub/secret"), "HV024");
    EXPECT_EQ(state_of(dump.path, "../" + outside.path.substr(5) + "/secret"), "HV024");
    EXPECT_EQ(state_of(dump.path, "missing"), "none");
    {
        nextcrm::SourceOptions opts;
        opts.dump_dir = dump.path;
        EXPECT_EQ(nextcrm::Dump(opts, [] {}).open("missing"), nullptr);
    }
    // A link swapped in after the dump was listed is refused when opened.
    {
        nextcrm::SourceOptions opts;
        opts.dump_dir = dump.path;
        nextcrm::Dump d(opts, [] {});
        ASSERT_EQ(rename((dump.path + "/link.bson").c_str(), (dump.path + "/inside.bson").c_str()),
                  0);
        std::string e = error_of([&] { d.open("inside"); });
        EXPECT_NE(e.find("dump file \"" + dump.path + "/inside.bson\" is a symbolic link"),
                  std::string::npos)
            << e;
        e = error_of([&] { d.count("inside", [] {}); });
        EXPECT_NE(e.find("is a symbolic link"), std::string::npos) << e;
        std::ofstream(dump.path + "/inside.bson.new") << empty_document;
        ASSERT_EQ(
            rename((dump.path + "/inside.bson.new").c_str(), (dump.path + "/inside.bson").c_str()),
            0);
    }
    // The directory itself may be reached through a link.
    TempDir links;
    ASSERT_EQ(symlink(dump.path.c_str(), (links.path + "/d").c_str()), 0);
    EXPECT_EQ(state_of(links.path + "/d", "inside"), "none");
    EXPECT_EQ(state_of(links.path + "/d", "alias"), "42501");
}

TEST(DumpPath, ADatabaseFolderThatIsALinkIsRefused) {
    TempDir outside, dump;
    const std::string empty_document("\x05\0\0\0\0", 5);
    std::ofstream(outside.path + "/secret.bson") << empty_document;
    std::ofstream(dump.path + "/prelude.json") << "{}";
    ASSERT_EQ(symlink(outside.path.c_str(), (dump.path + "/nextcrm").c_str()), 0);
    nextcrm::SourceOptions opts;
    opts.dump_dir = dump.path;
    opts.database = "nextcrm";
    std::string e = error_of([&] { nextcrm::Dump d(opts, [] {}); });
    EXPECT_NE(e.find("is not in the dump"), std::string::npos) << e;
}

// Named pipes, sockets and directories are never opened for reading: a pipe
// would wait for a writer that never comes.  Each is an error naming the
// file, wherever the dump's reader meets it.
TEST(DumpPath, OnlyRegularFilesAreRead) {
    TempDir dump;
    const std::string empty_document("\x05\0\0\0\0", 5);
    ASSERT_EQ(mkfifo((dump.path + "/Users.bson").c_str(), 0600), 0);
    ASSERT_EQ(mkfifo((dump.path + "/Tasks.metadata.json").c_str(), 0600), 0);
    std::ofstream(dump.path + "/Tasks.bson") << empty_document;
    std::ofstream(dump.path + "/Boards.bson") << empty_document;
    nextcrm::SourceOptions opts;
    opts.dump_dir = dump.path;
    nextcrm::Dump d(opts, [] {});
    using S = nextcrm::DumpEntry::State;
    ASSERT_NE(d.find("Users"), nullptr);
    EXPECT_EQ(d.find("Users")->state, S::Unusable);
    EXPECT_EQ(d.find("Tasks")->state, S::Unusable);
    EXPECT_EQ(d.find("Boards")->state, S::Ready);
    std::string e = error_of([&] { d.open("Users"); });
    EXPECT_NE(e.find(dump.path + "/Users.bson\" is a named pipe, not a regular file"),
              std::string::npos)
        << e;
    e = error_of([&] { d.count("Users", [] {}); });
    EXPECT_NE(e.find("is a named pipe"), std::string::npos) << e;
    e = error_of([&] { d.open("Tasks"); });
    EXPECT_NE(e.find("metadata file \"" + dump.path + "/Tasks.metadata.json\" is a named pipe"),
              std::string::npos)
        << e;
    // A pipe put where a file was after the listing is refused when opened.
    ASSERT_EQ(unlink((dump.path + "/Boards.bson").c_str()), 0);
    ASSERT_EQ(mkfifo((dump.path + "/Boards.bson").c_str(), 0600), 0);
    e = error_of([&] { d.open("Boards"); });
    EXPECT_NE(e.find("is a named pipe"), std::string::npos) << e;
    e = error_of([&] { d.count("Boards", [] {}); });
    EXPECT_NE(e.find("is a named pipe"), std::string::npos) << e;
    // An archive that is a pipe, or a directory.
    nextcrm::SourceOptions archive;
    archive.archive = dump.path + "/Users.bson";
    e = error_of([&] { nextcrm::Dump a(archive, [] {}); });
    EXPECT_NE(e.find("is not a regular file"), std::string::npos) << e;
    e = error_of([&] { nextcrm::ArchiveReader r(dump.path + "/Users.bson"); });
    EXPECT_NE(e.find("archive \"" + dump.path + "/Users.bson\" is a named pipe"), std::string::npos)
        << e;
    e = error_of([&] { nextcrm::DumpFileSource s(dump.path + "/Users.bson"); });
    EXPECT_NE(e.find("is a named pipe"), std::string::npos) << e;
    e = error_of([&] { nextcrm::count_dump_documents(dump.path + "/Users.bson"); });
    EXPECT_NE(e.find("is a named pipe"), std::string::npos) << e;
}
