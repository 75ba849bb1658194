#include "core/schema_infer.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

std::string describe(const std::vector<nextcrm::SchemaColumn> &cols) {
    std::string out;
    for (const auto &c : cols)
        out += (out.empty() ? "" : " ") + c.name + ":" + c.sql_type;
    return out;
}

void add_json(nextcrm::SchemaSampler &s, const char *json) {
    bson_error_t err;
    bson_t *doc = bson_new_from_json(reinterpret_cast<const uint8_t *>(json), -1, &err);
    ASSERT_NE(doc, nullptr) << err.message;
    s.add(doc);
    bson_destroy(doc);
}

} // namespace

TEST(SchemaSampler, TypesHoldEverySampledValue) {
    nextcrm::SchemaSampler s;
    add_json(s,
             R"({"name": "a", "n": 1, "mixed": 1, "big": {"$numberLong": "5"},
                 "when": {"$date": "2024-01-01T00:00:00Z"}, "tags": ["x"], "_id": {"$oid": "65a000000000000000000001"},
                 "sub": {"a": 1}, "a.b": 1, "only_null": null})");
    add_json(s, R"({"name": null, "n": 2, "mixed": 1.5, "big": 7, "tags": ["y", null],
                    "_id": {"$oid": "65a000000000000000000002"}, "flag": true, "dec": {"$numberDecimal": "1.5"},
                    "mess": [1, "a"], "arr_or_not": 1})");
    add_json(s, R"({"_id": {"$oid": "65a000000000000000000003"}, "arr_or_not": [1]})");
    EXPECT_EQ(s.documents(), 3);
    EXPECT_EQ(describe(s.columns()),
              "_id:text name:text n:integer mixed:double precision big:bigint when:timestamptz "
              "tags:text[] sub:jsonb only_null:text flag:boolean dec:numeric mess:jsonb "
              "arr_or_not:jsonb");
    EXPECT_EQ(s.columns("uuid").front().sql_type, "uuid");
}

TEST(SchemaSampler, LongAndDoubleNeedNumeric) {
    nextcrm::SchemaSampler s;
    add_json(s, R"({"v": {"$numberLong": "9007199254740993"}})");
    add_json(s, R"({"v": 0.5})");
    EXPECT_EQ(describe(s.columns()), "v:numeric");
}

// A key no column can name is left out, never imported as a column that
// cannot be created or that reads another key: the empty key (no SQL
// identifier is empty), a key longer than PostgreSQL's 63-byte names (the
// name would be cut to a prefix, which is another key) and a key that is
// not UTF-8.
TEST(SchemaSampler, KeysNoColumnCanNameAreLeftOut) {
    nextcrm::SchemaSampler s;
    bson_t *doc = bson_new();
    BSON_APPEND_UTF8(doc, "", "empty");
    std::string k63(63, 'k'), k64(64, 'k');
    BSON_APPEND_UTF8(doc, k63.c_str(), "fits");
    BSON_APPEND_UTF8(doc, k64.c_str(), "too long");
    bson_append_utf8(doc, "bad\xff", -1, "x", 1);
    BSON_APPEND_UTF8(doc, "$dollar", "x");
    BSON_APPEND_UTF8(doc, "ok", "x");
    s.add(doc);
    bson_destroy(doc);
    EXPECT_EQ(describe(s.columns()), k63 + ":text ok:text");
}
