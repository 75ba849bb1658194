#include "core/bson_convert.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

using nextcrm::ConversionError;
using nextcrm::Target;

namespace {

// A one-field document {"v": ...} built by the caller, and an iterator on it.
struct Doc {
    bson_t doc = BSON_INITIALIZER;
    bson_iter_t it;
    ~Doc() { bson_destroy(&doc); }
    const bson_iter_t *at() {
        EXPECT_TRUE(bson_iter_init_find(&it, &doc, "v"));
        return &it;
    }
};

std::string reason_of(const std::function<void()> &fn) {
    try {
        fn();
    } catch (const ConversionError &e) {
        return e.what();
    }
    return "no error";
}

bson_decimal128_t dec(const char *s) {
    bson_decimal128_t d;
    EXPECT_TRUE(bson_decimal128_from_string(s, &d));
    return d;
}

} // namespace

TEST(BsonConvert, TextFromStringSymbolAndErrors) {
    Doc d;
    BSON_APPEND_UTF8(&d.doc, "v", "héllo");
    EXPECT_EQ(nextcrm::to_text(d.at(), "f"), "héllo");
    Doc s;
    BSON_APPEND_SYMBOL(&s.doc, "v", "sym");
    EXPECT_EQ(nextcrm::to_text(s.at(), "f"), "sym");
    Doc nul;
    bson_append_utf8(&nul.doc, "v", 1, "a\0b", 3);
    EXPECT_NE(reason_of([&] { nextcrm::to_text(nul.at(), "f"); }).find("NUL"), std::string::npos);
    Doc bad;
    bson_append_utf8(&bad.doc, "v", 1, "a\xff", 2);
    EXPECT_NE(reason_of([&] { nextcrm::to_text(bad.at(), "f"); }).find("UTF-8"), std::string::npos);
    Doc num;
    BSON_APPEND_INT32(&num.doc, "v", 5);
    std::string msg = reason_of([&] { nextcrm::to_text(num.at(), "a.b"); });
    EXPECT_NE(msg.find("\"a.b\""), std::string::npos) << msg;
    EXPECT_NE(msg.find("BSON int"), std::string::npos) << msg;
    EXPECT_NE(msg.find("text"), std::string::npos) << msg;
}

TEST(BsonConvert, ObjectIdHex) {
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, "65a1b2c3d4e5f60718293a4b");
    char hex[25];
    nextcrm::oid_to_hex(&oid, hex);
    EXPECT_STREQ(hex, "65a1b2c3d4e5f60718293a4b");
}

TEST(BsonConvert, IntegersAreRangeChecked) {
    Doc big;
    BSON_APPEND_INT64(&big.doc, "v", 40000);
    EXPECT_EQ(nextcrm::to_integer(big.at(), "f", Target::Int4), 40000);
    EXPECT_NE(reason_of([&] { nextcrm::to_integer(big.at(), "f", Target::Int2); }).find("range"),
              std::string::npos);
    Doc whole;
    BSON_APPEND_DOUBLE(&whole.doc, "v", 7.0);
    EXPECT_EQ(nextcrm::to_integer(whole.at(), "f", Target::Int2), 7);
    Doc frac;
    BSON_APPEND_DOUBLE(&frac.doc, "v", 7.5);
    EXPECT_NE(reason_of([&] {
                  nextcrm::to_integer(frac.at(), "f", Target::Int8);
              }).find("not an integer"),
              std::string::npos);
    Doc huge;
    BSON_APPEND_DOUBLE(&huge.doc, "v", 1e19);
    EXPECT_NE(reason_of([&] { nextcrm::to_integer(huge.at(), "f", Target::Int8); }).find("range"),
              std::string::npos);
    Doc d128;
    bson_decimal128_t v = dec("1.20E+1");
    BSON_APPEND_DECIMAL128(&d128.doc, "v", &v);
    EXPECT_EQ(nextcrm::to_integer(d128.at(), "f", Target::Int4), 12);
    Doc str;
    BSON_APPEND_UTF8(&str.doc, "v", "12");
    EXPECT_NE(
        reason_of([&] { nextcrm::to_integer(str.at(), "f", Target::Int4); }).find("never converts"),
        std::string::npos);
}

