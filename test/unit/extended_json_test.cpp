#include "core/bson_convert.hpp"
#include "core/extended_json.hpp"

#include <gtest/gtest.h>

#include "bson_json.hpp"

#include <cmath>
#include <limits>
#include <string>

using namespace nextcrm;

namespace {

// {"v": d} written in the given mode, the value only.
std::string double_json(double d, JsonMode mode) {
    BsonPtr doc(bson_new());
    BSON_APPEND_DOUBLE(doc.get(), "v", d);
    bson_iter_t it;
    EXPECT_TRUE(bson_iter_init_find(&it, doc.get(), "v"));
    return value_as_json(&it, mode, "v");
}

// A document nesting `depth` levels below itself: {"d": {"d": {"leaf": ...}}}
// has depth 2.
BsonPtr nested(int depth) {
    BsonPtr inner(bson_new());
    BSON_APPEND_UTF8(inner.get(), "leaf", "bottom");
    for (int level = 0; level < depth; ++level) {
        BsonPtr outer(bson_new());
        BSON_APPEND_DOCUMENT(outer.get(), "d", inner.get());
        inner = std::move(outer);
    }
    return inner;
}

std::string reason_of(const std::function<void()> &fn) {
    try {
        fn();
    } catch (const ConversionError &e) {
        return std::string(e.field()) + ": " + e.reason();
    }
    return "no error";
}

} // namespace

TEST(ExtendedJson, DoublesTakeTheirShortestRoundTripForm) {
    EXPECT_EQ(double_json(19.99, JsonMode::Relaxed), "19.99");
    EXPECT_EQ(double_json(0.21, JsonMode::Relaxed), "0.21");
    EXPECT_EQ(double_json(0.1, JsonMode::Relaxed), "0.1");
    EXPECT_EQ(double_json(1e-7, JsonMode::Relaxed), "1e-7");
    EXPECT_EQ(double_json(3.0, JsonMode::Relaxed), "3.0");
    EXPECT_EQ(double_json(1e22, JsonMode::Relaxed), "1e+22");
    EXPECT_EQ(double_json(0.1 + 0.2, JsonMode::Relaxed), "0.30000000000000004");
    EXPECT_EQ(double_json(5e-324, JsonMode::Relaxed), "5e-324");
    EXPECT_EQ(double_json(1.7976931348623157e308, JsonMode::Relaxed), "1.7976931348623157e+308");
    EXPECT_EQ(double_json(19.99, JsonMode::Canonical), "{ \"$numberDouble\" : \"19.99\" }");
    EXPECT_EQ(double_json(2.0, JsonMode::Canonical), "{ \"$numberDouble\" : \"2.0\" }");
    // Every written form reads back as exactly the same double.
    for (double d : {19.99, 0.21, 1e-7, 123456.789, 2.5e-300, -7.25, 9007199254740993.0}) {
        std::string s = double_json(d, JsonMode::Relaxed);
        EXPECT_EQ(std::strtod(s.c_str(), nullptr), d) << s;
    }
}

TEST(ExtendedJson, NonFiniteAndNegativeZeroStayTypedInBothModes) {
    for (JsonMode mode : {JsonMode::Relaxed, JsonMode::Canonical}) {
        EXPECT_EQ(double_json(std::nan(""), mode), "{ \"$numberDouble\" : \"NaN\" }");
        EXPECT_EQ(double_json(std::numeric_limits<double>::infinity(), mode),
                  "{ \"$numberDouble\" : \"Infinity\" }");
        EXPECT_EQ(double_json(-std::numeric_limits<double>::infinity(), mode),
                  "{ \"$numberDouble\" : \"-Infinity\" }");
        // numeric (hence jsonb) has no -0: a plain -0.0 would lose its sign.
        EXPECT_EQ(double_json(-0.0, mode), "{ \"$numberDouble\" : \"-0.0\" }");
    }
    EXPECT_EQ(double_json(0.0, JsonMode::Relaxed), "0.0");
}

TEST(ExtendedJson, IntegersAndDecimalsAreExact) {
    BsonPtr doc = json("{\"i\": {\"$numberInt\": \"-2147483648\"},"
                       " \"l\": {\"$numberLong\": \"9223372036854775807\"},"
                       " \"d\": {\"$numberDecimal\": \"1234567890.123456789012345678901234\"}}");
    EXPECT_EQ(document_as_json(doc.get(), JsonMode::Relaxed),
              "{ \"i\" : -2147483648, \"l\" : 9223372036854775807, \"d\" : { \"$numberDecimal\" "
              ": \"1234567890.123456789012345678901234\" } }");
    EXPECT_EQ(document_as_json(doc.get(), JsonMode::Canonical),
              "{ \"i\" : { \"$numberInt\" : \"-2147483648\" }, \"l\" : { \"$numberLong\" : "
              "\"9223372036854775807\" }, \"d\" : { \"$numberDecimal\" : "
              "\"1234567890.123456789012345678901234\" } }");
}

