#include "bson_convert.hpp"

#include "extended_json.hpp"
#include "oid_uuid.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace nextcrm {

namespace {

// PostgreSQL's timestamp and date ranges (datatype/timestamp.h), in its own
// epoch (2000-01-01).
constexpr std::int64_t pg_min_timestamp = -211813488000000000LL;
constexpr std::int64_t pg_end_timestamp = 9223371331200000000LL;
constexpr std::int64_t pg_min_date = 0 - 2451545;
constexpr std::int64_t pg_end_date = 2147483494 - 2451545;
constexpr std::int64_t unix_to_pg_epoch_ms = 946684800000LL;
constexpr std::int64_t ms_per_day = 86400000LL;

[[noreturn]] void fail(const bson_iter_t *it, const std::string &field, Target target,
                       const std::string &reason,
                       const char *state = sqlstate::invalid_text_representation) {
    throw ConversionError(field, bson_iter_type(it), target_name(target), reason, state);
}

[[noreturn]] void wrong_type(const bson_iter_t *it, const std::string &field, Target target) {
    fail(it, field, target,
         std::string("a BSON ") + bson_type_name(bson_iter_type(it)) + " never converts to " +
             target_name(target),
         sqlstate::datatype_mismatch);
}

std::string decimal_string(const bson_iter_t *it) {
    bson_decimal128_t dec;
    bson_iter_decimal128(it, &dec);
    char buf[BSON_DECIMAL128_STRING];
    bson_decimal128_to_string(&dec, buf);
    return buf;
}

// A finite decimal in the form libbson prints ("-1.250E+3"), split into its
// sign, coefficient digits and the power of ten they are scaled by.
struct Decimal {
    bool negative = false;
    std::string digits; // no leading zeros except a lone "0"
    long exponent = 0;  // value = digits * 10^exponent
};

bool parse_decimal(const std::string &text, Decimal &out) {
    const char *p = text.c_str();
    if (*p == '-' || *p == '+')
        out.negative = *p++ == '-';
    bool any = false;
    long frac = 0;
    bool in_frac = false;
    for (; *p; ++p) {
        if (*p >= '0' && *p <= '9') {
            out.digits += *p;
            any = true;
            if (in_frac)
                ++frac;
        } else if (*p == '.' && !in_frac) {
            in_frac = true;
        } else {
            break;
        }
    }
    if (!any)
        return false;
    long exp = 0;
    if (*p == 'E' || *p == 'e') {
        char *end;
        errno = 0;
        exp = std::strtol(p + 1, &end, 10);
        if (errno || *end)
            return false;
    } else if (*p) {
        return false;
    }
    out.exponent = exp - frac;
    std::size_t nz = out.digits.find_first_not_of('0');
    out.digits = nz == std::string::npos ? "0" : out.digits.substr(nz);
    return true;
}

// Plain positional notation ("-1250", "0.0012"), which numeric's input
// accepts at any exponent (it refuses exponents beyond ±1000).
std::string plain_decimal(const Decimal &d) {
    std::string out = d.negative && d.digits != "0" ? "-" : "";
    if (d.exponent >= 0) {
        out += d.digits;
        if (d.digits != "0")
            out.append(static_cast<std::size_t>(d.exponent), '0');
        return out;
    }
    std::size_t scale = static_cast<std::size_t>(-d.exponent);
    std::string digits = d.digits;
    if (digits.size() <= scale)
        digits.insert(0, scale - digits.size() + 1, '0');
    out += digits.substr(0, digits.size() - scale);
    out += '.';
    out += digits.substr(digits.size() - scale);
    return out;
}

bool double_is_integer_in(double d, std::int64_t lo, std::int64_t hi, std::int64_t &out) {
    if (!std::isfinite(d) || std::trunc(d) != d)
        return false;
    // 2^63 is exactly representable; every double below it fits in int64.
    if (d < -9223372036854775808.0 || d >= 9223372036854775808.0)
        return false;
    out = static_cast<std::int64_t>(d);
    return out >= lo && out <= hi;
}

void range_of(Target t, std::int64_t &lo, std::int64_t &hi) {
    switch (t) {
    case Target::Int2:
        lo = std::numeric_limits<std::int16_t>::min();
        hi = std::numeric_limits<std::int16_t>::max();
        break;
    case Target::Int4:
        lo = std::numeric_limits<std::int32_t>::min();
        hi = std::numeric_limits<std::int32_t>::max();
        break;
    default:
        lo = std::numeric_limits<std::int64_t>::min();
        hi = std::numeric_limits<std::int64_t>::max();
        break;
    }
}

// True when s holds no NUL and is valid UTF-8.  ASCII runs are checked eight
// bytes at a time; libbson's validator only sees the rest.
bool text_is_clean(const char *s, std::size_t len, bool *has_nul) {
    constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    std::size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, s + i, 8);
        if (((w - ones) & ~w & highs) != 0 || (w & highs) != 0)
            break;
    }
    for (; i < len; ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == 0 || c >= 0x80)
            break;
    }
    if (i == len)
        return true;
    if (std::memchr(s + i, '\0', len - i)) {
        *has_nul = true;
        return false;
    }
    return bson_utf8_validate(s + i, len - i, false);
}

} // namespace

