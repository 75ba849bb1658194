// One BSON value (or document) as MongoDB Extended JSON text: the only place
// the extension writes JSON from BSON (the foreign scan's json/jsonb columns,
// the migration's jsonb fields, the error and extra-key tables, the
// validator's sample).
//
// PostgreSQL-free.  libbson's own writer is not used because it prints
// doubles with 20 significant digits (19.99 becomes 19.989999999999998437),
// silently writes "{ ... }" past 200 levels and recurses without bound in
// its validator.  This one:
//   - writes a double in its shortest round-trip form (std::to_chars), so
//     19.99 stays 19.99, 0.1 stays 0.1 and 1e-7 stays 1e-7;  NaN, Infinity,
//     -Infinity and -0.0 (which a JSON number, once in numeric or jsonb,
//     cannot keep) are written as {"$numberDouble": "NaN" | "Infinity" |
//     "-Infinity" | "-0.0"} in both modes;
//   - writes int32, int64 and Decimal128 digit for digit;
//   - refuses (ConversionError naming the dotted path of the offending value)
//     a string or key that is not UTF-8 and nesting deeper than
//     max_document_depth.
// Layout follows libbson's ("{ \"k\" : 1, \"l\" : [ 2 ] }").
#pragma once

#include <bson/bson.h>

#include <cstdint>
#include <string>
#include <vector>

namespace nextcrm {

// The deepest nesting a document may have: the number of objects and arrays
// a value sits inside below the document itself, so {"a": 1} has depth 0 and
// {"a": {"b": [1]}} depth 2.  MongoDB stores at most 100 levels of nesting;
// a dump written by another tool can hold more, and such a document is
// reported, never walked further.
constexpr int max_document_depth = 100;

enum class JsonMode {
    Canonical, // every type explicit: {"$numberInt": "5"}, {"$date": {"$numberLong": ...}}
    Relaxed,   // plain JSON numbers and ISO dates where JSON can say it (what Prisma returns)
};

// What a written value held that the caller may have to refuse.
struct JsonFlags {
    bool has_nul = false; // a string holds U+0000 (jsonb cannot store "\u0000")
    // Dotted paths of the doubles -0.0, written {"$numberDouble": "-0.0"}
    // where the application read a number: the migration records each.
    std::vector<std::string> negative_zero;
};

// The value under `it` as Extended JSON.  `field` is its dotted path, used in
// errors.  `depth` is the nesting level of the object holding the value
// (0 for a top-level field).  Throws ConversionError (target jsonb) for text
// that is not UTF-8 and for nesting past max_document_depth.
std::string value_as_json(const bson_iter_t *it, JsonMode mode, const std::string &field,
                          JsonFlags *flags = nullptr, int depth = 0);

// A whole document as Extended JSON; the same errors, paths from its root.
std::string document_as_json(const bson_t *doc, JsonMode mode, JsonFlags *flags = nullptr);

// A double in its shortest round-trip decimal form ("19.99", "1e-7",
// "1e+22", "-0", "nan", "inf" for the non-finite ones).
std::string shortest_double(double d);

// Standard base64 (RFC 4648, with padding) of bytes: how a document with no
// JSON form is kept.
std::string base64(const std::uint8_t *data, std::size_t len);

// JSON text that jsonb accepts: jsonb cannot hold U+0000, so each "\u0000"
// escape becomes "\\u0000" (the string then holds the six characters
// \u0000 in its place, visible instead of failing the insert).  Only real
// escapes are rewritten: an escaped backslash followed by "u0000" (text that
// held a backslash, then u0000) is left as it is.
std::string jsonb_storable(std::string json);

// A key for messages: valid UTF-8 as it is, any other byte as \xHH.
std::string printable_key(const char *key, std::size_t len);

} // namespace nextcrm