TEST(ExtendedJson, OtherTypesAsTheSpecWritesThem) {
    BsonPtr doc = json(
        "{\"o\": {\"$oid\": \"65a1f0c2e4b0a1b2c3d4e5f6\"}, \"t\": {\"$date\": "
        "{\"$numberLong\": \"1705111746123\"}}, \"old\": {\"$date\": {\"$numberLong\": \"-1000\"}},"
        " \"b\": {\"$binary\": {\"base64\": \"AQI=\", \"subType\": \"04\"}}, \"n\": null,"
        " \"s\": \"a\\\"b\\\\c\\n\\u0001é\", \"e\": {}, \"a\": []}");
    EXPECT_EQ(document_as_json(doc.get(), JsonMode::Relaxed),
              "{ \"o\" : { \"$oid\" : \"65a1f0c2e4b0a1b2c3d4e5f6\" }, \"t\" : { \"$date\" : "
              "\"2024-01-13T02:09:06.123Z\" }, \"old\" : { \"$date\" : { \"$numberLong\" : "
              "\"-1000\" } }, \"b\" : { \"$binary\" : { \"base64\" : \"AQI=\", \"subType\" : "
              "\"04\" } }, \"n\" : null, \"s\" : \"a\\\"b\\\\c\\n\\u0001é\", \"e\" : { }, "
              "\"a\" : [ ] }");
    // The output is what libbson itself reads back as the same document.
    std::string canonical = document_as_json(doc.get(), JsonMode::Canonical);
    BsonPtr back = json(canonical);
    EXPECT_TRUE(bson_equal(back.get(), doc.get())) << canonical;
}

TEST(ExtendedJson, NulIsFlaggedForJsonb) {
    BsonPtr doc(bson_new());
    bson_append_utf8(doc.get(), "s", 1, "line1\0line2", 11);
    JsonFlags flags;
    EXPECT_EQ(document_as_json(doc.get(), JsonMode::Relaxed, &flags),
              "{ \"s\" : \"line1\\u0000line2\" }");
    EXPECT_TRUE(flags.has_nul);
}

TEST(ExtendedJson, TextThatIsNotUtf8IsAnErrorNamingItsPath) {
    BsonPtr doc(bson_new());
    bson_t sub;
    BSON_APPEND_DOCUMENT_BEGIN(doc.get(), "meta", &sub);
    bson_append_utf8(&sub, "bad", 3, "\xff\xfe", 2);
    bson_append_document_end(doc.get(), &sub);
    EXPECT_EQ(reason_of([&] { document_as_json(doc.get(), JsonMode::Relaxed); }),
              "meta.bad: the value holds text that is not valid UTF-8");

    BsonPtr key(bson_new());
    bson_append_utf8(key.get(), "legacy_\xff", 8, "x", 1);
    EXPECT_EQ(reason_of([&] { document_as_json(key.get(), JsonMode::Canonical); }),
              "legacy_\\xff: the key is not valid UTF-8");
}

TEST(ExtendedJson, NestingIsBoundedAtTheLimit) {
    EXPECT_EQ(
        reason_of([&] { document_as_json(nested(max_document_depth).get(), JsonMode::Relaxed); }),
        "no error");
    for (int depth : {max_document_depth + 1, 201, 5000, 20000}) {
        std::string r =
            reason_of([&] { document_as_json(nested(depth).get(), JsonMode::Relaxed); });
        EXPECT_NE(r.find("nests deeper than 100 levels"), std::string::npos) << depth << r;
    }
}

// jsonb refuses the \u0000 escape: only real escapes are rewritten.  Text
// that held a backslash followed by "u0000" is JSON "\\u0000" and must stay
// so; rewriting the "\u0000" inside it made "\\\u0000", a NUL again, which
// failed the insert and with it the whole migration.
TEST(JsonbStorable, RewritesOnlyRealNulEscapes) {
    EXPECT_EQ(jsonb_storable(R"({ "k" : "plain" })"), R"({ "k" : "plain" })");
    EXPECT_EQ(jsonb_storable(R"("a\u0000b")"), R"("a\\u0000b")");
    EXPECT_EQ(jsonb_storable(R"("\u0000\u0000")"), R"("\\u0000\\u0000")");
    EXPECT_EQ(jsonb_storable(R"("a\\u0000b")"), R"("a\\u0000b")");
    EXPECT_EQ(jsonb_storable(R"("\\\u0000")"), R"("\\\\u0000")");
    EXPECT_EQ(jsonb_storable(R"("\"\u0000\\")"), R"("\"\\u0000\\")");
    // Whatever the input, the result holds no \u0000 escape a JSON parser
    // would read as U+0000: after an even run of backslashes, no "u0000".
    BsonPtr doc(bson_new());
    bson_append_utf8(doc.get(), "k", -1, "x\\u0000\0y\\\\u0000", 16);
    std::string out = jsonb_storable(document_as_json(doc.get(), JsonMode::Canonical));
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (out[i] != '\\')
            continue;
        std::size_t run = 0;
        while (i < out.size() && out[i] == '\\') {
            ++run;
            ++i;
        }
        EXPECT_FALSE(run % 2 == 1 && out.compare(i, 5, "u0000") == 0) << out;
    }
}

// Symbol: its string in relaxed JSON (as drivers give it to applications),
// typed in canonical JSON.
TEST(ExtendedJson, SymbolsAreStringsWhenRelaxed) {
    BsonPtr doc = json("{\"s\": {\"$symbol\": \"alpha\"}}");
    EXPECT_EQ(document_as_json(doc.get(), JsonMode::Relaxed), "{ \"s\" : \"alpha\" }");
    EXPECT_EQ(document_as_json(doc.get(), JsonMode::Canonical),
              "{ \"s\" : { \"$symbol\" : \"alpha\" } }");
}