TEST(BsonConvert, FloatsAreExact) {
    Doc d;
    BSON_APPEND_DOUBLE(&d.doc, "v", 0.1);
    EXPECT_EQ(nextcrm::to_float8(d.at(), "f"), 0.1);
    EXPECT_NE(reason_of([&] { nextcrm::to_float4(d.at(), "f"); }).find("exactly"),
              std::string::npos);
    Doc half;
    BSON_APPEND_DOUBLE(&half.doc, "v", 0.5);
    EXPECT_EQ(nextcrm::to_float4(half.at(), "f"), 0.5f);
    Doc nan;
    BSON_APPEND_DOUBLE(&nan.doc, "v", NAN);
    EXPECT_TRUE(std::isnan(nextcrm::to_float8(nan.at(), "f")));
    Doc big;
    BSON_APPEND_INT64(&big.doc, "v", 9007199254740993LL); // 2^53 + 1
    EXPECT_NE(reason_of([&] { nextcrm::to_float8(big.at(), "f"); }).find("digits"),
              std::string::npos);
}

TEST(BsonConvert, NumericIsExact) {
    struct Case {
        const char *decimal, *numeric;
    } cases[] = {{"1.250", "1.250"},       {"-1.5E+3", "-1500"},
                 {"1E-3", "0.001"},        {"NaN", "NaN"},
                 {"Infinity", "Infinity"}, {"-Infinity", "-Infinity"},
                 {"1E+2000", nullptr},     {"12345678901234567890123456789012.34", nullptr}};
    for (const Case &c : cases) {
        Doc d;
        bson_decimal128_t v = dec(c.decimal);
        BSON_APPEND_DECIMAL128(&d.doc, "v", &v);
        std::string got = nextcrm::to_numeric(d.at(), "f");
        if (c.numeric)
            EXPECT_EQ(got, c.numeric) << c.decimal;
        else if (std::string(c.decimal) == "1E+2000")
            EXPECT_EQ(got, "1" + std::string(2000, '0'));
        else
            EXPECT_EQ(got, c.decimal);
    }
    Doc l;
    BSON_APPEND_INT64(&l.doc, "v", INT64_MIN);
    EXPECT_EQ(nextcrm::to_numeric(l.at(), "f"), "-9223372036854775808");
    Doc d;
    BSON_APPEND_DOUBLE(&d.doc, "v", 0.1);
    EXPECT_EQ(nextcrm::to_numeric(d.at(), "f"), "0.1");
    Doc inf;
    BSON_APPEND_DOUBLE(&inf.doc, "v", -INFINITY);
    EXPECT_EQ(nextcrm::to_numeric(inf.at(), "f"), "-Infinity");
}

TEST(BsonConvert, DatesInPostgresEpoch) {
    Doc d;
    BSON_APPEND_DATE_TIME(&d.doc, "v", 946684800123LL); // 2000-01-01 00:00:00.123 UTC
    EXPECT_EQ(nextcrm::to_timestamp_us(d.at(), "f"), 123000);
    EXPECT_NE(reason_of([&] { nextcrm::to_date_days(d.at(), "f"); }).find("midnight"),
              std::string::npos);
    Doc day;
    BSON_APPEND_DATE_TIME(&day.doc, "v", 0); // 1970-01-01
    EXPECT_EQ(nextcrm::to_date_days(day.at(), "f"), -10957);
    Doc far;
    BSON_APPEND_DATE_TIME(&far.doc, "v", INT64_MAX);
    EXPECT_NE(reason_of([&] { nextcrm::to_timestamp_us(far.at(), "f"); }).find("range"),
              std::string::npos);
}

