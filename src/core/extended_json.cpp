#include "extended_json.hpp"

#include "bson_convert.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace nextcrm {

namespace {

const char hex_digits[] = "0123456789abcdef";

class Writer {
  public:
    Writer(JsonMode mode, JsonFlags *flags) : mode_(mode), flags_(flags) {}

    std::string out;

    void value(const bson_iter_t *it, const std::string &path, int depth);
    void document(const bson_t *doc, bool array, const std::string &path, int depth);

  private:
    JsonMode mode_;
    JsonFlags *flags_;

    [[noreturn]] void fail(bson_type_t type, const std::string &path, const std::string &why) {
        throw ConversionError(path, type, target_name(Target::Json), why);
    }

    void string(const char *s, std::size_t len, bson_type_t type, const std::string &path);
    void dbl(double d);
    void date(std::int64_t ms);
    void children(const bson_iter_t *it, bool array, const std::string &path, int depth);
};

void Writer::string(const char *s, std::size_t len, bson_type_t type, const std::string &path) {
    if (!bson_utf8_validate(s, len, true))
        fail(type, path, "the value holds text that is not valid UTF-8");
    out += '"';
    for (std::size_t i = 0; i < len; ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\f':
            out += "\\f";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (c < 0x20) {
                if (c == 0 && flags_)
                    flags_->has_nul = true;
                out += "\\u00";
                out += hex_digits[c >> 4];
                out += hex_digits[c & 0xf];
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    out += '"';
}

void Writer::dbl(double d) {
    // A JSON number cannot say NaN or Infinity, and numeric (hence jsonb)
    // has no negative zero: those stay typed in both modes.
    bool special = !std::isfinite(d) || (d == 0 && std::signbit(d));
    if (mode_ == JsonMode::Relaxed && !special) {
        std::string s = shortest_double(d);
        if (s.find_first_of(".e") == std::string::npos)
            s += ".0"; // a double, not an integer
        out += s;
        return;
    }
    std::string s;
    if (std::isnan(d))
        s = "NaN";
    else if (std::isinf(d))
        s = d > 0 ? "Infinity" : "-Infinity";
    else if (d == 0 && std::signbit(d))
        s = "-0.0";
    else {
        s = shortest_double(d);
        if (s.find_first_of(".e") == std::string::npos)
            s += ".0";
    }
    out += "{ \"$numberDouble\" : \"" + s + "\" }";
}

void Writer::date(std::int64_t ms) {
    // Relaxed form for years 1970 to 9999, as the Extended JSON spec says.
    constexpr std::int64_t max_ms = 253402300799999LL; // 9999-12-31T23:59:59.999Z
    if (mode_ == JsonMode::Relaxed && ms >= 0 && ms <= max_ms) {
        std::time_t secs = static_cast<std::time_t>(ms / 1000);
        std::tm tm{};
        gmtime_r(&secs, &tm);
        char buf[40];
        std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
        out += "{ \"$date\" : \"";
        out += buf;
        if (ms % 1000) {
            std::snprintf(buf, sizeof buf, ".%03d", static_cast<int>(ms % 1000));
            out += buf;
        }
        out += "Z\" }";
        return;
    }
    out += "{ \"$date\" : { \"$numberLong\" : \"" + std::to_string(ms) + "\" } }";
}

void Writer::children(const bson_iter_t *it, bool array, const std::string &path, int depth) {
    bson_iter_t child;
    if (!bson_iter_recurse(it, &child))
        fail(bson_iter_type(it), path, "the value is malformed BSON");
    out += array ? "[" : "{";
    bool first = true;
    while (bson_iter_next(&child)) {
        out += first ? " " : ", ";
        first = false;
        std::uint32_t klen = bson_iter_key_len(&child);
        const char *key = bson_iter_key(&child);
        std::string sub = path + "." + printable_key(key, klen);
        if (!array) {
            if (!bson_utf8_validate(key, klen, false))
                fail(bson_iter_type(&child), sub, "the key is not valid UTF-8");
            string(key, klen, BSON_TYPE_UTF8, sub);
            out += " : ";
        }
        value(&child, sub, depth);
    }
    if (child.err_off)
        fail(bson_iter_type(it), path, "the value is malformed BSON");
    out += first ? " " : " ";
    out += array ? "]" : "}";
}

void Writer::document(const bson_t *doc, bool array, const std::string &path, int depth) {
    bson_iter_t it;
    if (!bson_iter_init(&it, doc))
        fail(BSON_TYPE_DOCUMENT, path, "the value is malformed BSON");
    out += array ? "[" : "{";
    bool first = true;
    while (bson_iter_next(&it)) {
        out += first ? " " : ", ";
        first = false;
        std::uint32_t klen = bson_iter_key_len(&it);
        const char *key = bson_iter_key(&it);
        std::string sub =
            path.empty() ? printable_key(key, klen) : path + "." + printable_key(key, klen);
        if (!array) {
            if (!bson_utf8_validate(key, klen, false))
                fail(bson_iter_type(&it), sub, "the key is not valid UTF-8");
            string(key, klen, BSON_TYPE_UTF8, sub);
            out += " : ";
        }
        value(&it, sub, depth);
    }
    if (it.err_off)
        fail(BSON_TYPE_DOCUMENT, path.empty() ? "(document)" : path,
             "the document is malformed BSON");
    out += " ";
    out += array ? "]" : "}";
}

void Writer::value(const bson_iter_t *it, const std::string &path, int depth) {
    bson_type_t type = bson_iter_type(it);
    switch (type) {
    case BSON_TYPE_EOD:
    case BSON_TYPE_NULL:
        out += "null";
        return;
    case BSON_TYPE_DOUBLE: {
        double d = bson_iter_double(it);
        if (flags_ && d == 0 && std::signbit(d))
            flags_->negative_zero.push_back(path);
        dbl(d);
        return;
    }
    case BSON_TYPE_UTF8: {
        std::uint32_t len = 0;
        const char *s = bson_iter_utf8(it, &len);
        string(s, len, type, path);
        return;
    }
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY:
        if (depth + 1 > max_document_depth)
            fail(type, path,
                 "the value nests deeper than " + std::to_string(max_document_depth) + " levels");
        children(it, type == BSON_TYPE_ARRAY, path, depth + 1);
        return;
    case BSON_TYPE_BINARY: {
        bson_subtype_t subtype;
        std::uint32_t len = 0;
        const std::uint8_t *data = nullptr;
        bson_iter_binary(it, &subtype, &len, &data);
        char st[3] = {hex_digits[(subtype >> 4) & 0xf], hex_digits[subtype & 0xf], 0};
        out += "{ \"$binary\" : { \"base64\" : \"" + base64(data, len) + "\", \"subType\" : \"" +
               st + "\" } }";
        return;
    }
    case BSON_TYPE_UNDEFINED:
        out += "{ \"$undefined\" : true }";
        return;
    case BSON_TYPE_OID: {
        char hex[25];
        oid_to_hex(bson_iter_oid(it), hex);
        out += std::string("{ \"$oid\" : \"") + hex + "\" }";
        return;
    }
    case BSON_TYPE_BOOL:
        out += bson_iter_bool(it) ? "true" : "false";
        return;
    case BSON_TYPE_DATE_TIME:
        date(bson_iter_date_time(it));
        return;
    case BSON_TYPE_REGEX: {
        const char *options = nullptr;
        const char *pattern = bson_iter_regex(it, &options);
        out += "{ \"$regularExpression\" : { \"pattern\" : ";
        string(pattern, std::strlen(pattern), type, path);
        out += ", \"options\" : ";
        string(options, std::strlen(options), type, path);
        out += " } }";
        return;
    }
    case BSON_TYPE_DBPOINTER: {
        std::uint32_t len = 0;
        const char *coll = nullptr;
        const bson_oid_t *oid = nullptr;
        bson_iter_dbpointer(it, &len, &coll, &oid);
        char hex[25];
        oid_to_hex(oid, hex);
        out += "{ \"$dbPointer\" : { \"$ref\" : ";
        string(coll, len, type, path);
        out += std::string(", \"$id\" : { \"$oid\" : \"") + hex + "\" } } }";
        return;
    }
    case BSON_TYPE_CODE: {
        std::uint32_t len = 0;
        const char *code = bson_iter_code(it, &len);
        out += "{ \"$code\" : ";
        string(code, len, type, path);
        out += " }";
        return;
    }
    case BSON_TYPE_SYMBOL: {
        // A deprecated alias of string: the drivers hand it to applications
        // as a string, so relaxed JSON (what the migration stores) writes it
        // as one; canonical keeps the type, as the specification does.
        std::uint32_t len = 0;
        const char *sym = bson_iter_symbol(it, &len);
        if (mode_ == JsonMode::Relaxed) {
            string(sym, len, type, path);
            return;
        }
        out += "{ \"$symbol\" : ";
        string(sym, len, type, path);
        out += " }";
        return;
    }
    case BSON_TYPE_CODEWSCOPE: {
        std::uint32_t len = 0, scope_len = 0;
        const std::uint8_t *scope = nullptr;
        const char *code = bson_iter_codewscope(it, &len, &scope_len, &scope);
        bson_t scope_doc;
        if (!code || !bson_init_static(&scope_doc, scope, scope_len))
            fail(type, path, "the value is malformed BSON");
        if (depth + 1 > max_document_depth)
            fail(type, path,
                 "the value nests deeper than " + std::to_string(max_document_depth) + " levels");
        out += "{ \"$code\" : ";
        string(code, len, type, path);
        out += ", \"$scope\" : ";
        document(&scope_doc, false, path + ".$scope", depth + 1);
        out += " }";
        return;
    }
    case BSON_TYPE_INT32:
        if (mode_ == JsonMode::Relaxed)
            out += std::to_string(bson_iter_int32(it));
        else
            out += "{ \"$numberInt\" : \"" + std::to_string(bson_iter_int32(it)) + "\" }";
        return;
    case BSON_TYPE_TIMESTAMP: {
        std::uint32_t t = 0, i = 0;
        bson_iter_timestamp(it, &t, &i);
        out += "{ \"$timestamp\" : { \"t\" : " + std::to_string(t) +
               ", \"i\" : " + std::to_string(i) + " } }";
        return;
    }
    case BSON_TYPE_INT64:
        if (mode_ == JsonMode::Relaxed)
            out += std::to_string(bson_iter_int64(it));
        else
            out += "{ \"$numberLong\" : \"" + std::to_string(bson_iter_int64(it)) + "\" }";
        return;
    case BSON_TYPE_DECIMAL128: {
        bson_decimal128_t dec;
        bson_iter_decimal128(it, &dec);
        char buf[BSON_DECIMAL128_STRING];
        bson_decimal128_to_string(&dec, buf);
        out += std::string("{ \"$numberDecimal\" : \"") + buf + "\" }";
        return;
    }
    case BSON_TYPE_MAXKEY:
        out += "{ \"$maxKey\" : 1 }";
        return;
    case BSON_TYPE_MINKEY:
        out += "{ \"$minKey\" : 1 }";
        return;
    }
    fail(type, path, "the value has an unknown BSON type");
}

} // namespace

std::string jsonb_storable(std::string json) {
    if (json.find("\\u0000") == std::string::npos)
        return json;
    std::string out;
    out.reserve(json.size() + 16);
    for (std::size_t i = 0; i < json.size(); ++i) {
        if (json[i] != '\\' || i + 1 == json.size()) {
            out += json[i];
        } else if (json.compare(i, 6, "\\u0000") == 0) {
            out += "\\\\u0000";
            i += 5;
        } else {
            // Any other escape, an escaped backslash included: both
            // characters as they are, so the next one starts afresh.
            out += json[i];
            out += json[++i];
        }
    }
    return out;
}

std::string shortest_double(double d) {
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, d);
    std::string s(buf, res.ptr);
    // "1e-07" -> "1e-7": the exponent without padding zeros.
    std::size_t e = s.find('e');
    if (e != std::string::npos) {
        std::size_t digits = e + 1;
        if (digits < s.size() && (s[digits] == '-' || s[digits] == '+'))
            ++digits;
        while (digits + 1 < s.size() && s[digits] == '0')
            s.erase(digits, 1);
    }
    return s;
}

std::string base64(const std::uint8_t *data, std::size_t len) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((len + 2) / 3 * 4);
    for (std::size_t i = 0; i < len; i += 3) {
        std::uint32_t v = static_cast<std::uint32_t>(data[i]) << 16;
        if (i + 1 < len)
            v |= static_cast<std::uint32_t>(data[i + 1]) << 8;
        if (i + 2 < len)
            v |= data[i + 2];
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
        out += i + 2 < len ? alphabet[v & 63] : '=';
    }
    return out;
}

std::string printable_key(const char *key, std::size_t len) {
    if (bson_utf8_validate(key, len, false))
        return std::string(key, len);
    std::string out;
    for (std::size_t i = 0; i < len; ++i) {
        unsigned char c = static_cast<unsigned char>(key[i]);
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out += static_cast<char>(c);
        } else {
            out += "\\x";
            out += hex_digits[c >> 4];
            out += hex_digits[c & 0xf];
        }
    }
    return out;
}

std::string value_as_json(const bson_iter_t *it, JsonMode mode, const std::string &field,
                          JsonFlags *flags, int depth) {
    Writer w(mode, flags);
    w.value(it, field, depth);
    return std::move(w.out);
}

std::string document_as_json(const bson_t *doc, JsonMode mode, JsonFlags *flags) {
    Writer w(mode, flags);
    w.document(doc, false, "", 0);
    return std::move(w.out);
}

} // namespace nextcrm
