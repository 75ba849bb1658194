// The jsonb of a sampled document, pushed value by value as jsonb_in would
// push them when parsing the document's canonical Extended JSON.  Each case
// of Walk::value mirrors the canonical branch of the same case of
// Writer::value in core/extended_json.cpp; a change there must be made here
// too (test/integration/validate_jsonb.sh fails until it is).
#include "validate_jsonb.hpp"

#include "core/bson_convert.hpp"
#include "core/extended_json.hpp"

extern "C" {
#include "mb/pg_wchar.h"
#include "catalog/namespace.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
}

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace nextcrm {

namespace {

const char hex_digits[] = "0123456789abcdef";

// A text of length len copied into palloc'd memory (the parse state keeps
// pointers until JsonbValueToJsonb copies the values).
char *palloc_text(const char *s, std::size_t len) {
    char *p = static_cast<char *>(palloc(len + 1));
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

// Eight bytes at a time: most of a CRM's text is ASCII, and libbson's
// validator (a tenth of the whole read when it ran on every string) walks
// it character by character.
bool all_ascii(const char *s, std::size_t len) {
    std::size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        std::uint64_t word;
        memcpy(&word, s + i, 8);
        if (word & 0x8080808080808080ULL)
            return false;
    }
    for (; i < len; ++i)
        if (static_cast<unsigned char>(s[i]) & 0x80)
            return false;
    return true;
}

// shortest_double() (core/extended_json.cpp) into a buffer of 64 bytes:
// std::to_chars's shortest form, the exponent without padding zeros.
void shortest_double_buf(double d, char *buf) {
    auto res = std::to_chars(buf, buf + 63, d);
    *res.ptr = '\0';
    char *e = strchr(buf, 'e');
    if (!e)
        return;
    char *digits = e + 1;
    if (*digits == '-' || *digits == '+')
        ++digits;
    while (digits[0] == '0' && digits[1] != '\0')
        memmove(digits, digits + 1, strlen(digits));
}

class Walk {
  public:
    Walk(const SampleJsonbEncoding &enc) : enc_(enc) {}

    JsonbParseState *state = nullptr;
    JsonbValue *result = nullptr;
    bool unconvertible = false;

    // Each returns false when the text path must decide the document.
    bool document(const bson_t *doc, int depth);
    bool value(const bson_iter_t *it, JsonbIteratorToken scalar, int depth);

  private:
    const SampleJsonbEncoding &enc_;

    void push(JsonbIteratorToken token, JsonbValue *v) {
        JsonbValue *r = pushJsonbValue(&state, token, v);
        if (state == nullptr)
            result = r;
    }
    void begin_object() { push(WJB_BEGIN_OBJECT, nullptr); }
    void end_object() { push(WJB_END_OBJECT, nullptr); }
    // A string the extension spells itself (a key such as "$oid", hex
    // digits, a number's text): ASCII, so the same in every encoding.
    void ascii(JsonbIteratorToken token, const char *s, std::size_t len) {
        JsonbValue v;
        v.type = jbvString;
        v.val.string.val = const_cast<char *>(s);
        v.val.string.len = static_cast<int>(len);
        push(token, &v);
    }
    void ascii(JsonbIteratorToken token, const char *s) { ascii(token, s, strlen(s)); }
    void key(const char *s) { ascii(WJB_KEY, s); }
    // A number written as a JSON number: numeric_in, as jsonb_in reads it.
    void number(JsonbIteratorToken token, const char *text) {
        JsonbValue v;
        v.type = jbvNumeric;
        v.val.numeric = DatumGetNumeric(DirectFunctionCall3(
            numeric_in, CStringGetDatum(text), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
        push(token, &v);
    }
    void boolean(JsonbIteratorToken token, bool b) {
        JsonbValue v;
        v.type = jbvBool;
        v.val.boolean = b;
        push(token, &v);
    }
    // {"<name>": "<text>"}, a typed value's wrapper.
    void wrapped(const char *name, const char *text) {
        begin_object();
        key(name);
        ascii(WJB_VALUE, text);
        end_object();
    }
    bool text(JsonbIteratorToken token, const char *s, std::size_t len);
    bool children(const bson_iter_t *it, bool array, int depth);
};

// A string from the document.  Writer::string refuses text that is not
// UTF-8 (the document is not sampled) and flags a NUL (likewise); jsonb_in
// refuses a string longer than jsonb holds.  Those the text path decides.
// A character the database's encoding lacks makes the whole document null,
// as the text's conversion does; the walk goes on, since the text path
// skips a document with both.
bool Walk::text(JsonbIteratorToken token, const char *s, std::size_t len) {
    // ASCII is valid UTF-8 (a NUL included, as bson_utf8_validate(.., true)
    // allows it) and the same bytes in every server encoding.
    bool ascii = all_ascii(s, len);
    if ((!ascii && !bson_utf8_validate(s, len, true)) || memchr(s, '\0', len) != nullptr ||
        len > JENTRY_OFFLENMASK)
        return false;
    const char *converted = s;
    std::size_t converted_len = len;
    if (enc_.encoding != PG_UTF8 && !ascii) {
        if (!OidIsValid(enc_.proc) ||
            len > static_cast<std::size_t>(MaxAllocSize / MAX_CONVERSION_GROWTH - 1))
            return false;
        int destlen = static_cast<int>(len) * MAX_CONVERSION_GROWTH + 1;
        char *buf = static_cast<char *>(palloc(destlen));
        int done = pg_do_encoding_conversion_buf(
            enc_.proc, PG_UTF8, enc_.encoding,
            reinterpret_cast<unsigned char *>(const_cast<char *>(s)), static_cast<int>(len),
            reinterpret_cast<unsigned char *>(buf), destlen, true);
        if (done != static_cast<int>(len)) {
            unconvertible = true; // the result is thrown away
        } else {
            converted = buf;
            converted_len = strlen(buf);
            if (converted_len > JENTRY_OFFLENMASK)
                return false;
        }
    }
    JsonbValue v;
    v.type = jbvString;
    v.val.string.val = const_cast<char *>(converted);
    v.val.string.len = static_cast<int>(converted_len);
    push(token, &v);
    return true;
}

bool Walk::children(const bson_iter_t *it, bool array, int depth) {
    bson_iter_t child;
    if (!bson_iter_recurse(it, &child))
        return false;
    push(array ? WJB_BEGIN_ARRAY : WJB_BEGIN_OBJECT, nullptr);
    while (bson_iter_next(&child)) {
        if (!array) {
            std::uint32_t klen = bson_iter_key_len(&child);
            const char *k = bson_iter_key(&child);
            if (!text(WJB_KEY, k, klen))
                return false;
        }
        if (!value(&child, array ? WJB_ELEM : WJB_VALUE, depth))
            return false;
    }
    if (child.err_off)
        return false;
    push(array ? WJB_END_ARRAY : WJB_END_OBJECT, nullptr);
    return true;
}

bool Walk::document(const bson_t *doc, int depth) {
    bson_iter_t it;
    if (!bson_iter_init(&it, doc))
        return false;
    begin_object();
    while (bson_iter_next(&it)) {
        std::uint32_t klen = bson_iter_key_len(&it);
        const char *k = bson_iter_key(&it);
        // Writer::document's own key check refuses a NUL too, but a key
        // has none (its length is its strlen): text()'s check is the same.
        if (!text(WJB_KEY, k, klen))
            return false;
        if (!value(&it, WJB_VALUE, depth))
            return false;
    }
    if (it.err_off)
        return false;
    end_object();
    return true;
}

bool Walk::value(const bson_iter_t *it, JsonbIteratorToken scalar, int depth) {
    char buf[64];
    bson_type_t type = bson_iter_type(it);
    switch (type) {
    case BSON_TYPE_EOD:
    case BSON_TYPE_NULL: {
        JsonbValue v;
        v.type = jbvNull;
        push(scalar, &v);
        return true;
    }
    case BSON_TYPE_DOUBLE: {
        // Canonical: always {"$numberDouble": "..."}.
        double d = bson_iter_double(it);
        if (std::isnan(d))
            strcpy(buf, "NaN");
        else if (std::isinf(d))
            strcpy(buf, d > 0 ? "Infinity" : "-Infinity");
        else if (d == 0 && std::signbit(d))
            strcpy(buf, "-0.0");
        else {
            shortest_double_buf(d, buf);
            if (strpbrk(buf, ".e") == nullptr)
                strcat(buf, ".0");
        }
        wrapped("$numberDouble", palloc_text(buf, strlen(buf)));
        return true;
    }
    case BSON_TYPE_UTF8: {
        std::uint32_t len = 0;
        const char *s = bson_iter_utf8(it, &len);
        return text(scalar, s, len);
    }
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY:
        if (depth + 1 > max_document_depth)
            return false;
        check_stack_depth();
        return children(it, type == BSON_TYPE_ARRAY, depth + 1);
    case BSON_TYPE_BINARY: {
        static const char alphabet[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        bson_subtype_t subtype;
        std::uint32_t len = 0;
        const std::uint8_t *data = nullptr;
        bson_iter_binary(it, &subtype, &len, &data);
        std::size_t outlen = (static_cast<std::size_t>(len) + 2) / 3 * 4;
        char *b64 = static_cast<char *>(palloc(outlen + 1));
        char *o = b64;
        for (std::size_t i = 0; i < len; i += 3) {
            std::uint32_t v = static_cast<std::uint32_t>(data[i]) << 16;
            if (i + 1 < len)
                v |= static_cast<std::uint32_t>(data[i + 1]) << 8;
            if (i + 2 < len)
                v |= data[i + 2];
            *o++ = alphabet[(v >> 18) & 63];
            *o++ = alphabet[(v >> 12) & 63];
            *o++ = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
            *o++ = i + 2 < len ? alphabet[v & 63] : '=';
        }
        *o = '\0';
        char *st = palloc_text("00", 2);
        st[0] = hex_digits[(subtype >> 4) & 0xf];
        st[1] = hex_digits[subtype & 0xf];
        begin_object();
        key("$binary");
        begin_object();
        key("base64");
        ascii(WJB_VALUE, b64, outlen);
        key("subType");
        ascii(WJB_VALUE, st, 2);
        end_object();
        end_object();
        return true;
    }
    case BSON_TYPE_UNDEFINED:
        begin_object();
        key("$undefined");
        boolean(WJB_VALUE, true);
        end_object();
        return true;
    case BSON_TYPE_OID: {
        char *hex = static_cast<char *>(palloc(25));
        oid_to_hex(bson_iter_oid(it), hex);
        wrapped("$oid", hex);
        return true;
    }
    case BSON_TYPE_BOOL:
        boolean(scalar, bson_iter_bool(it));
        return true;
    case BSON_TYPE_DATE_TIME:
        // Canonical: {"$date": {"$numberLong": "<ms>"}} for every date.
        snprintf(buf, sizeof buf, "%lld", static_cast<long long>(bson_iter_date_time(it)));
        begin_object();
        key("$date");
        wrapped("$numberLong", palloc_text(buf, strlen(buf)));
        end_object();
        return true;
    case BSON_TYPE_REGEX: {
        const char *options = nullptr;
        const char *pattern = bson_iter_regex(it, &options);
        begin_object();
        key("$regularExpression");
        begin_object();
        key("pattern");
        if (!text(WJB_VALUE, pattern, strlen(pattern)))
            return false;
        key("options");
        if (!text(WJB_VALUE, options, strlen(options)))
            return false;
        end_object();
        end_object();
        return true;
    }
    case BSON_TYPE_DBPOINTER: {
        std::uint32_t len = 0;
        const char *coll = nullptr;
        const bson_oid_t *oid = nullptr;
        bson_iter_dbpointer(it, &len, &coll, &oid);
        char *hex = static_cast<char *>(palloc(25));
        oid_to_hex(oid, hex);
        begin_object();
        key("$dbPointer");
        begin_object();
        key("$ref");
        if (!text(WJB_VALUE, coll, len))
            return false;
        key("$id");
        wrapped("$oid", hex);
        end_object();
        end_object();
        return true;
    }
    case BSON_TYPE_CODE: {
        std::uint32_t len = 0;
        const char *code = bson_iter_code(it, &len);
        begin_object();
        key("$code");
        if (!text(WJB_VALUE, code, len))
            return false;
        end_object();
        return true;
    }
    case BSON_TYPE_SYMBOL: {
        // Canonical keeps the type (relaxed would write a plain string).
        std::uint32_t len = 0;
        const char *sym = bson_iter_symbol(it, &len);
        begin_object();
        key("$symbol");
        if (!text(WJB_VALUE, sym, len))
            return false;
        end_object();
        return true;
    }
    case BSON_TYPE_CODEWSCOPE: {
        std::uint32_t len = 0, scope_len = 0;
        const std::uint8_t *scope = nullptr;
        const char *code = bson_iter_codewscope(it, &len, &scope_len, &scope);
        bson_t scope_doc;
        if (!code || !bson_init_static(&scope_doc, scope, scope_len) ||
            depth + 1 > max_document_depth)
            return false;
        check_stack_depth();
        begin_object();
        key("$code");
        if (!text(WJB_VALUE, code, len))
            return false;
        key("$scope");
        if (!document(&scope_doc, depth + 1))
            return false;
        end_object();
        return true;
    }
    case BSON_TYPE_INT32:
        snprintf(buf, sizeof buf, "%d", static_cast<int>(bson_iter_int32(it)));
        wrapped("$numberInt", palloc_text(buf, strlen(buf)));
        return true;
    case BSON_TYPE_TIMESTAMP: {
        // t and i are JSON numbers, read by numeric_in.
        std::uint32_t t = 0, i = 0;
        bson_iter_timestamp(it, &t, &i);
        begin_object();
        key("$timestamp");
        begin_object();
        key("t");
        snprintf(buf, sizeof buf, "%u", static_cast<unsigned>(t));
        number(WJB_VALUE, buf);
        key("i");
        snprintf(buf, sizeof buf, "%u", static_cast<unsigned>(i));
        number(WJB_VALUE, buf);
        end_object();
        end_object();
        return true;
    }
    case BSON_TYPE_INT64:
        snprintf(buf, sizeof buf, "%lld", static_cast<long long>(bson_iter_int64(it)));
        wrapped("$numberLong", palloc_text(buf, strlen(buf)));
        return true;
    case BSON_TYPE_DECIMAL128: {
        bson_decimal128_t dec;
        bson_iter_decimal128(it, &dec);
        char dbuf[BSON_DECIMAL128_STRING];
        bson_decimal128_to_string(&dec, dbuf);
        wrapped("$numberDecimal", palloc_text(dbuf, strlen(dbuf)));
        return true;
    }
    case BSON_TYPE_MAXKEY:
    case BSON_TYPE_MINKEY:
        begin_object();
        key(type == BSON_TYPE_MAXKEY ? "$maxKey" : "$minKey");
        number(WJB_VALUE, "1");
        end_object();
        return true;
    }
    return false; // an unknown type: the text path refuses it
}

} // namespace

SampleJsonbEncoding sample_jsonb_encoding() {
    SampleJsonbEncoding e{GetDatabaseEncoding(), InvalidOid};
    if (e.encoding != PG_UTF8 && e.encoding != PG_SQL_ASCII)
        e.proc = FindDefaultConversionProc(PG_UTF8, e.encoding);
    return e;
}

SampleJsonb sample_jsonb_from_bson(const bson_t *doc, const SampleJsonbEncoding &encoding,
                                   Datum *out) {
    Walk w(encoding);
    if (!w.document(doc, 0) || w.result == nullptr)
        return SampleJsonb::TextPath;
    if (w.unconvertible)
        return SampleJsonb::Unconvertible;
    *out = JsonbPGetDatum(JsonbValueToJsonb(w.result));
    return SampleJsonb::Built;
}

} // namespace nextcrm
