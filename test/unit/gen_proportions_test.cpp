#include "gen_support.hpp"

#include <gtest/gtest.h>

using nextcrm::gen::Catalog;
using nextcrm::gen::Plan;

TEST(GenProportions, EveryCollectionGetsDocumentsAndTheSumIsExact) {
    for (std::uint64_t n : {100ull, 101ull, 137ull, 1000ull, 2000ull, 54321ull, 1000000ull}) {
        Plan plan(Catalog::get(), n, 1);
        ASSERT_EQ(plan.collections().size(), 29u);
        std::uint64_t sum = 0;
        for (const auto &c : plan.collections()) {
            EXPECT_GE(c.count, 1u) << c.name << " at N=" << n;
            sum += c.count;
        }
        EXPECT_EQ(sum, n);
    }
}

TEST(GenProportions, BusyCollectionsDominateLookupsStaySmall) {
    Plan plan(Catalog::get(), 100000, 1);
    auto count = [&](const char *name) { return plan.at(Catalog::get().model_index(name)).count; };
    EXPECT_GT(count("Tasks"), count("Users") * 10);
    EXPECT_GT(count("crm_Contacts"), count("crm_Accounts"));
    EXPECT_GT(count("tasksComments"), 10000u);
    EXPECT_EQ(count("crm_Opportunities_Sales_Stages"), 9u);
    EXPECT_EQ(count("system_Modules_Enabled"), 10u);
    EXPECT_EQ(count("MyAccount"), 1u);
}

TEST(GenProportions, LookupsHoldNextCrmSeedRecords) {
    nextcrm::gen::GenOptions o;
    nextcrm::gen::Generator g(500, o);
    gen_test::MemorySink sink;
    g.run(sink);
    bool ok = false;
    auto stages = gen_test::parse_docs(sink.bytes.at("crm_Opportunities_Sales_Stages"), &ok);
    ASSERT_EQ(stages.size(), 9u);
    bson_iter_t it;
    ASSERT_TRUE(bson_iter_init_find(&it, stages[0], "name"));
    EXPECT_STREQ(bson_iter_utf8(&it, nullptr), "New");
    ASSERT_TRUE(bson_iter_init_find(&it, stages[0], "__v"));
    for (bson_t *d : stages)
        bson_destroy(d);
    auto modules = gen_test::parse_docs(sink.bytes.at("system_Modules_Enabled"), &ok);
    ASSERT_EQ(modules.size(), 10u);
    ASSERT_TRUE(bson_iter_init_find(&it, modules[9], "name"));
    EXPECT_STREQ(bson_iter_utf8(&it, nullptr), "openai");
    for (bson_t *d : modules)
        bson_destroy(d);
}

TEST(GenProportions, ObjectIdsAreTimeOrderedWithinTheEpoch) {
    Plan plan(Catalog::get(), 10000, 3);
    for (const auto &c : plan.collections()) {
        std::int64_t last = 0;
        for (std::uint32_t i = 0; i < c.count; ++i) {
            std::int64_t s = plan.oid_seconds(c.model, i);
            EXPECT_GE(s, last) << c.name;
            EXPECT_GE(s, 1688169600) << c.name;
            EXPECT_LE(s, 1743379200) << c.name;
            last = s;
        }
    }
}
