#include "core/csv.hpp"
#include "core/error.hpp"
#include "core/source_schema.hpp"
#include "test_profile.hpp"

#include <gtest/gtest.h>

#include <set>

TEST(Csv, QuotesAndLineEnds) {
    auto rows = nextcrm::parse_csv("a,\"b,c\",\"say \"\"hi\"\"\"\r\n,x,\n\"multi\nline\"");
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0], (nextcrm::CsvRow{"a", "b,c", "say \"hi\""}));
    EXPECT_EQ(rows[1], (nextcrm::CsvRow{"", "x", ""}));
    EXPECT_EQ(rows[2], (nextcrm::CsvRow{"multi\nline"}));
    EXPECT_THROW(nextcrm::parse_csv("\"open"), nextcrm::Error);
}

TEST(Csv, RecordsKnowTheLineTheyStartOn) {
    std::vector<std::size_t> lines;
    auto rows = nextcrm::parse_csv("h\r\n\"two\nlines\"\nthird\n", &lines);
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(lines, (std::vector<std::size_t>{1, 2, 4}));
}

TEST(SourceSchema, TheNextcrmProfileHasTwentyNineTypedCollections) {
    const auto &csv = nextcrm::test::nextcrm_profile().source_fields_csv();
    ASSERT_TRUE(csv);
    auto tables = nextcrm::source_tables(*csv);
    ASSERT_EQ(tables.size(), 29u);
    std::set<std::string> names;
    for (const auto &t : tables) {
        names.insert(t.collection);
        ASSERT_FALSE(t.columns.empty());
        EXPECT_EQ(t.columns.front().name, "_id") << t.collection;
        EXPECT_EQ(t.columns.front().sql_type, "text") << t.collection;
    }
    EXPECT_EQ(names.count("gpt_models"), 1u);
    EXPECT_EQ(names.count("crm_Accounts"), 1u);
    const auto &accounts = *std::find_if(
        tables.begin(), tables.end(), [](const auto &t) { return t.collection == "crm_Accounts"; });
    auto type_of = [&](const std::string &col) {
        for (const auto &c : accounts.columns)
            if (c.name == col)
                return c.sql_type;
        return std::string("missing");
    };
    EXPECT_EQ(type_of("__v"), "integer");
    EXPECT_EQ(type_of("createdAt"), "timestamptz");
    EXPECT_EQ(type_of("contacts"), "missing"); // relation fields are not stored
    auto uuid_tables = nextcrm::source_tables(*csv, "uuid");
    EXPECT_EQ(uuid_tables.front().columns.front().sql_type, "uuid");
    EXPECT_THROW(nextcrm::source_tables(*csv, "int"), nextcrm::Error);
}