ConversionError::ConversionError(std::string field, bson_type_t type, std::string target,
                                 std::string reason, const char *state)
    : Error("cannot convert field \"" + field + "\" (BSON " + bson_type_name(type) + ") to " +
                target + ": " + reason,
            state),
      field_(std::move(field)), type_(type), target_(std::move(target)),
      reason_(std::move(reason)) {}

const char *target_name(Target t) {
    switch (t) {
    case Target::Text:
        return "text";
    case Target::Int2:
        return "smallint";
    case Target::Int4:
        return "integer";
    case Target::Int8:
        return "bigint";
    case Target::Float4:
        return "real";
    case Target::Float8:
        return "double precision";
    case Target::Numeric:
        return "numeric";
    case Target::Bool:
        return "boolean";
    case Target::Timestamp:
        return "timestamp";
    case Target::Date:
        return "date";
    case Target::Bytea:
        return "bytea";
    case Target::Uuid:
        return "uuid";
    case Target::Json:
        return "jsonb";
    }
    return "unknown";
}

const char *bson_type_name(bson_type_t t) {
    switch (t) {
    case BSON_TYPE_EOD:
        return "missing";
    case BSON_TYPE_DOUBLE:
        return "double";
    case BSON_TYPE_UTF8:
        return "string";
    case BSON_TYPE_DOCUMENT:
        return "object";
    case BSON_TYPE_ARRAY:
        return "array";
    case BSON_TYPE_BINARY:
        return "binData";
    case BSON_TYPE_UNDEFINED:
        return "undefined";
    case BSON_TYPE_OID:
        return "objectId";
    case BSON_TYPE_BOOL:
        return "bool";
    case BSON_TYPE_DATE_TIME:
        return "date";
    case BSON_TYPE_NULL:
        return "null";
    case BSON_TYPE_REGEX:
        return "regex";
    case BSON_TYPE_DBPOINTER:
        return "dbPointer";
    case BSON_TYPE_CODE:
        return "javascript";
    case BSON_TYPE_SYMBOL:
        return "symbol";
    case BSON_TYPE_CODEWSCOPE:
        return "javascriptWithScope";
    case BSON_TYPE_INT32:
        return "int";
    case BSON_TYPE_TIMESTAMP:
        return "timestamp";
    case BSON_TYPE_INT64:
        return "long";
    case BSON_TYPE_DECIMAL128:
        return "decimal";
    case BSON_TYPE_MAXKEY:
        return "maxKey";
    case BSON_TYPE_MINKEY:
        return "minKey";
    }
    return "unknown";
}

bool is_null(const bson_iter_t *it) {
    bson_type_t t = bson_iter_type(it);
    return t == BSON_TYPE_NULL || t == BSON_TYPE_UNDEFINED || t == BSON_TYPE_EOD;
}

