#include "core/error.hpp"
#include "core/query_builder.hpp"

#include <gtest/gtest.h>

#include <string>

using nextcrm::CompareOp;
using nextcrm::Condition;
using nextcrm::OwnedValue;

namespace {

OwnedValue int_value(int v) {
    bson_value_t b;
    b.value_type = BSON_TYPE_INT32;
    b.value.v_int32 = v;
    return OwnedValue(&b);
}

// libbson 1.x writes an empty array as "[  ]", 2.x as "[ ]": the tests compare
// the 2.x spelling under either.
std::string relaxed(const nextcrm::BsonPtr &doc) {
    char *s = bson_as_relaxed_extended_json(doc.get(), nullptr);
    std::string out(s);
    bson_free(s);
    for (std::size_t at; (at = out.find("[  ]")) != std::string::npos;)
        out.replace(at, 4, "[ ]");
    return out;
}

} // namespace

TEST(QueryBuilder, ComparisonsAndThreeValuedNegation) {
    std::vector<Condition> conds;
    conds.push_back(Condition::compare("a", CompareOp::Ne, int_value(5)));
    EXPECT_EQ(relaxed(nextcrm::build_filter(conds)), "{ \"a\" : { \"$nin\" : [ 5, null ] } }");
    conds.clear();
    conds.push_back(Condition::negate(Condition::compare("a", CompareOp::Lt, int_value(5))));
    EXPECT_EQ(relaxed(nextcrm::build_filter(conds)), "{ \"a\" : { \"$gte\" : 5 } }");
    conds.clear();
    std::vector<Condition> ors;
    ors.push_back(Condition::compare("a", CompareOp::Eq, int_value(1)));
    ors.push_back(Condition::is_null("b", true));
    conds.push_back(Condition::negate(Condition::either(std::move(ors))));
    EXPECT_EQ(relaxed(nextcrm::build_filter(conds)),
              "{ \"$and\" : [ { \"a\" : { \"$nin\" : [ 1, null ] } }, { \"b\" : { \"$ne\" : null "
              "} } ] }");
}

TEST(QueryBuilder, InListsAndConjunctions) {
    std::vector<OwnedValue> list{int_value(1), int_value(2)};
    std::vector<Condition> conds;
    conds.push_back(Condition::in("a", list));
    conds.push_back(Condition::negate(Condition::in("b", list, true)));
    EXPECT_EQ(relaxed(nextcrm::build_filter(conds)),
              "{ \"$and\" : [ { \"a\" : { \"$in\" : [ 1, 2 ] } }, { \"b\" : { \"$in\" : [ ] } } "
              "] }");
    EXPECT_EQ(relaxed(nextcrm::build_filter({})), "{ }");
}

TEST(QueryBuilder, ProjectionDropsCollidingPaths) {
    EXPECT_EQ(relaxed(nextcrm::build_projection({"a.b", "a", "a-x", "c.d"})),
              "{ \"_id\" : 1, \"a\" : 1, \"a-x\" : 1, \"c.d\" : 1 }");
    EXPECT_EQ(relaxed(nextcrm::build_projection({})), "{ \"_id\" : 1 }");
}

TEST(QueryBuilder, SortAndJsonRoundTrip) {
    auto sort = nextcrm::build_sort({{"_id", true}, {"n", false}});
    std::string json = nextcrm::to_json(sort.get());
    EXPECT_EQ(json,
              "{ \"_id\" : { \"$numberInt\" : \"1\" }, \"n\" : { \"$numberInt\" : \"-1\" } }");
    EXPECT_TRUE(bson_equal(nextcrm::from_json(json).get(), sort.get()));
    EXPECT_THROW(nextcrm::from_json("{ nope"), nextcrm::Error);
}

TEST(QueryBuilder, ResumeAfterIdAddsFilterAndSort) {
    nextcrm::QuerySpec spec;
    spec.filter = nextcrm::BsonPtr(BCON_NEW("a", BCON_INT32(1)));
    spec.resume_after_id = int_value(7);
    spec.batch_size = 10;
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER;
    nextcrm::build_find(spec, &filter, &opts);
    char *f = bson_as_relaxed_extended_json(&filter, nullptr);
    char *o = bson_as_relaxed_extended_json(&opts, nullptr);
    EXPECT_STREQ(f, "{ \"$and\" : [ { \"a\" : 1 }, { \"_id\" : { \"$gt\" : 7 } } ] }");
    EXPECT_STREQ(o, "{ \"sort\" : { \"_id\" : 1 }, \"batchSize\" : 10 }");
    bson_free(f);
    bson_free(o);
    bson_destroy(&filter);
    bson_destroy(&opts);
}
