// Profiles (core/profile.hpp): the repository's two load, and each kind of
// inconsistency is refused with the file, the line and the field.
#include "core/ddl_columns.hpp"
#include "core/error.hpp"
#include "core/profile.hpp"
#include "test_profile.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

using nextcrm::Error;
using nextcrm::Profile;
namespace fs = std::filesystem;

namespace {

const std::string mini_dir = NEXTCRM_SOURCE_DIR "/test/profiles/mini";

std::string slurp(const fs::path &p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

void spill(const fs::path &p, const std::string &text) {
    std::ofstream(p, std::ios::binary) << text;
}

// A copy of the mini profile in a fresh directory, named `name`.
class MiniCopy : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("nextcrm_profile_test_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        fs::copy(mini_dir, dir_ / "mini", fs::copy_options::recursive);
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path file(const std::string &name) const { return dir_ / "mini" / name; }
    void replace(const std::string &name, const std::string &from, const std::string &to) {
        std::string text = slurp(file(name));
        auto at = text.find(from);
        ASSERT_NE(at, std::string::npos) << from;
        spill(file(name), text.replace(at, from.size(), to));
    }
    // The message of the refusal, or "" when the profile loads.
    std::string refusal() const {
        try {
            (void)Profile::load((dir_ / "mini").string(), "mini");
        } catch (const Error &e) {
            return e.what();
        }
        return "";
    }

    fs::path dir_;
};

} // namespace

TEST(Profile, TheNextcrmProfileLoadsFromTheRepository) {
    const Profile &p = nextcrm::test::nextcrm_profile();
    EXPECT_EQ(p.name(), "nextcrm");
    EXPECT_EQ(p.title(), "NextCRM");
    ASSERT_GE(p.migrations().size(), 2u);
    EXPECT_EQ(p.migrations().front().name, "20261124060000_init");
    for (const auto &m : p.migrations())
        EXPECT_EQ(nextcrm::sha256_hex(m.sql), m.sha256) << m.name;
    EXPECT_EQ(p.mapping().collections().size(), 29u);
    EXPECT_TRUE(p.source_fields_csv());
    ASSERT_EQ(p.rules().size(), 4u);
    EXPECT_EQ(p.rules()[2].table, "Invoices");
    EXPECT_EQ(p.rules()[2].first, "date_created");
    EXPECT_EQ(p.rules()[2].second, "date_due");
}

TEST(Profile, TheMiniProfileLoadsInDependencyOrder) {
    Profile p = Profile::load(mini_dir, "mini");
    EXPECT_EQ(p.migrations().size(), 2u);
    std::vector<std::string> order;
    for (const auto &c : p.mapping().collections())
        order.push_back(c.name);
    // notes comes first in mapping.csv but references projects, which
    // references people; secrets (kept whole) references nothing.
    EXPECT_EQ(order, (std::vector<std::string>{"people", "projects", "notes", "secrets"}));
    EXPECT_TRUE(p.mapping().collection("secrets")->kept_whole);
    EXPECT_EQ(p.mapping().value_maps().at("stage").at("in_progress"), "Active");
    ASSERT_EQ(p.mapping().junctions().size(), 1u);
    EXPECT_EQ(p.mapping().junctions()[0].a_model, "people");
    EXPECT_EQ(p.mapping().junctions()[0].b_model, "projects");
}

TEST(Profile, Sha256IsTheDigestPrismaRecords) {
    EXPECT_EQ(nextcrm::sha256_hex("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(MiniCopy, LoadsUnchanged) {
    EXPECT_EQ(refusal(), "");
}

TEST_F(MiniCopy, AnUnknownConversionKindNamesFileLineAndField) {
    replace("mapping.csv", "notes,body,body,text,", "notes,body,body,blob,");
    EXPECT_EQ(refusal(), "invalid profile \"mini\": mapping.csv line 4, field \"kind\": unknown "
                         "conversion kind \"blob\"");
}

TEST_F(MiniCopy, AReferenceToAnUnknownCollectionIsRefused) {
    replace("mapping.csv", "uuid,projects,yes", "uuid,projcts,yes");
    EXPECT_EQ(refusal(), "invalid profile \"mini\": mapping.csv line 3, field \"ref_model\": "
                         "unknown collection \"projcts\"");
}

TEST_F(MiniCopy, AColumnTheMigrationsDoNotCreateIsRefused) {
    replace("mapping.csv", "people,email,email,text,people,email,",
            "people,email,email,text,people,mail,");
    EXPECT_EQ(refusal(), "invalid profile \"mini\": mapping.csv line 11, field \"target_column\": "
                         "column \"mail\" of table \"people\" is not created by the profile's "
                         "migrations");
}

TEST_F(MiniCopy, AJunctionTableTheMigrationsDoNotCreateIsRefused) {
    replace("mapping.csv", "junction,_PeopleToProjects,", "junction,_PeopleToProject,");
    EXPECT_EQ(refusal(), "invalid profile \"mini\": mapping.csv line 19, field \"target_table\": "
                         "table \"_PeopleToProject\" is not created by the profile's migrations");
}

TEST_F(MiniCopy, AnUnknownSpecialTokenIsRefused) {
    replace("mapping.csv", "people,api_token,api_token,text,people,api_token,,text,,no,,null,,",
            "people,api_token,api_token,text,people,api_token,,text,,no,,null,secrt,");
    EXPECT_EQ(refusal(), "invalid profile \"mini\": mapping.csv line 13, field \"special\": "
                         "unknown token \"secrt\"");
}

TEST_F(MiniCopy, AnEnumTheListLacksIsRefused) {
    replace("mongo-enums.csv", "ProjectStatus,", "Status,");
    EXPECT_EQ(refusal(), "invalid profile \"mini\": mapping.csv line 17, field \"pg_type\": "
                         "unknown enum type \"ProjectStatus\" (not in mongo-enums.csv)");
}

TEST_F(MiniCopy, AChangedMigrationIsRefusedByItsChecksum) {
    replace("migrations/20260101000000_init/migration.sql", "\"email\" TEXT,",
            "\"email\" TEXT, \"phone\" TEXT,");
    std::string why = refusal();
    EXPECT_NE(why.find("profile.conf line 9, field \"migration\": "
                       "migrations/20260101000000_init/migration.sql has sha256 "),
              std::string::npos)
        << why;
    EXPECT_NE(why.find("the manifest lists 8c911d0c"), std::string::npos) << why;
}

TEST_F(MiniCopy, AMigrationTheManifestDoesNotListIsRefused) {
    fs::create_directories(file("migrations/20260202000000_more"));
    spill(file("migrations/20260202000000_more/migration.sql"), "SELECT 1;\n");
    EXPECT_EQ(refusal(), "invalid profile \"mini\": migrations/20260202000000_more is not listed "
                         "in profile.conf");
}

TEST_F(MiniCopy, AnUnknownManifestKeyIsRefused) {
    replace("profile.conf", "version = 1", "verison = 1");
    EXPECT_EQ(refusal(), "invalid profile \"mini\": profile.conf line 6, field \"verison\": "
                         "unknown key");
}

TEST_F(MiniCopy, TheManifestNamesItsDirectory) {
    replace("profile.conf", "name = mini", "name = maxi");
    EXPECT_EQ(refusal(), "invalid profile \"mini\": profile.conf line 4, field \"name\": names "
                         "profile \"maxi\", not the directory's name");
}

TEST_F(MiniCopy, AnUnknownMigrationsSourceIsNotSupported) {
    replace("profile.conf", "migrations_from = profile", "migrations_from = git");
    EXPECT_NE(refusal().find("does not support"), std::string::npos);
}

TEST_F(MiniCopy, ARuleOnAColumnThatIsNoMappedTimestampIsRefused) {
    spill(file("rules.csv"), "rule,table,first,second\n"
                             "date_range,projects,startedAt,startedAt\n"
                             "date_range,projects,startedAt,name\n");
    EXPECT_EQ(refusal(), "invalid profile \"mini\": rules.csv line 3, field \"second\": \"name\" "
                         "is not a mapped timestamp column of \"projects\"");
    spill(file("rules.csv"), "rule,table,first,second\ndate_order,projects,startedAt,startedAt\n");
    EXPECT_EQ(
        refusal(),
        "invalid profile \"mini\": rules.csv line 2, field \"rule\": unknown rule \"date_order\"");
    spill(file("rules.csv"), "rule,table,first,second\ndate_range,project,startedAt,startedAt\n");
    EXPECT_EQ(refusal(), "invalid profile \"mini\": rules.csv line 2, field \"table\": unknown "
                         "collection \"project\"");
}

TEST_F(MiniCopy, AnOnDeleteRuleNamesAKnownAction) {
    // none: a reference the target declares without a foreign key.
    spill(file("rules.csv"), "rule,table,first,second\non_delete,notes,project,none\n");
    EXPECT_EQ(refusal(), "");
    spill(file("rules.csv"), "rule,table,first,second\non_delete,notes,project,nothing\n");
    EXPECT_EQ(refusal(), "invalid profile \"mini\": rules.csv line 2, field \"second\": unknown "
                         "ON DELETE action \"nothing\" (cascade, restrict, set_null, set_default, "
                         "no_action, none)");
}

TEST(DdlColumns, FollowsCreateAlterRenameAndDrop) {
    nextcrm::DdlColumns ddl;
    ddl.apply(R"(
        -- a comment with CREATE TABLE "ghost" ("x" INT);
        CREATE TABLE IF NOT EXISTS "public"."t" (
            "id" UUID NOT NULL,
            plain_Name TEXT DEFAULT 'a, b; c',
            "n" NUMERIC(10, 2),
            CONSTRAINT "t_pkey" PRIMARY KEY ("id")
        );
        CREATE FUNCTION f() RETURNS trigger AS $body$
        BEGIN CREATE TABLE inner_ghost (y int); END $body$ LANGUAGE plpgsql;
        ALTER TABLE "t" ADD COLUMN "a" TEXT, ADD COLUMN "b" TEXT, DROP COLUMN "n";
        ALTER TABLE "t" RENAME COLUMN "a" TO "a2";
        ALTER TABLE "t" ADD CONSTRAINT "t_b_key" UNIQUE ("b");
        CREATE TABLE "gone" ("z" INT);
        DROP TABLE "gone";
        CREATE TABLE "old" ("k" INT);
        ALTER TABLE "old" RENAME TO "new";
    )");
    EXPECT_TRUE(ddl.has_column("t", "id"));
    EXPECT_TRUE(ddl.has_column("t", "plain_name")); // unquoted: folded to lower case
    EXPECT_FALSE(ddl.has_column("t", "plain_Name"));
    EXPECT_FALSE(ddl.has_column("t", "n"));
    EXPECT_FALSE(ddl.has_column("t", "a"));
    EXPECT_TRUE(ddl.has_column("t", "a2"));
    EXPECT_TRUE(ddl.has_column("t", "b"));
    EXPECT_FALSE(ddl.has_column("t", "t_b_key"));
    EXPECT_FALSE(ddl.has_column("t", "t_pkey"));
    EXPECT_FALSE(ddl.has_table("ghost"));
    EXPECT_FALSE(ddl.has_table("inner_ghost"));
    EXPECT_FALSE(ddl.has_table("gone"));
    EXPECT_FALSE(ddl.has_table("old"));
    EXPECT_TRUE(ddl.has_column("new", "k"));
}