TEST(BsonConvert, BinaryUuidAndBool) {
    const uint8_t bytes[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    Doc u;
    BSON_APPEND_BINARY(&u.doc, "v", BSON_SUBTYPE_UUID, bytes, 16);
    auto got = nextcrm::to_uuid(u.at(), "f");
    EXPECT_EQ(got[0], 1);
    EXPECT_EQ(got[15], 16);
    EXPECT_EQ(nextcrm::to_bytes(u.at(), "f").size(), 16u);
    Doc s;
    BSON_APPEND_UTF8(&s.doc, "v", "01020304-0506-0708-090a-0b0c0d0e0f10");
    EXPECT_EQ(nextcrm::to_uuid(s.at(), "f"), got);
    Doc user;
    BSON_APPEND_BINARY(&user.doc, "v", BSON_SUBTYPE_USER, bytes, 16);
    EXPECT_NE(reason_of([&] { nextcrm::to_uuid(user.at(), "f"); }).find("subtype 128"),
              std::string::npos);
    Doc b;
    BSON_APPEND_BOOL(&b.doc, "v", true);
    EXPECT_TRUE(nextcrm::to_bool(b.at(), "f"));
    Doc i;
    BSON_APPEND_INT32(&i.doc, "v", 1);
    EXPECT_NE(reason_of([&] { nextcrm::to_bool(i.at(), "f"); }), "no error");
}

TEST(BsonConvert, JsonIsCanonicalExtendedJson) {
    Doc d;
    BSON_APPEND_DOUBLE(&d.doc, "v", NAN);
    EXPECT_EQ(nextcrm::to_json(d.at(), "f"), "{ \"$numberDouble\" : \"NaN\" }");
    Doc i;
    BSON_APPEND_INT32(&i.doc, "v", 5);
    EXPECT_EQ(nextcrm::to_json(i.at(), "f"), "{ \"$numberInt\" : \"5\" }");
    Doc a;
    bson_t arr;
    BSON_APPEND_ARRAY_BEGIN(&a.doc, "v", &arr);
    BSON_APPEND_UTF8(&arr, "0", "x");
    BSON_APPEND_MAXKEY(&arr, "1");
    bson_append_array_end(&a.doc, &arr);
    EXPECT_EQ(nextcrm::to_json(a.at(), "f"), "[ \"x\", { \"$maxKey\" : 1 } ]");
    Doc bad;
    bson_append_utf8(&bad.doc, "v", 1, "\xff", 1);
    EXPECT_NE(reason_of([&] { nextcrm::to_json(bad.at(), "f"); }).find("UTF-8"), std::string::npos);
}

TEST(BsonConvert, NullAndUndefinedAreNull) {
    Doc d;
    BSON_APPEND_NULL(&d.doc, "v");
    EXPECT_TRUE(nextcrm::is_null(d.at()));
    Doc u;
    BSON_APPEND_UNDEFINED(&u.doc, "v");
    EXPECT_TRUE(nextcrm::is_null(u.at()));
    Doc z;
    BSON_APPEND_INT32(&z.doc, "v", 0);
    EXPECT_FALSE(nextcrm::is_null(z.at()));
}

// Subtype 3 is decoded only in a named byte order (the MongoDB UUID
// specification); the .NET driver's GUID 00112233-4455-6677-8899-aabbccddeeff
// is stored as 33 22 11 00 55 44 77 66 88 99 aa ...
TEST(BsonConvert, LegacyUuidNeedsItsRepresentation) {
    using nextcrm::UuidRepresentation;
    const uint8_t csharp[16] = {0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66,
                                0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    const uint8_t java[16] = {0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00,
                              0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88};
    const uint8_t plain[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                               0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    Doc want;
    BSON_APPEND_UTF8(&want.doc, "v", "00112233-4455-6677-8899-aabbccddeeff");
    auto expected = nextcrm::to_uuid(want.at(), "f");

    Doc c;
    BSON_APPEND_BINARY(&c.doc, "v", BSON_SUBTYPE_UUID_DEPRECATED, csharp, 16);
    EXPECT_NE(reason_of([&] {
                  nextcrm::to_uuid(c.at(), "f");
              }).find(": BinData subtype 3 (legacy UUID) needs the uuid_representation option"),
              std::string::npos);
    EXPECT_EQ(nextcrm::to_uuid(c.at(), "f", UuidRepresentation::CSharpLegacy), expected);
    EXPECT_NE(nextcrm::to_uuid(c.at(), "f", UuidRepresentation::Standard), expected);
    Doc j;
    BSON_APPEND_BINARY(&j.doc, "v", BSON_SUBTYPE_UUID_DEPRECATED, java, 16);
    EXPECT_EQ(nextcrm::to_uuid(j.at(), "f", UuidRepresentation::JavaLegacy), expected);
    Doc p;
    BSON_APPEND_BINARY(&p.doc, "v", BSON_SUBTYPE_UUID_DEPRECATED, plain, 16);
    EXPECT_EQ(nextcrm::to_uuid(p.at(), "f", UuidRepresentation::PythonLegacy), expected);
    EXPECT_EQ(nextcrm::to_uuid(p.at(), "f", UuidRepresentation::Standard), expected);
    // Subtype 4 is RFC 4122 whatever the option says.
    Doc s4;
    BSON_APPEND_BINARY(&s4.doc, "v", BSON_SUBTYPE_UUID, plain, 16);
    EXPECT_EQ(nextcrm::to_uuid(s4.at(), "f", UuidRepresentation::CSharpLegacy), expected);
    EXPECT_EQ(nextcrm::parse_uuid_representation("java_legacy"), UuidRepresentation::JavaLegacy);
    EXPECT_FALSE(nextcrm::parse_uuid_representation("Standard").has_value());
}
