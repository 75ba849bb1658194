// Exact conversions from one BSON value to the C++ value of one SQL type.
//
// PostgreSQL-free: the foreign scan (src/fdw_row.cpp) and the migration
// engine both build their Datums from these results.  Every function takes an
// iterator positioned on the value and the field's dotted path (for errors).
// A value that cannot be converted without loss throws ConversionError, which
// names the field, the BSON type, the target type and the reason; the caller
// adds the collection and the document's _id.  BSON null and undefined are
// the caller's business: test is_null() first (they become SQL NULL).
//
// What converts (anything else is a ConversionError):
//   text      string (valid UTF-8, no NUL), symbol; ObjectIds through oid_to_hex
//   int2/4/8  int32, int64, double or Decimal128 holding an integer in range
//   float8    double, int32, int64 and Decimal128 that a double holds exactly
//   float4    the same, when a float holds the value exactly
//   numeric   int32, int64, Decimal128 (exact digits, NaN, ±Infinity) and
//             double (its shortest round-trip decimal form, NaN, ±Infinity)
//   bool      bool
//   timestamp date (milliseconds become microseconds; UTC), within
//             PostgreSQL's timestamp range
//   date      date at midnight UTC, within PostgreSQL's date range
//   bytea     binary (any subtype), ObjectId (its 12 bytes)
//   uuid      binary subtype 4 of 16 bytes; subtype 3 (legacy UUID) only with
//             an explicit UuidRepresentation; string in uuid form,
//             ObjectId through oid_uuid mapping (done by the caller)
//   json      any value as canonical Extended JSON (keeps every BSON type)
#pragma once

#include "error.hpp"

#include <bson/bson.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nextcrm {

// The SQL types a BSON value can be converted to.
enum class Target {
    Text,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Numeric,
    Bool,
    Timestamp, // timestamp and timestamptz: both hold UTC microseconds
    Date,
    Bytea,
    Uuid,
    Json, // json and jsonb: canonical Extended JSON text
};

// The SQL spelling of a target, for messages ("integer", "jsonb", ...).
const char *target_name(Target t);

// MongoDB's name of a BSON type ("double", "objectId", "decimal", ...).
const char *bson_type_name(bson_type_t t);

// A value that cannot be converted exactly.  SQLSTATE 22P02 for a type that
// never converts, 22003 for a value out of the target's range.
class ConversionError : public Error {
  public:
    ConversionError(std::string field, bson_type_t type, std::string target, std::string reason,
                    const char *state = sqlstate::invalid_text_representation);

    const std::string &field() const noexcept { return field_; }
    bson_type_t bson_type() const noexcept { return type_; }
    const std::string &target() const noexcept { return target_; }
    const std::string &reason() const noexcept { return reason_; }

  private:
    std::string field_;
    bson_type_t type_;
    std::string target_;
    std::string reason_;
};

// True for BSON null and undefined (and an iterator on nothing): SQL NULL.
bool is_null(const bson_iter_t *it);

// text: the bytes stay inside the document, so the view lives as long as it.
std::string_view to_text(const bson_iter_t *it, const std::string &field);
// ObjectId as text: 24 lowercase hex digits written into out.
void oid_to_hex(const bson_oid_t *oid, char out[25]);

// int2/int4/int8: range-checked against the target.
std::int64_t to_integer(const bson_iter_t *it, const std::string &field, Target target);

double to_float8(const bson_iter_t *it, const std::string &field);
float to_float4(const bson_iter_t *it, const std::string &field);

// numeric: a decimal string numeric's input accepts ("12.50", "-1E+400",
// "NaN", "Infinity", "-Infinity").
std::string to_numeric(const bson_iter_t *it, const std::string &field);

bool to_bool(const bson_iter_t *it, const std::string &field);

// Microseconds since 2000-01-01 00:00:00 UTC (PostgreSQL's epoch), the
// internal form of timestamp and timestamptz.
std::int64_t to_timestamp_us(const bson_iter_t *it, const std::string &field);
// Days since 2000-01-01, the internal form of date.
std::int32_t to_date_days(const bson_iter_t *it, const std::string &field);

// bytea: the bytes stay inside the document.
std::string_view to_bytes(const bson_iter_t *it, const std::string &field);

// How the 16 bytes of a BinData subtype 3 (legacy UUID) are ordered.  The
// drivers that wrote them disagreed, so the MongoDB UUID specification decodes
// subtype 3 only with the representation named; Unspecified refuses it.
//   standard, python_legacy  the bytes as they are
//   csharp_legacy            bytes 0-3, 4-5 and 6-7 each reversed
//   java_legacy              bytes 0-7 and 8-15 each reversed
enum class UuidRepresentation { Unspecified, Standard, CSharpLegacy, JavaLegacy, PythonLegacy };

// The representation an option value names (standard, csharp_legacy,
// java_legacy, python_legacy); nullopt for anything else.
std::optional<UuidRepresentation> parse_uuid_representation(std::string_view name);

// uuid from binary or a uuid string.  ObjectIds are the caller's (they need
// the mapping in oid_uuid.hpp); this throws for them.  Subtype 3 converts
// only when `legacy` names its byte order.
std::array<std::uint8_t, 16> to_uuid(const bson_iter_t *it, const std::string &field,
                                     UuidRepresentation legacy = UuidRepresentation::Unspecified);

// The UUID a reference maps to (oid_uuid.hpp): an ObjectId, or the 24-hex
// string NextCRM also stores; nullopt for anything else.  *as_string, when
// given, says whether it was the string form.
std::optional<std::array<std::uint8_t, 16>> reference_uuid(const bson_iter_t *it,
                                                           bool *as_string = nullptr);

// json/jsonb: canonical Extended JSON of any value (documents, arrays and
// scalars), never the legacy format; written by extended_json.hpp (shortest
// round-trip doubles, nesting bounded by max_document_depth).
std::string to_json(const bson_iter_t *it, const std::string &field);
// The whole document as canonical Extended JSON.
std::string document_to_json(const bson_t *doc);

// A short printable form of a value for messages (the _id of a document):
// canonical Extended JSON, cut at 200 bytes.
std::string describe_value(const bson_iter_t *it);

} // namespace nextcrm
