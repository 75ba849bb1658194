// Dump files stay inside their directory whatever symbolic links say, and
// only regular files are read (core/dump_path.hpp; core/mongodump.hpp's
// Dump, which every reader of a dump goes through).
#include "core/dump_path.hpp"
#include "core/error.hpp"
#include "test_files.hpp"
#include "core/mongodump.hpp"
#include "core/mongodump_archive.hpp"
#include "core/options.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

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

// A message the user reads reaches the entry wall as its format and
// arguments, which errmsg() translates; the text rendered from them is the
// same as before, word for word, numbers included.
TEST(DumpPath, MessagesCarryTheirFormatForTranslation) {
    TempDir dump;
    const std::string pipe = dump.path + "/pipe";
    ASSERT_EQ(mkfifo(pipe.c_str(), 0600), 0);
    try {
        nextcrm::ArchiveReader r(pipe);
        ADD_FAILURE() << "a named pipe was opened as an archive";
    } catch (const nextcrm::Error &e) {
        ASSERT_NE(e.format(), nullptr);
        EXPECT_STREQ(e.format(), "archive \"%s\" is %s, not a regular file");
        EXPECT_EQ(e.args(), (std::vector<std::string>{pipe, "a named pipe"}));
        EXPECT_EQ(std::string(e.what()),
                  "archive \"" + pipe + "\" is a named pipe, not a regular file");
        EXPECT_STREQ(e.sqlstate(), "HV000");
        EXPECT_EQ(e.detail(), "Only regular files are read from a dump.");
    }
    try {
        nextcrm::DumpFileSource s(dump.path);
        ADD_FAILURE() << "a directory was opened as a dump file";
    } catch (const nextcrm::Error &e) {
        ASSERT_NE(e.format(), nullptr);
        EXPECT_STREQ(e.format(), "dump file \"%s\" is a directory, not a file");
        EXPECT_EQ(std::string(e.what()),
                  "dump file \"" + dump.path + "\" is a directory, not a file");
    }
    // A document then a length prefix cut short: the count is an argument.
    const std::string cut = dump.path + "/cut.bson";
    std::ofstream(cut) << std::string("\x05\0\0\0\0", 5) << std::string("\x10\0", 2);
    try {
        nextcrm::count_dump_documents(cut);
        ADD_FAILURE() << "a cut file was counted";
    } catch (const nextcrm::Error &e) {
        ASSERT_NE(e.format(), nullptr);
        EXPECT_STREQ(e.format(), "%s is truncated or corrupt after %s documents");
        EXPECT_EQ(e.args(), (std::vector<std::string>{cut, "1"}));
        EXPECT_EQ(std::string(e.what()), cut + " is truncated or corrupt after 1 documents");
    }
    // Adding where the damage was keeps the format.
    nextcrm::Error damaged(
        nextcrm::Message(NEXTCRM_MSG("archive \"%s\" fails at byte %s"), "a", "7"),
        nextcrm::sqlstate::data_corrupted, "first", "a hint");
    nextcrm::Error located = damaged.with_detail("Collection \"x\": 3 documents were read.");
    EXPECT_STREQ(located.format(), damaged.format());
    EXPECT_EQ(located.args(), damaged.args());
    EXPECT_STREQ(located.what(), "archive \"a\" fails at byte 7");
    EXPECT_EQ(located.detail(), "Collection \"x\": 3 documents were read.");
    EXPECT_EQ(located.hint(), "a hint");
    EXPECT_STREQ(located.sqlstate(), "XX001");
}