void oid_to_hex(const bson_oid_t *oid, char out[25]) {
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 12; ++i) {
        out[2 * i] = digits[oid->bytes[i] >> 4];
        out[2 * i + 1] = digits[oid->bytes[i] & 0xf];
    }
    out[24] = '\0';
}

std::string_view to_text(const bson_iter_t *it, const std::string &field) {
    std::uint32_t len = 0;
    const char *s;
    switch (bson_iter_type(it)) {
    case BSON_TYPE_UTF8:
        s = bson_iter_utf8(it, &len);
        break;
    case BSON_TYPE_SYMBOL:
        s = bson_iter_symbol(it, &len);
        break;
    default:
        wrong_type(it, field, Target::Text);
    }
    bool has_nul = false;
    if (!text_is_clean(s, len, &has_nul)) {
        if (has_nul)
            fail(it, field, Target::Text, "the string contains a NUL byte, which text cannot hold");
        fail(it, field, Target::Text, "the string is not valid UTF-8");
    }
    return {s, len};
}

std::int64_t to_integer(const bson_iter_t *it, const std::string &field, Target target) {
    std::int64_t lo, hi, v = 0;
    range_of(target, lo, hi);
    // Messages never quote the value (docs/REFERENCE.md, "Secrets"): it is in the
    // error row's document.
    auto out_of_range = [&] {
        fail(it, field, target,
             std::string("the value is out of ") + target_name(target) + "'s range",
             sqlstate::numeric_value_out_of_range);
    };
    switch (bson_iter_type(it)) {
    case BSON_TYPE_INT32:
        v = bson_iter_int32(it);
        break;
    case BSON_TYPE_INT64:
        v = bson_iter_int64(it);
        break;
    case BSON_TYPE_DOUBLE: {
        double d = bson_iter_double(it);
        if (!std::isfinite(d) || std::trunc(d) != d)
            fail(it, field, target, "the value is not an integer");
        if (!double_is_integer_in(d, lo, hi, v))
            out_of_range();
        return v;
    }
    case BSON_TYPE_DECIMAL128: {
        std::string text = decimal_string(it);
        Decimal d;
        if (!parse_decimal(text, d))
            fail(it, field, target, "the value is not an integer");
        std::string plain = plain_decimal(d);
        std::size_t dot = plain.find('.');
        if (dot != std::string::npos) {
            if (plain.find_first_not_of('0', dot + 1) != std::string::npos)
                fail(it, field, target, "the value is not an integer");
            plain.resize(dot);
        }
        errno = 0;
        char *end;
        long long parsed = std::strtoll(plain.c_str(), &end, 10);
        if (errno == ERANGE || parsed < lo || parsed > hi)
            out_of_range();
        return parsed;
    }
    default:
        wrong_type(it, field, target);
    }
    if (v < lo || v > hi)
        out_of_range();
    return v;
}

double to_float8(const bson_iter_t *it, const std::string &field) {
    switch (bson_iter_type(it)) {
    case BSON_TYPE_DOUBLE:
        return bson_iter_double(it);
    case BSON_TYPE_INT32:
        return bson_iter_int32(it);
    case BSON_TYPE_INT64: {
        std::int64_t v = bson_iter_int64(it), back;
        double d = static_cast<double>(v);
        if (!double_is_integer_in(d, v, v, back))
            fail(it, field, Target::Float8, "the value has more digits than a double holds");
        return d;
    }
    case BSON_TYPE_DECIMAL128:
        fail(it, field, Target::Float8, "a Decimal128 converts exactly only to numeric (or jsonb)",
             sqlstate::datatype_mismatch);
    default:
        wrong_type(it, field, Target::Float8);
    }
}

float to_float4(const bson_iter_t *it, const std::string &field) {
    if (bson_iter_type(it) == BSON_TYPE_DECIMAL128)
        fail(it, field, Target::Float4, "a Decimal128 converts exactly only to numeric (or jsonb)",
             sqlstate::datatype_mismatch);
    if (bson_iter_type(it) != BSON_TYPE_DOUBLE && bson_iter_type(it) != BSON_TYPE_INT32 &&
        bson_iter_type(it) != BSON_TYPE_INT64)
        wrong_type(it, field, Target::Float4);
    double d = to_float8(it, field);
    float f = static_cast<float>(d);
    if (!std::isnan(d) && static_cast<double>(f) != d)
        fail(it, field, Target::Float4, "the value cannot be held exactly by a real",
             sqlstate::numeric_value_out_of_range);
    return f;
}

