#include "id_key.hpp"

#include "extended_json.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>

namespace nextcrm {

namespace {

using u128 = unsigned __int128;

void append_u32(std::string &out, std::uint32_t n) {
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>((n >> shift) & 0xFF));
}

void append_u64(std::string &out, std::uint64_t n) {
    for (int shift = 56; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>((n >> shift) & 0xFF));
}

// A number's key says which of three disjoint kinds its exact value is, so
// that each value has one key whatever type holds it: an integer int64 can
// hold ("I"), else a value a double holds exactly ("D", infinities
// included), else a Decimal128 value no double or int64 holds ("X").  NaN
// is "N".
std::string integer_key(std::int64_t v) {
    std::string out = "nI";
    append_u64(out, static_cast<std::uint64_t>(v));
    return out;
}

std::string double_key(double d) {
    if (std::isnan(d))
        return "nN";
    // -2^63 <= d < 2^63 and integral: int64 holds it exactly (-0.0 is 0).
    if (std::isfinite(d) && std::trunc(d) == d && d >= -9223372036854775808.0 &&
        d < 9223372036854775808.0)
        return integer_key(static_cast<std::int64_t>(d));
    std::uint64_t bits = 0;
    std::memcpy(&bits, &d, sizeof bits);
    std::string out = "nD";
    append_u64(out, bits);
    return out;
}

std::string u128_digits(u128 v) {
    std::string digits;
    do {
        digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
        v /= 10;
    } while (v != 0);
    return digits;
}

constexpr u128 pow2(int n) {
    return static_cast<u128>(1) << n;
}

// The largest coefficient IEEE 754-2008 allows a Decimal128 (10^34 - 1); a
// larger one is non-canonical and reads as 0.
constexpr u128 max_coefficient =
    static_cast<u128>(999999999999999999ULL) * 10000000000000000ULL + 9999999999999999ULL;

// Decimal128 (BID encoding, as BSON stores it) by its exact value.
std::string decimal_key(const bson_decimal128_t &d) {
    const std::uint64_t high = d.high, low = d.low;
    const bool negative = (high >> 63) != 0;
    u128 coefficient = 0;
    int exponent = 0;
    if (((high >> 61) & 3) == 3) {
        const unsigned combination = (high >> 58) & 0x1F;
        if (combination == 0x1F)
            return "nN"; // NaN, quiet or signalling, of either sign
        if (combination == 0x1E)
            return double_key(negative ? -HUGE_VAL : HUGE_VAL);
        // The coefficient's implicit 100 prefix makes it exceed 10^34 - 1:
        // non-canonical, so zero.
        return integer_key(0);
    }
    exponent = static_cast<int>((high >> 49) & 0x3FFF) - 6176;
    coefficient = (static_cast<u128>(high & ((std::uint64_t{1} << 49) - 1)) << 64) | low;
    if (coefficient > max_coefficient || coefficient == 0)
        return integer_key(0);
    while (coefficient % 10 == 0) {
        coefficient /= 10;
        ++exponent;
    }
    // value = +-coefficient * 10^exponent, coefficient not a multiple of 10.

    // An integer int64 holds?
    if (exponent >= 0 && exponent <= 19) {
        u128 magnitude = coefficient;
        bool fits = true;
        for (int i = 0; i < exponent && fits; ++i) {
            magnitude *= 10;
            fits = magnitude <= pow2(63);
        }
        if (fits && (magnitude < pow2(63) || (negative && magnitude == pow2(63))))
            return integer_key(negative
                                   ? static_cast<std::int64_t>(-static_cast<__int128>(magnitude))
                                   : static_cast<std::int64_t>(magnitude));
    }

    // A double holds it exactly when it is odd * 2^k with odd < 2^53 (k is
    // never the limit: a coefficient of at most 34 digits that passes these
    // tests is far from a double's range).  With coefficient = odd * 2^t,
    // the value is odd * 5^e * 2^(t + e).
    u128 odd = coefficient;
    int binary_exponent = exponent;
    while (odd % 2 == 0) {
        odd /= 2;
        ++binary_exponent;
    }
    bool exact = true;
    if (exponent >= 0) {
        for (int i = 0; i < exponent && exact; ++i) {
            exact = odd < pow2(53); // past it, it never comes back
            odd *= 5;
        }
    } else {
        // 10^-k leaves a dyadic value only when 5^k divides the coefficient.
        for (int i = 0; i < -exponent && exact; ++i) {
            exact = odd % 5 == 0;
            odd /= 5;
        }
    }
    if (exact && odd < pow2(53)) {
        double magnitude =
            std::ldexp(static_cast<double>(static_cast<std::uint64_t>(odd)), binary_exponent);
        return double_key(negative ? -magnitude : magnitude);
    }

    std::string out = "nX";
    out.push_back(negative ? '-' : '+');
    append_u32(out, static_cast<std::uint32_t>(exponent));
    out += u128_digits(coefficient);
    return out;
}

// The type and the value's bytes as BSON writes them: {"": value} is 4
// bytes of length, the type, the empty name's NUL, the value and the
// closing NUL.
std::string bytes_key(const bson_iter_t *it) {
    bson_t one;
    bson_init(&one);
    bson_append_iter(&one, "", 0, it);
    const std::uint8_t *data = bson_get_data(&one);
    std::string out = "t";
    out.push_back(static_cast<char>(bson_iter_type(it)));
    if (one.len > 7)
        out.append(reinterpret_cast<const char *>(data) + 6, one.len - 7);
    bson_destroy(&one);
    return out;
}

std::string iter_key(const bson_iter_t *it, int depth);

// A document's or an array's elements; a document's with their names.
// Past max_document_depth (a document no reader converts: check_document()
// makes it an error row) the value is keyed by its bytes, so that no input
// recurses without bound on the backend's stack.
std::string children_key(const bson_iter_t *it, bool with_names, int depth) {
    if (depth > max_document_depth)
        return bytes_key(it);
    std::string out = with_names ? "o" : "a";
    bson_iter_t child;
    if (!bson_iter_recurse(it, &child))
        return out;
    while (bson_iter_next(&child)) {
        if (with_names) {
            std::uint32_t name_len = bson_iter_key_len(&child);
            append_u32(out, name_len);
            out.append(bson_iter_key(&child), name_len);
        }
        std::string k = iter_key(&child, depth + 1);
        append_u32(out, static_cast<std::uint32_t>(k.size()));
        out += k;
    }
    return out;
}

std::string iter_key(const bson_iter_t *it, int depth) {
    switch (bson_iter_type(it)) {
    case BSON_TYPE_INT32:
        return integer_key(bson_iter_int32(it));
    case BSON_TYPE_INT64:
        return integer_key(bson_iter_int64(it));
    case BSON_TYPE_DOUBLE:
        return double_key(bson_iter_double(it));
    case BSON_TYPE_DECIMAL128: {
        bson_decimal128_t d;
        bson_iter_decimal128(it, &d);
        return decimal_key(d);
    }
    case BSON_TYPE_UTF8: {
        std::uint32_t len = 0;
        const char *s = bson_iter_utf8(it, &len);
        return "s" + std::string(s, len);
    }
    case BSON_TYPE_SYMBOL: {
        std::uint32_t len = 0;
        const char *s = bson_iter_symbol(it, &len);
        return "s" + std::string(s, len);
    }
    case BSON_TYPE_DOCUMENT:
        return children_key(it, true, depth);
    case BSON_TYPE_ARRAY:
        return children_key(it, false, depth);
    default:
        return bytes_key(it);
    }
}

} // namespace

std::string id_key(const bson_value_t *id) {
    bson_t one;
    bson_init(&one);
    bson_append_value(&one, "", 0, id);
    bson_iter_t it;
    std::string out;
    if (bson_iter_init(&it, &one) && bson_iter_next(&it))
        out = iter_key(&it, 1);
    bson_destroy(&one);
    return out;
}

std::string id_key_of(const bson_t *doc) {
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, "_id"))
        return {};
    return iter_key(&it, 1);
}

} // namespace nextcrm
