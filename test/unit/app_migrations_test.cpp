// A profile that takes its migrations from the application checkout
// (migrations_from = app_dir, core/app_migrations.hpp): the v0.21.2 profile
// loads without them, takes the release's prisma/ folder (the checkout or
// prisma/ itself), and refuses a checkout whose migrations differ, naming
// the first difference.
#include "core/app_migrations.hpp"
#include "core/error.hpp"
#include "core/profile.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

using nextcrm::Error;
using nextcrm::Profile;
namespace fs = std::filesystem;

namespace {

const std::string profile_dir = NEXTCRM_SOURCE_DIR "/profiles/nextcrm-v0.21.2";
// The release's files (../shared/fixtures/nextcrm-app-v0.21.2 beside the
// repository's worktrees, or NEXTCRM_APP_V0212).
fs::path app_fixture() {
    if (const char *env = std::getenv("NEXTCRM_APP_V0212"))
        return env;
    return fs::path(NEXTCRM_SOURCE_DIR) / ".." / "shared" / "fixtures" / "nextcrm-app-v0.21.2";
}

const Profile &v0212() {
    static const Profile p = Profile::load(profile_dir, "nextcrm-v0.21.2");
    return p;
}

// A writable copy of the release's prisma/ folder, to damage.
class AppCopy : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(fs::is_directory(app_fixture() / "prisma" / "migrations"))
            << app_fixture() << " holds no prisma/migrations";
        dir_ = fs::temp_directory_path() /
               ("nextcrm_app_test_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "prisma");
        fs::copy(app_fixture() / "prisma" / "migrations", migrations(),
                 fs::copy_options::recursive);
        for (auto &e : fs::recursive_directory_iterator(dir_))
            fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add);
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path migrations() const { return dir_ / "prisma" / "migrations"; }
    // The refusal's message and detail, or "" when the checkout is accepted.
    std::string refusal() const {
        try {
            (void)v0212().with_app_migrations(dir_.string());
        } catch (const Error &e) {
            return std::string(e.what()) + " | " + e.detail();
        }
        return "";
    }
    std::string message() const {
        return "the migrations in \"" + migrations().string() +
               "\" are not those of NextCRM v0.21.2 | ";
    }

    fs::path dir_;
};

} // namespace

TEST(AppMigrations, TheProfileLoadsWithoutACheckout) {
    const Profile &p = v0212();
    EXPECT_TRUE(p.migrations_from_app());
    ASSERT_EQ(p.migrations().size(), 44u);
    EXPECT_EQ(p.migrations().front().name, "0_init");
    EXPECT_EQ(p.migrations().back().name, "20260719203102_aqunama_p4c_scope_level");
    EXPECT_TRUE(p.migrations().front().sql.empty());
    EXPECT_EQ(p.required_postgresql(), 17);
    EXPECT_EQ(p.required_extensions(), std::vector<std::string>{"vector"});
}

TEST(AppMigrations, TheReleaseCheckoutAndItsPrismaFolderAreAccepted) {
    for (const fs::path &dir : {app_fixture(), app_fixture() / "prisma"}) {
        Profile p = v0212().with_app_migrations(dir.string());
        ASSERT_EQ(p.migrations().size(), 44u) << dir;
        for (const auto &m : p.migrations()) {
            EXPECT_FALSE(m.sql.empty()) << m.name;
            EXPECT_EQ(nextcrm::sha256_hex(m.sql), m.sha256) << m.name;
        }
    }
}

TEST_F(AppCopy, AnUnchangedCopyIsAccepted) {
    EXPECT_EQ(refusal(), "");
}

TEST_F(AppCopy, AMissingFolderIsNamed) {
    fs::remove_all(migrations() / "20260325000001_drop_system_modules_enabled");
    EXPECT_EQ(refusal(),
              message() + "Migration \"20260325000001_drop_system_modules_enabled\" is missing.");
}

TEST_F(AppCopy, AnExtraFolderIsNamed) {
    fs::create_directory(migrations() / "20260801000000_local_change");
    std::ofstream(migrations() / "20260801000000_local_change" / "migration.sql") << "SELECT 1;";
    EXPECT_EQ(refusal(), message() + "Folder \"20260801000000_local_change\" is not a migration "
                                     "of the profile.");
}

TEST_F(AppCopy, ARenamedFolderIsNamed) {
    // The folder's name before 2026-03-25 (UPSTREAM-v0.21.2.md §2.5).
    fs::rename(migrations() / "20260325000001_drop_system_modules_enabled",
               migrations() / "20260325000000_drop_system_modules_enabled");
    EXPECT_EQ(refusal(), message() + "Folder \"20260325000000_drop_system_modules_enabled\" stands "
                                     "where the profile expects "
                                     "\"20260325000001_drop_system_modules_enabled\" "
                                     "(renamed?).");
}

TEST_F(AppCopy, AChangedChecksumIsNamed) {
    std::ofstream(migrations() / "20260404120000_add_currency_support" / "migration.sql",
                  std::ios::app)
        << "\n";
    std::string r = refusal();
    EXPECT_EQ(r.rfind(message() + "Its 20260404120000_add_currency_support/migration.sql has "
                                  "sha256 ",
                      0),
              0u)
        << r;
    EXPECT_NE(r.find("the profile expects "
                     "b8f534ae7e366a7467cccb6a704157f7ab5fafa4c7e0bee459d8027bb808eb7e."),
              std::string::npos)
        << r;
}

TEST_F(AppCopy, ALinkedMigrationFileIsNotFollowed) {
    fs::path sql = migrations() / "0_init" / "migration.sql";
    fs::rename(sql, dir_ / "init.sql");
    fs::create_symlink(dir_ / "init.sql", sql);
    EXPECT_EQ(refusal(), message() + "Its 0_init/migration.sql is a symbolic link.");
}

TEST_F(AppCopy, ADirectoryWithoutMigrationsIsRefused) {
    fs::remove_all(migrations());
    std::string r = refusal();
    EXPECT_EQ(r, "app directory \"" + dir_.string() + "\" has no readable prisma/migrations | \"" +
                     migrations().string() + "\" does not exist.");
}

TEST(AppMigrations, ARelativeAppDirIsRefused) {
    EXPECT_THROW((void)v0212().with_app_migrations("prisma"), Error);
}

TEST(AppMigrations, AnOwnTransactionIsBlankedOut) {
    using nextcrm::without_own_transaction;
    EXPECT_EQ(without_own_transaction("BEGIN;\nCREATE TABLE t ();\nCOMMIT;\n"),
              "      \nCREATE TABLE t ();\n       \n");
    EXPECT_EQ(without_own_transaction("-- c\n begin ;\nSELECT 1;\ncommit;"),
              "-- c\n        \nSELECT 1;\n       ");
    // Only both together, only as the first and the last statement.
    EXPECT_EQ(without_own_transaction("BEGIN;\nSELECT 1;\n"), "BEGIN;\nSELECT 1;\n");
    EXPECT_EQ(without_own_transaction("SELECT 1;\nCOMMIT;"), "SELECT 1;\nCOMMIT;");
    EXPECT_EQ(without_own_transaction("DO $$ BEGIN NULL; END $$;\nCOMMIT;"),
              "DO $$ BEGIN NULL; END $$;\nCOMMIT;");
    EXPECT_EQ(without_own_transaction("BEGIN;\nSELECT 1;\nXCOMMIT;"),
              "BEGIN;\nSELECT 1;\nXCOMMIT;");
}