std::string to_numeric(const bson_iter_t *it, const std::string &field) {
    switch (bson_iter_type(it)) {
    case BSON_TYPE_INT32:
        return std::to_string(bson_iter_int32(it));
    case BSON_TYPE_INT64:
        return std::to_string(bson_iter_int64(it));
    case BSON_TYPE_DOUBLE: {
        double d = bson_iter_double(it);
        if (std::isnan(d))
            return "NaN";
        if (std::isinf(d))
            return d > 0 ? "Infinity" : "-Infinity";
        return shortest_double(d);
    }
    case BSON_TYPE_DECIMAL128: {
        std::string text = decimal_string(it);
        if (text == "NaN" || text == "Infinity" || text == "-Infinity")
            return text;
        Decimal d;
        if (!parse_decimal(text, d))
            fail(it, field, Target::Numeric, "the Decimal128 is unreadable");
        return plain_decimal(d);
    }
    default:
        wrong_type(it, field, Target::Numeric);
    }
}

bool to_bool(const bson_iter_t *it, const std::string &field) {
    if (bson_iter_type(it) != BSON_TYPE_BOOL)
        wrong_type(it, field, Target::Bool);
    return bson_iter_bool(it);
}

std::int64_t to_timestamp_us(const bson_iter_t *it, const std::string &field) {
    if (bson_iter_type(it) != BSON_TYPE_DATE_TIME)
        wrong_type(it, field, Target::Timestamp);
    std::int64_t ms = bson_iter_date_time(it), shifted, us;
    if (__builtin_sub_overflow(ms, unix_to_pg_epoch_ms, &shifted) ||
        __builtin_mul_overflow(shifted, std::int64_t{1000}, &us) || us < pg_min_timestamp ||
        us >= pg_end_timestamp)
        fail(it, field, Target::Timestamp, "the date is outside timestamp's range",
             sqlstate::numeric_value_out_of_range);
    return us;
}

std::int32_t to_date_days(const bson_iter_t *it, const std::string &field) {
    if (bson_iter_type(it) != BSON_TYPE_DATE_TIME)
        wrong_type(it, field, Target::Date);
    std::int64_t ms = bson_iter_date_time(it);
    if (ms % ms_per_day != 0)
        fail(it, field, Target::Date, "the date is not midnight UTC; use timestamp");
    std::int64_t days = ms / ms_per_day - unix_to_pg_epoch_ms / ms_per_day;
    if (days < pg_min_date || days >= pg_end_date)
        fail(it, field, Target::Date, "date is outside date's range",
             sqlstate::numeric_value_out_of_range);
    return static_cast<std::int32_t>(days);
}

std::string_view to_bytes(const bson_iter_t *it, const std::string &field) {
    if (bson_iter_type(it) == BSON_TYPE_OID) {
        const bson_oid_t *oid = bson_iter_oid(it);
        return {reinterpret_cast<const char *>(oid->bytes), 12};
    }
    if (bson_iter_type(it) != BSON_TYPE_BINARY)
        wrong_type(it, field, Target::Bytea);
    bson_subtype_t subtype;
    std::uint32_t len = 0;
    const std::uint8_t *data = nullptr;
    bson_iter_binary(it, &subtype, &len, &data);
    return {reinterpret_cast<const char *>(data), len};
}

std::optional<UuidRepresentation> parse_uuid_representation(std::string_view name) {
    if (name == "standard")
        return UuidRepresentation::Standard;
    if (name == "csharp_legacy")
        return UuidRepresentation::CSharpLegacy;
    if (name == "java_legacy")
        return UuidRepresentation::JavaLegacy;
    if (name == "python_legacy")
        return UuidRepresentation::PythonLegacy;
    return std::nullopt;
}

