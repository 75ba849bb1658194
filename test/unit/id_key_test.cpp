// _ids keyed as MongoDB's _id index compares them (core/id_key.hpp): each
// equivalence it makes, and each it does not.
#include "bson_bytes.hpp"
#include "bson_json.hpp"

#include "core/id_key.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace {

using nextcrm::BsonPtr;

// The key of the _id written as Extended JSON.
std::string key(const std::string &id) {
    BsonPtr doc = json("{\"_id\": " + id + "}");
    return doc ? nextcrm::id_key_of(doc.get()) : std::string("(no document)");
}

std::string key_of_double(double d) {
    BsonPtr doc(bson_new());
    bson_append_double(doc.get(), "_id", 3, d);
    return nextcrm::id_key_of(doc.get());
}

std::string key_of_int64(std::int64_t v) {
    BsonPtr doc(bson_new());
    bson_append_int64(doc.get(), "_id", 3, v);
    return nextcrm::id_key_of(doc.get());
}

// A Decimal128 by its two halves as BSON stores them (forms the string
// parser never writes: non-canonical coefficients, NaN payloads).
std::string key_of_decimal_bits(std::uint64_t high, std::uint64_t low) {
    bson_decimal128_t d;
    d.high = high;
    d.low = low;
    BsonPtr doc(bson_new());
    bson_append_decimal128(doc.get(), "_id", 3, &d);
    return nextcrm::id_key_of(doc.get());
}

std::string decimal(const std::string &text) {
    return key(R"({"$numberDecimal": ")" + text + R"("})");
}

TEST(IdKey, NumbersOfEqualValueAreOneKeyWhateverTheirType) {
    const std::string seven = key("7");
    EXPECT_EQ(key(R"({"$numberLong": "7"})"), seven);
    EXPECT_EQ(key(R"({"$numberDouble": "7.0"})"), seven);
    EXPECT_EQ(decimal("7"), seven);
    EXPECT_EQ(decimal("7.00"), seven);
    EXPECT_EQ(decimal("70E-1"), seven);
    EXPECT_EQ(decimal("0.0007E+4"), seven);
    EXPECT_EQ(key("-7"), decimal("-7.0"));
    EXPECT_EQ(key("-7"), key_of_double(-7.0));
}

TEST(IdKey, ZeroOfEitherSignIsZero) {
    const std::string zero = key("0");
    EXPECT_EQ(key_of_double(-0.0), zero);
    EXPECT_EQ(key_of_double(0.0), zero);
    EXPECT_EQ(key_of_int64(0), zero);
    EXPECT_EQ(decimal("-0"), zero);
    EXPECT_EQ(decimal("0E+5"), zero);
    EXPECT_EQ(decimal("-0.000"), zero);
    // A coefficient above 10^34 - 1 is non-canonical: IEEE 754 reads it as 0.
    EXPECT_EQ(key_of_decimal_bits(0x3041ED09BEAD87C0ULL, 0x378D8E6400000000ULL), zero);
    // ... and so is the 11-prefixed form with its implicit coefficient.
    EXPECT_EQ(key_of_decimal_bits(0x6C10000000000000ULL, 1), zero);
}

TEST(IdKey, EveryNanIsOneValue) {
    const std::string nan = key_of_double(std::numeric_limits<double>::quiet_NaN());
    std::uint64_t bits = 0x7FF0000000000123ULL; // a signalling NaN with a payload
    double payload;
    std::memcpy(&payload, &bits, sizeof payload);
    EXPECT_EQ(key_of_double(payload), nan);
    EXPECT_EQ(key_of_double(-std::numeric_limits<double>::quiet_NaN()), nan);
    EXPECT_EQ(decimal("NaN"), nan);
    EXPECT_EQ(key_of_decimal_bits(0xFC00000000000000ULL, 0), nan); // negative NaN
    EXPECT_EQ(key_of_decimal_bits(0x7E00000000000000ULL, 5), nan); // signalling, payload
    EXPECT_NE(nan, key("0"));
    EXPECT_NE(nan, key_of_double(HUGE_VAL));
}

TEST(IdKey, InfinitiesAndFractionsByValue) {
    EXPECT_EQ(decimal("Infinity"), key_of_double(HUGE_VAL));
    EXPECT_EQ(decimal("-Infinity"), key_of_double(-HUGE_VAL));
    EXPECT_NE(key_of_double(HUGE_VAL), key_of_double(-HUGE_VAL));
    EXPECT_EQ(key_of_double(7.5), decimal("7.50"));
    EXPECT_EQ(key_of_double(0.25), decimal("2.5E-1"));
    EXPECT_EQ(key_of_double(-0.375), decimal("-375E-3"));
    EXPECT_EQ(decimal("0.1"), decimal("0.10"));
    // The double 0.1 is 0.1000000000000000055511151231257827...: not a tenth.
    EXPECT_NE(key_of_double(0.1), decimal("0.1"));
    EXPECT_NE(key_of_double(7.5), key("7"));
    EXPECT_NE(key("7"), key("8"));
    EXPECT_NE(key("7"), key("-7"));
    // 34 digits: no double holds it.
    EXPECT_NE(decimal("1.000000000000000000000000000000001"), key_of_double(1.0));
    EXPECT_NE(decimal("1.000000000000000000000000000000001"), key("1"));
    // 10^300: a double holds only the nearest binary fraction.
    EXPECT_NE(decimal("1E+300"), key_of_double(1e300));
    EXPECT_EQ(decimal("1E+300"), decimal("10E+299"));
}

TEST(IdKey, Int64BeyondTwoToThe53ByExactValue) {
    const std::int64_t two53 = std::int64_t{1} << 53;
    EXPECT_EQ(key_of_int64(two53), key_of_double(9007199254740992.0));
    // The double nearest 2^53 + 1 is 2^53: the int64 is another value.
    EXPECT_NE(key_of_int64(two53 + 1), key_of_double(static_cast<double>(two53 + 1)));
    EXPECT_NE(key_of_int64(two53 + 1), key_of_int64(two53));
    EXPECT_EQ(key_of_int64(two53 + 2), key_of_double(9007199254740994.0));
    EXPECT_EQ(key_of_int64(two53 + 1), decimal("9007199254740993"));
    EXPECT_EQ(key_of_int64(std::numeric_limits<std::int64_t>::min()),
              key_of_double(-9223372036854775808.0));
    EXPECT_EQ(key_of_int64(std::numeric_limits<std::int64_t>::min()),
              decimal("-9223372036854775808"));
    // 2^63 - 1 as a double is 2^63, which no int64 holds.
    EXPECT_NE(key_of_int64(std::numeric_limits<std::int64_t>::max()),
              key_of_double(9223372036854775807.0));
    EXPECT_EQ(decimal("9223372036854775808"), key_of_double(9223372036854775808.0));
    EXPECT_EQ(decimal("9223372036854775807"),
              key_of_int64(std::numeric_limits<std::int64_t>::max()));
    // Beyond int64, not a double: a Decimal128 value of its own.
    EXPECT_NE(decimal("12345678901234567890"), key_of_double(12345678901234567890.0));
    EXPECT_EQ(decimal("12345678901234567890"), decimal("1.2345678901234567890E+19"));
}

TEST(IdKey, StringAndSymbolOfTheSameTextAreOneValue) {
    EXPECT_EQ(key(R"("a")"), key(R"({"$symbol": "a"})"));
    EXPECT_NE(key(R"("a")"), key(R"("b")"));
    EXPECT_NE(key(R"("7")"), key("7"));
    EXPECT_NE(key(R"("a")"), key(R"({"$code": "a"})"));
}

TEST(IdKey, DocumentsAndArraysAsWholeValues) {
    EXPECT_EQ(key(R"({"a": 7, "b": [1, {"c": 2}]})"),
              key(R"({"a": {"$numberLong": "7"}, "b": [1.0, {"c": {"$numberDecimal": "2.0"}}]})"));
    EXPECT_NE(key(R"({"a": 7, "b": 1})"), key(R"({"b": 1, "a": 7})")); // fields in order
    EXPECT_NE(key(R"({"a": 7})"), key(R"({"b": 7})"));
    EXPECT_NE(key(R"({"a": 7})"), key(R"({"a": 7, "b": 1})"));
    EXPECT_NE(key(R"({"0": 7})"), key("[7]"));
    EXPECT_NE(key("[7, 1]"), key("[7]"));
    EXPECT_NE(key("[[7]]"), key("[7]"));
    // A name's bytes cannot run into the value that follows it.
    EXPECT_NE(key(R"({"ab": "c"})"), key(R"({"a": "bc"})"));
}

TEST(IdKey, OtherTypesByTypeAndBytes) {
    const std::string oid = R"({"$oid": "65f000000000000000000001"})";
    EXPECT_EQ(key(oid), key(oid));
    EXPECT_NE(key(oid), key(R"({"$oid": "65f000000000000000000002"})"));
    EXPECT_NE(key(oid), key(R"("65f000000000000000000001")"));
    EXPECT_NE(key("true"), key("1"));
    EXPECT_NE(key("true"), key("false"));
    EXPECT_NE(key("null"), key(R"({"$undefined": true})"));
    EXPECT_NE(key("null"), key("0"));
    EXPECT_NE(key(R"({"$date": {"$numberLong": "7"}})"), key("7"));
    EXPECT_NE(key(R"({"$date": {"$numberLong": "7"}})"),
              key(R"({"$timestamp": {"t": 0, "i": 7}})"));
    const std::string bytes = R"("base64": "AAECAwQFBgcICQoLDA0ODw==")";
    EXPECT_EQ(key(R"({"$binary": {)" + bytes + R"(, "subType": "04"}})"),
              key(R"({"$binary": {)" + bytes + R"(, "subType": "04"}})"));
    EXPECT_NE(key(R"({"$binary": {)" + bytes + R"(, "subType": "03"}})"),
              key(R"({"$binary": {)" + bytes + R"(, "subType": "04"}})"));
    EXPECT_NE(key(R"({"$minKey": 1})"), key(R"({"$maxKey": 1})"));
}