std::array<std::uint8_t, 16> to_uuid(const bson_iter_t *it, const std::string &field,
                                     UuidRepresentation legacy) {
    std::array<std::uint8_t, 16> out{};
    if (bson_iter_type(it) == BSON_TYPE_BINARY) {
        bson_subtype_t subtype;
        std::uint32_t len = 0;
        const std::uint8_t *data = nullptr;
        bson_iter_binary(it, &subtype, &len, &data);
        if ((subtype != BSON_SUBTYPE_UUID && subtype != BSON_SUBTYPE_UUID_DEPRECATED) || len != 16)
            fail(it, field, Target::Uuid,
                 "binary subtype " + std::to_string(subtype) + " of " + std::to_string(len) +
                     " bytes is not a UUID");
        std::memcpy(out.data(), data, 16);
        if (subtype == BSON_SUBTYPE_UUID)
            return out;
        switch (legacy) {
        case UuidRepresentation::Unspecified:
            fail(it, field, Target::Uuid,
                 "BinData subtype 3 (legacy UUID) needs the uuid_representation option");
        case UuidRepresentation::Standard:
        case UuidRepresentation::PythonLegacy:
            break;
        case UuidRepresentation::CSharpLegacy:
            std::reverse(out.begin(), out.begin() + 4);
            std::reverse(out.begin() + 4, out.begin() + 6);
            std::reverse(out.begin() + 6, out.begin() + 8);
            break;
        case UuidRepresentation::JavaLegacy:
            std::reverse(out.begin(), out.begin() + 8);
            std::reverse(out.begin() + 8, out.end());
            break;
        }
        return out;
    }
    if (bson_iter_type(it) == BSON_TYPE_UTF8) {
        std::uint32_t len = 0;
        const char *s = bson_iter_utf8(it, &len);
        int n = 0;
        bool ok = len == 36;
        for (std::uint32_t i = 0; ok && i < len; ++i) {
            if (i == 8 || i == 13 || i == 18 || i == 23) {
                ok = s[i] == '-';
                continue;
            }
            int hi = hex_value(s[i]), lo = i + 1 < len ? hex_value(s[i + 1]) : -1;
            ok = hi >= 0 && lo >= 0;
            if (ok)
                out[n++] = static_cast<std::uint8_t>(hi << 4 | lo);
            ++i;
        }
        if (!ok || n != 16)
            fail(it, field, Target::Uuid, "the string is not a UUID");
        return out;
    }
    wrong_type(it, field, Target::Uuid);
}

std::string to_json(const bson_iter_t *it, const std::string &field) {
    return value_as_json(it, JsonMode::Canonical, field);
}

std::string document_to_json(const bson_t *doc) {
    return document_as_json(doc, JsonMode::Canonical);
}

std::string describe_value(const bson_iter_t *it) {
    std::string json;
    try {
        json = value_as_json(it, JsonMode::Canonical, "");
    } catch (const ConversionError &e) {
        return std::string("(a BSON ") + bson_type_name(bson_iter_type(it)) +
               " with no JSON form: " + e.reason() + ")";
    }
    if (json.size() > 200)
        json = json.substr(0, 200) + "...";
    return json;
}

std::optional<std::array<std::uint8_t, 16>> reference_uuid(const bson_iter_t *it, bool *as_string) {
    if (as_string)
        *as_string = false;
    if (BSON_ITER_HOLDS_OID(it)) {
        ObjectIdBytes oid;
        std::memcpy(oid.data(), bson_iter_oid(it)->bytes, oid.size());
        return oid_to_uuid(oid);
    }
    if (BSON_ITER_HOLDS_UTF8(it)) {
        std::uint32_t len = 0;
        const char *s = bson_iter_utf8(it, &len);
        if (auto oid = parse_object_id(std::string_view(s, len))) {
            if (as_string)
                *as_string = true;
            return oid_to_uuid(*oid);
        }
    }
    return std::nullopt;
}

} // namespace nextcrm