// {"_id": {"a": {"a": ... {"a": innermost}}}} nested `levels` deep, as bytes.
std::string deep_id(int levels, std::int32_t innermost) {
    std::string id = nested_in_a(levels, bson_document(bson_int32_element("a", innermost)));
    return bson_document(std::string("\x03_id\0", 5) + id);
}

std::string key_of_bytes(const std::string &bytes) {
    bson_t doc;
    EXPECT_TRUE(
        bson_init_static(&doc, reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size()));
    return nextcrm::id_key_of(&doc);
}

// An _id nested far past max_document_depth is keyed (by its bytes past
// that depth) without recursing as deep: no input overflows the stack.
TEST(IdKey, AnIdNestedWithoutBoundIsKeyedWithoutRecursingAsDeep) {
    EXPECT_EQ(key_of_bytes(deep_id(3, 7)), key(R"({"a": {"a": {"a": {"a": 7}}}})"));
    const std::string deep = key_of_bytes(deep_id(200000, 7));
    EXPECT_FALSE(deep.empty());
    EXPECT_EQ(key_of_bytes(deep_id(200000, 7)), deep);
    EXPECT_NE(key_of_bytes(deep_id(200000, 8)), deep);
}

TEST(IdKey, ADocumentWithoutAnIdHasNoKey) {
    EXPECT_EQ(nextcrm::id_key_of(json(R"({"a": 1})").get()), "");
    EXPECT_NE(key("null"), "");
}

TEST(IdKey, AValueAndADocumentsIdAgree) {
    bson_value_t v{};
    v.value_type = BSON_TYPE_INT64;
    v.value.v_int64 = 7;
    EXPECT_EQ(nextcrm::id_key(&v), key("7"));
}

} // namespace

// Edges probed by the break session: they hold.
namespace {

TEST(IdKey, EdgesOfTheNumberKinds) {
    // 34-digit coefficients at either end of the exponent range.
    EXPECT_EQ(decimal("9999999999999999999999999999999999E+6111"),
              decimal("9.999999999999999999999999999999999E+6144"));
    EXPECT_NE(decimal("9999999999999999999999999999999999E+6111"), key_of_double(HUGE_VAL));
    EXPECT_EQ(decimal("1E-6176"), decimal("0.1E-6175"));
    EXPECT_NE(decimal("1E-6176"), key("0"));
    // The largest coefficient is a value; one more (10^34, non-canonical) is 0.
    EXPECT_NE(key_of_decimal_bits(0x3041ED09BEAD87C0ULL, 0x378D8E63FFFFFFFFULL), key("0"));
    // Doubles next to 2^63 and the int64 limits.
    EXPECT_EQ(key_of_double(9223372036854774784.0), key_of_int64(9223372036854774784LL));
    EXPECT_EQ(key_of_double(-9223372036854775808.0),
              key_of_int64(std::numeric_limits<std::int64_t>::min()));
    EXPECT_NE(key_of_double(9223372036854775808.0),
              key_of_int64(std::numeric_limits<std::int64_t>::max()));
    EXPECT_EQ(decimal("-9223372036854775809"), decimal("-9.223372036854775809E+18"));
    EXPECT_NE(decimal("-9223372036854775809"),
              key_of_int64(std::numeric_limits<std::int64_t>::min()));
    // 2^-1074, the smallest double, is a 751-digit decimal: no Decimal128 holds it.
    EXPECT_NE(key_of_double(std::ldexp(1.0, -1074)), key("0"));
    // A double past 2^53 that is an integer, and the same as a decimal.
    EXPECT_EQ(key_of_double(1e22), decimal("1E+22"));
    EXPECT_NE(key_of_double(1e23), decimal("1E+23"));
}

TEST(IdKey, NestedEquivalencesAndBinarySubtypes) {
    EXPECT_EQ(key(R"({"a": {"$symbol": "x"}, "b": [{"$numberLong": "1"}]})"),
              key(R"({"a": "x", "b": [{"$numberDecimal": "1.000"}]})"));
    std::string b = R"("base64": "AAEC")";
    EXPECT_NE(key(R"({"$binary": {)" + b + R"(, "subType": "00"}})"),
              key(R"({"$binary": {)" + b + R"(, "subType": "80"}})"));
    EXPECT_NE(key(R"({"$code": "a"})"), key(R"({"$code": "a", "$scope": {}})"));
    std::string big(1 << 20, 'x');
    EXPECT_EQ(key("\"" + big + "\""), key(R"({"$symbol": ")" + big + "\"}"));
    EXPECT_NE(key("\"" + big + "\""), key("\"" + big + "y\""));
}

} // namespace
