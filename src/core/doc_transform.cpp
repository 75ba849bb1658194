#include "core/doc_transform.hpp"

#include "core/bson_check.hpp"
#include "core/bson_convert.hpp"
#include "core/extended_json.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>

namespace nextcrm {

namespace {

constexpr std::int64_t us_per_second = 1000000;
constexpr std::int64_t unix_to_pg_epoch_s = 946684800;

// Days since 1970-01-01 of a proleptic Gregorian date.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool digits(const std::string &s, std::size_t pos, std::size_t n, int &out) {
    if (pos + n > s.size())
        return false;
    out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

// ISO 8601 as JavaScript's Date.toISOString() and date inputs write it:
// "2024-01-13", "2024-01-13T02:09:06Z", "2024-01-13T02:09:06.123+01:00".
// A time without a zone is ambiguous and not accepted.  Result: microseconds
// since 2000-01-01 UTC.
std::optional<std::int64_t> parse_iso_timestamp(const std::string &s) {
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
    if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mo) ||
        s[7] != '-' || !digits(s, 8, 2, d) || mo < 1 || mo > 12 || d < 1 || d > 31)
        return std::nullopt;
    std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    // Reject 2023-02-30 and the like: the day must survive a round trip.
    if (days_from_civil(y, static_cast<unsigned>(mo), 1) + d - 1 != days ||
        (mo < 12 ? days_from_civil(y, static_cast<unsigned>(mo + 1), 1)
                 : days_from_civil(y + 1, 1, 1)) <= days)
        return std::nullopt;
    std::size_t p = 10;
    int offset_min = 0;
    if (p < s.size()) {
        if ((s[p] != 'T' && s[p] != ' ') || !digits(s, p + 1, 2, h) || s[p + 3] != ':' ||
            !digits(s, p + 4, 2, mi))
            return std::nullopt;
        p += 6;
        if (p < s.size() && s[p] == ':') {
            if (!digits(s, p + 1, 2, sec))
                return std::nullopt;
            p += 3;
        }
        if (p < s.size() && s[p] == '.') {
            std::size_t start = ++p;
            while (p < s.size() && s[p] >= '0' && s[p] <= '9')
                ++p;
            std::string frac = s.substr(start, p - start);
            if (frac.empty())
                return std::nullopt;
            // timestamp(3) keeps milliseconds; finer digits would be rounded.
            if (frac.size() > 3 && frac.find_first_not_of('0', 3) != std::string::npos)
                return std::nullopt;
            frac.resize(3, '0');
            ms = std::stoi(frac);
        }
        if (p == s.size())
            return std::nullopt; // no zone
        if (s[p] == 'Z' && p + 1 == s.size()) {
            offset_min = 0;
        } else if ((s[p] == '+' || s[p] == '-') && p + 6 == s.size() && s[p + 3] == ':') {
            int oh, om;
            if (!digits(s, p + 1, 2, oh) || !digits(s, p + 4, 2, om))
                return std::nullopt;
            offset_min = (s[p] == '-' ? -1 : 1) * (oh * 60 + om);
        } else {
            return std::nullopt;
        }
        if (h > 23 || mi > 59 || sec > 59)
            return std::nullopt;
    }
    std::int64_t unix_s = days * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    return (unix_s - unix_to_pg_epoch_s) * us_per_second + ms * 1000;
}

// A plain decimal integer ("1500", "-3", " 42 " is not one).
std::optional<std::int64_t> parse_integer(const std::string &s) {
    if (s.empty() || s.size() > 19)
        return std::nullopt;
    std::size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    if (i == s.size())
        return std::nullopt;
    std::int64_t v = 0;
    for (; i < s.size(); ++i) {
        if (s[i] < '0' || s[i] > '9')
            return std::nullopt;
        v = v * 10 + (s[i] - '0');
    }
    return s[0] == '-' ? -v : v;
}

// Relaxed Extended JSON of one value: what Prisma hands the application for
// a Json field (plain JSON where JSON can say it, {"$oid": ...} and the like
// where it cannot), doubles in their shortest round-trip form.
std::string relaxed_json(const bson_iter_t *it, const std::string &field,
                         std::vector<std::string> *negative_zero = nullptr) {
    JsonFlags flags;
    std::string value = value_as_json(it, JsonMode::Relaxed, field, &flags);
    if (flags.has_nul)
        throw DocumentError(field, "field \"" + field +
                                       "\" holds a NUL character, which jsonb cannot store");
    if (negative_zero)
        *negative_zero = std::move(flags.negative_zero);
    return value;
}

// A timestamp (microseconds since 2000-01-01) as the SQL literal a repair
// shows: "2024-01-13 02:09:06.123".
std::string timestamp_literal(std::int64_t us) {
    std::int64_t secs = us / us_per_second, frac = us % us_per_second;
    if (frac < 0) {
        frac += us_per_second;
        --secs;
    }
    std::int64_t unix_s = secs + unix_to_pg_epoch_s;
    std::int64_t days = unix_s / 86400, rem = unix_s % 86400;
    if (rem < 0) {
        rem += 86400;
        --days;
    }
    // Civil date from days since 1970-01-01 (the inverse of days_from_civil).
    std::int64_t z = days + 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const std::int64_t doe = z - era * 146097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
    const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
    const std::int64_t y = yoe + era * 400 + (m <= 2);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld %02lld:%02lld:%02lld",
                  static_cast<long long>(y), static_cast<long long>(m), static_cast<long long>(d),
                  static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                  static_cast<long long>(rem % 60));
    std::string out = buf;
    if (frac) {
        std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(frac));
        std::string f = buf;
        while (f.back() == '0')
            f.pop_back();
        out += f;
    }
    return out;
}

// How a value is named in messages and repair rows: ObjectIds as their 24 hex
// digits (as NextCRM and the error table's source_id spell them), anything
// else as canonical Extended JSON.
std::string oid_hex(const bson_oid_t *oid) {
    char hex[25];
    oid_to_hex(oid, hex);
    return hex;
}

std::string iter_description(const bson_iter_t *it) {
    if (BSON_ITER_HOLDS_OID(it))
        return oid_hex(bson_iter_oid(it));
    return describe_value(it);
}

// The original of a reference that is dropped: its repair row is the only
// record of the value, so the whole value (no cut at 200 characters), and a
// value with no JSON form (text that is not UTF-8) throws ConversionError
// naming `field`, which fails the document and keeps its exact BSON.
std::string dropped_original(const bson_iter_t *it, const std::string &field) {
    if (BSON_ITER_HOLDS_OID(it))
        return oid_hex(bson_iter_oid(it));
    return to_json(it, field);
}

// Element text of a text[] that must keep every element: strings (and
// symbols, the deprecated strings) as they are, anything else as its JSON
// (recorded as a repair by the caller).
std::string element_text(const bson_iter_t *it, const std::string &field, bool *converted) {
    if (BSON_ITER_HOLDS_UTF8(it) || BSON_ITER_HOLDS_SYMBOL(it)) {
        *converted = false;
        return std::string(to_text(it, field));
    }
    *converted = true;
    return relaxed_json(it, field);
}

// Whether two values are the same BSON value (type and bytes).
bool same_value(const bson_iter_t *a, const bson_iter_t *b) {
    bson_value_t const *va = bson_iter_value(const_cast<bson_iter_t *>(a));
    bson_value_t const *vb = bson_iter_value(const_cast<bson_iter_t *>(b));
    if (va->value_type != vb->value_type)
        return false;
    if (BSON_ITER_HOLDS_OID(a))
        return bson_oid_equal(bson_iter_oid(a), bson_iter_oid(b));
    if (BSON_ITER_HOLDS_UTF8(a)) {
        uint32_t la, lb;
        const char *sa = bson_iter_utf8(a, &la), *sb = bson_iter_utf8(b, &lb);
        return la == lb && std::memcmp(sa, sb, la) == 0;
    }
    return describe_value(a) == describe_value(b);
}

// How a derive case compares a value: booleans as true/false, strings as
// they are, integers in decimal, anything else as its JSON.
std::string case_text(const bson_iter_t *it, const std::string &field) {
    if (BSON_ITER_HOLDS_BOOL(it))
        return bson_iter_bool(it) ? "true" : "false";
    if (BSON_ITER_HOLDS_UTF8(it))
        return std::string(to_text(it, field));
    if (BSON_ITER_HOLDS_INT32(it) || BSON_ITER_HOLDS_INT64(it))
        return std::to_string(bson_iter_as_int64(it));
    return describe_value(it);
}

// A derived field's value: the first case whose key holds its value; the
// inputs are recorded whole in a repair row.
std::string derive(const FieldMapping &f, const bson_t *doc, std::vector<Repair> &repairs) {
    std::string value, inputs;
    bool decided = false;
    std::set<std::string> seen;
    for (const auto &c : f.derive) {
        if (c.key.empty()) {
            if (!decided)
                value = c.value;
            decided = true;
            continue;
        }
        bson_iter_t it;
        const bool present = bson_iter_init_find(&it, doc, c.key.c_str()) && !is_null(&it);
        if (seen.insert(c.key).second)
            inputs += (inputs.empty() ? "" : ", ") + c.key + ": " +
                      (present ? describe_value(&it) : std::string("(missing)"));
        if (!decided && present && case_text(&it, c.key) == c.equals) {
            value = c.value;
            decided = true;
        }
    }
    repairs.push_back({f.field, "derived", inputs, value});
    return value;
}

} // namespace

std::string quote_ident(const std::string &name) {
    std::string out = "\"";
    for (char c : name) {
        if (c == '"')
            out += '"';
        out += c;
    }
    return out + "\"";
}

std::string array_literal(const std::vector<std::string> &elements) {
    std::string out = "{";
    for (std::size_t i = 0; i < elements.size(); ++i) {
        if (i)
            out += ',';
        out += '"';
        for (char c : elements[i]) {
            if (c == '"' || c == '\\')
                out += '\\';
            out += c;
        }
        out += '"';
    }
    return out + "}";
}

std::string column_cast(const FieldMapping &f, const std::string &name) {
    switch (f.kind) {
    case FieldKind::Id:
    case FieldKind::Ref:
        return name + "::uuid";
    case FieldKind::Version:
    case FieldKind::Int4:
        return name + "::int4";
    case FieldKind::Bool:
        return name + "::bool";
    case FieldKind::Timestamp:
        // Microseconds since 2000-01-01, PostgreSQL's own epoch: exact.
        return "('2000-01-01 00:00:00'::timestamp + " + name + "::int8 * interval '1 microsecond')";
    case FieldKind::Enum:
        // The enum types live beside the tables, in public; the statement
        // runs with search_path pinned to pg_catalog (src/spi.hpp).
        return name + "::public." + quote_ident(f.pg_type);
    case FieldKind::Jsonb:
        return name + "::jsonb";
    case FieldKind::TextArray:
        return name + "::text[]";
    case FieldKind::RefArray:
        return name + "::uuid[]";
    case FieldKind::Numeric:
        return name + "::numeric";
    case FieldKind::Derive:
        // A label of the column's enum type, or text.
        if (f.pg_type != "text")
            return name + "::public." + quote_ident(f.pg_type);
        break;
    case FieldKind::Lookup:
        // The row whose match column equals the name, case folded.  A name
        // with no row was added (unknown=add) or set NULL (unknown=null) by
        // the engine before this runs.  Lookup tables live beside the
        // target tables, in public.
        return "(SELECT l." + quote_ident(f.lookup_result) + " FROM public." +
               quote_ident(f.lookup_table) + " l WHERE pg_catalog.lower(l." +
               quote_ident(f.lookup_match) + ") OPERATOR(pg_catalog.=) pg_catalog.lower(" + name +
               ") LIMIT 1)";
    case FieldKind::Text:
    case FieldKind::Junction:
    case FieldKind::Merged:
    case FieldKind::Kept:
        break;
    }
    return name;
}

std::string source_id_of(const bson_t *doc) {
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, "_id"))
        return "(none)";
    if (BSON_ITER_HOLDS_OID(&it))
        return oid_hex(bson_iter_oid(&it));
    // Exactly as the source holds it (no cut), so a retry or a resume finds
    // it again; an _id with no JSON form as the description messages use.
    try {
        return to_json(&it, "_id");
    } catch (const Error &) {
        return describe_value(&it);
    }
}

std::string id_for_message(const bson_t *doc) {
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, "_id"))
        return "(none)";
    if (BSON_ITER_HOLDS_OID(&it))
        return describe_value(&it); // { "$oid" : "..." }: an id, not data
    std::string type = bson_type_name(bson_iter_type(&it));
    bool is_oid = false;
    Uuid u{};
    try {
        u = id_to_uuid(it, &is_oid);
    } catch (const Error &) {
        return "(BSON " + type + ")"; // no canonical form to name it by
    }
    // Any other _id is a value of the document (a string, a compound _id
    // with a member named password): named by the uuid the migration gives
    // it, which is the target row's id and foreign_ids.id.
    return "(BSON " + type + ", uuid " + uuid_text(u) + ")";
}

Transformer::Transformer(const Mapping &mapping, const CollectionMapping &collection)
    : mapping_(mapping), collection_(collection) {
    for (const auto &f : collection.fields)
        if (f.kind != FieldKind::Junction && f.kind != FieldKind::Kept &&
            f.kind != FieldKind::Merged)
            columns_.push_back(&f);
}

std::string unrepresentable_json(const bson_t *doc, const std::string &reason) {
    // Keep the exact bytes so the document is still all there to fix and
    // retry.
    bson_t wrapper = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&wrapper, "$nextcrm_unrepresentable", reason.c_str());
    std::string b64 = base64(bson_get_data(doc), doc->len);
    BSON_APPEND_UTF8(&wrapper, "bson_base64", b64.c_str());
    std::string out = document_as_json(&wrapper, JsonMode::Canonical);
    bson_destroy(&wrapper);
    return out;
}

std::string Transformer::mapped_name(const FieldMapping &f, const std::string &value) const {
    if (f.value_map.empty())
        return value;
    const std::string key = fold_case(value);
    for (const ValueMaps *maps : {&overrides_, &mapping_.value_maps()}) {
        auto m = maps->find(f.value_map);
        if (m == maps->end())
            continue;
        auto hit = m->second.find(key);
        if (hit != m->second.end())
            return hit->second;
    }
    return value;
}

std::optional<std::string> exact_numeric(const std::string &text, int precision, int scale) {
    // sign, digits, optional fraction, optional exponent: "-12.50", "1.5E+3"
    std::size_t i = 0;
    bool negative = false;
    if (i < text.size() && (text[i] == '-' || text[i] == '+'))
        negative = text[i++] == '-';
    std::string digits;
    long point = -1;
    for (; i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.'); ++i) {
        if (text[i] == '.') {
            if (point >= 0)
                return std::nullopt;
            point = static_cast<long>(digits.size());
        } else
            digits += text[i];
    }
    if (digits.empty())
        return std::nullopt; // NaN, Infinity, or not a number
    long exponent = 0;
    if (i < text.size() && (text[i] == 'E' || text[i] == 'e')) {
        std::size_t used = 0;
        try {
            exponent = std::stol(text.substr(i + 1), &used);
        } catch (...) {
            return std::nullopt;
        }
        if (used != text.size() - i - 1 || exponent > 100 || exponent < -100)
            return std::nullopt;
        i = text.size();
    }
    if (i != text.size())
        return std::nullopt;
    // The value is digits * 10^(exponent - fraction digits).
    long fraction = (point < 0 ? 0 : static_cast<long>(digits.size()) - point) - exponent;
    while (fraction > 0 && digits.size() > 1 && digits.back() == '0') {
        digits.pop_back();
        --fraction;
    }
    while (fraction < 0) {
        digits += '0';
        ++fraction;
    }
    if (fraction > scale)
        return std::nullopt;
    while (static_cast<long>(digits.size()) <= fraction)
        digits.insert(digits.begin(), '0');
    std::string whole = digits.substr(0, digits.size() - static_cast<std::size_t>(fraction));
    whole.erase(0, std::min(whole.find_first_not_of('0'), whole.size() - 1));
    if (whole != "0" && static_cast<long>(whole.size()) > precision - scale)
        return std::nullopt;
    std::string out = whole;
    if (fraction > 0)
        out += "." + digits.substr(digits.size() - static_cast<std::size_t>(fraction));
    bool zero = out.find_first_not_of("0.") == std::string::npos;
    return (negative && !zero ? "-" : "") + out;
}

std::string Transformer::document_json(const bson_t *doc) const {
    // A damaged document is kept exactly as it was read: a copy would be
    // cut short where the damage starts.
    auto doc_fault = check_document(doc);
    const bool damaged = doc_fault && doc_fault->kind == DocumentFault::Kind::Malformed;
    std::string out, reason;
    if (damaged) {
        reason = doc_fault->reason;
    } else if (auto fault = check_document(doc)) {
        // A repeated key would keep only one value in jsonb; the others
        // have no JSON form at all.
        reason = fault->reason;
    } else {
        try {
            out = document_to_json(doc);
        } catch (const Error &e) {
            reason = e.what();
        }
    }
    if (out.empty())
        out = unrepresentable_json(doc, reason);
    return out;
}

TransformedDocument Transformer::transform(const bson_t *doc) const {
    TransformedDocument out;
    out.values.resize(columns_.size());

    // A document that cannot be walked whole is reported, never read in
    // part: a malformed element, a key that is not UTF-8, nesting past
    // max_document_depth, a key given twice (which value the application
    // saw depends on its driver, so neither is chosen here).
    if (auto fault = check_document(doc)) {
        std::string message = "document cannot be migrated: " + fault->reason;
        const char *state = sqlstate::data_corrupted;
        switch (fault->kind) {
        case DocumentFault::Kind::Malformed:
            break;
        case DocumentFault::Kind::KeyNotUtf8:
            state = sqlstate::character_not_in_repertoire;
            break;
        case DocumentFault::Kind::TooDeep:
            state = sqlstate::program_limit_exceeded;
            break;
        case DocumentFault::Kind::DuplicateKey: {
            state = sqlstate::duplicate_json_object_key_value;
            // The values themselves are in the error row's document.
            message += "; it occurs " + std::to_string(fault->values.size()) + " times";
            break;
        }
        }
        throw DocumentError(fault->path, message, state);
    }

    bson_iter_t id_it;
    if (!bson_iter_init_find(&id_it, doc, "_id"))
        throw DocumentError("_id", "document has no _id");
    out.source_id = source_id_of(doc);
    try {
        out.id = id_to_uuid(id_it, &out.id_is_object_id);
        if (!out.id_is_object_id) {
            out.id_json = to_json(&id_it, "_id");
        }
    } catch (const Error &e) {
        throw DocumentError("_id", e.what());
    }
    std::optional<std::int64_t> id_time_us;
    if (BSON_ITER_HOLDS_OID(&id_it)) {
        std::int64_t s = bson_oid_get_time_t(bson_iter_oid(&id_it));
        id_time_us = (s - unix_to_pg_epoch_s) * us_per_second;
    }

    auto keep_json = [](const bson_t *part, const std::string &field) {
        JsonFlags flags;
        std::string json;
        try {
            json = document_as_json(part, JsonMode::Canonical, &flags);
        } catch (const ConversionError &e) {
            throw DocumentError(e.field(), "a kept value cannot be written as JSON: " + e.reason());
        }
        if (flags.has_nul)
            throw DocumentError(field,
                                "a kept value holds a NUL character, which jsonb cannot store");
        return json;
    };
    if (collection_.kept_whole) {
        // No place in the target: the document is kept whole, exactly.
        out.kept.push_back({"", collection_.kept_reason, keep_json(doc, "(document)")});
        return out;
    }
    for (const auto &f : collection_.fields) {
        bson_iter_t k;
        if (f.kind != FieldKind::Kept || !bson_iter_init_find(&k, doc, f.stored_key.c_str()))
            continue;
        bson_t part = BSON_INITIALIZER;
        bson_append_iter(&part, f.stored_key.c_str(), -1, &k);
        try {
            out.kept.push_back({f.stored_key, f.reason, keep_json(&part, f.stored_key)});
        } catch (...) {
            bson_destroy(&part);
            throw;
        }
        bson_destroy(&part);
    }

    // Unknown keys are kept, not dropped.
    bson_t extra = BSON_INITIALIZER;
    bool has_extra = false;
    bson_iter_t it;
    bson_iter_init(&it, doc);
    while (bson_iter_next(&it)) {
        if (!collection_.find(bson_iter_key(&it))) {
            bson_append_iter(&extra, bson_iter_key(&it), -1, &it);
            has_extra = true;
        }
    }
    std::string extra_failure, extra_field = "(unknown keys)";
    if (has_extra) {
        JsonFlags flags;
        try {
            out.extra_keys = document_as_json(&extra, JsonMode::Canonical, &flags);
            // jsonb refuses "\u0000"; stored any other way the value would change.
            if (flags.has_nul) {
                DocumentTraits traits;
                check_document(&extra, &traits);
                extra_field = traits.nul_path;
                extra_failure = "a key the schema does not know holds a NUL character, which "
                                "jsonb cannot store";
            }
        } catch (const ConversionError &e) {
            extra_field = e.field();
            extra_failure =
                "a key the schema does not know cannot be written as JSON: " + e.reason();
        }
    }
    bson_destroy(&extra);
    if (!extra_failure.empty())
        throw DocumentError(extra_field, extra_failure);

    for (std::size_t col = 0; col < columns_.size(); ++col) {
        const FieldMapping &f = *columns_[col];
        if (f.kind == FieldKind::Id) {
            out.values[col] = uuid_text(out.id);
            continue;
        }
        if (f.kind == FieldKind::Derive) {
            out.values[col] = derive(f, doc, out.repairs);
            continue;
        }
        bson_iter_t v;
        bool present = bson_iter_init_find(&v, doc, f.stored_key.c_str()) && !is_null(&v);
        if (!f.fallback_key.empty()) {
            // createdBy ?? created_by: the fallback fills a missing value; a
            // different value beside the field's own is recorded whole.
            bson_iter_t other;
            if (bson_iter_init_find(&other, doc, f.fallback_key.c_str()) && !is_null(&other)) {
                try {
                    if (!present) {
                        v = other;
                        present = true;
                        // Recorded on the merged key: the field itself holds
                        // the value as its own would be converted.
                        out.repairs.push_back(
                            {f.fallback_key, "merged", iter_description(&other), f.stored_key});
                    } else if (!same_value(&v, &other))
                        out.repairs.push_back(
                            {f.fallback_key, "merge_conflict",
                             dropped_original(&other, f.fallback_key),
                             "(" + f.stored_key + " kept: " + iter_description(&v) + ")"});
                } catch (const ConversionError &e) {
                    throw DocumentError(e.field(), e.what(), e.sqlstate());
                }
            }
        }
        if (!present) {
            std::optional<std::string> filled;
            std::string kind = "default_applied";
            switch (f.on_missing) {
            case OnMissing::Null:
                break;
            case OnMissing::Empty:
                if (f.kind == FieldKind::TextArray || f.kind == FieldKind::RefArray) {
                    filled = "{}";
                    kind.clear(); // a missing list is an empty one, not a change
                }
                break;
            case OnMissing::Error:
                throw DocumentError(f.stored_key,
                                    "required field \"" + f.stored_key +
                                        "\" is missing and has no default",
                                    sqlstate::not_null_violation);
            case OnMissing::Value:
                filled = f.missing_value;
                break;
            case OnMissing::OidTime:
                if (!id_time_us)
                    throw DocumentError(f.stored_key,
                                        "required field \"" + f.stored_key +
                                            "\" is missing and the _id is not an ObjectId to "
                                            "take its time from",
                                        sqlstate::not_null_violation);
                filled = std::to_string(*id_time_us);
                break;
            case OnMissing::Default:
                if (f.mongo_default == "now()") {
                    if (!id_time_us)
                        throw DocumentError(f.stored_key,
                                            "required field \"" + f.stored_key + "\" is missing",
                                            sqlstate::not_null_violation);
                    filled = std::to_string(*id_time_us);
                } else {
                    filled = f.mongo_default;
                }
                break;
            }
            if (filled && !kind.empty())
                out.repairs.push_back({f.stored_key, kind, "(missing)",
                                       // Times as SQL literals, not the internal microseconds.
                                       f.kind == FieldKind::Timestamp && parse_integer(*filled)
                                           ? timestamp_literal(*parse_integer(*filled))
                                           : *filled});
            if (!filled && f.required && f.on_missing != OnMissing::Null)
                throw DocumentError(f.stored_key,
                                    "required field \"" + f.stored_key + "\" is missing",
                                    sqlstate::not_null_violation);
            out.values[col] = filled;
            continue;
        }

        try {
            switch (f.kind) {
            case FieldKind::Id:
            case FieldKind::Junction:
            case FieldKind::Kept:
            case FieldKind::Merged:
            case FieldKind::Derive:
                break;
            case FieldKind::Numeric: {
                std::string text;
                bool legacy = false;
                if (BSON_ITER_HOLDS_UTF8(&v)) {
                    if (!f.numeric_string)
                        throw DocumentError(f.stored_key,
                                            "field \"" + f.stored_key + "\" holds a string");
                    text = std::string(to_text(&v, f.stored_key));
                    legacy = true;
                } else
                    text = to_numeric(&v, f.stored_key);
                auto exact = exact_numeric(text, f.numeric_precision, f.numeric_scale);
                // A legacy string that is no number at all ("approx. 20k")
                // says so; any number fits an unbounded numeric.
                if (!exact && legacy && !exact_numeric(text, 1 << 20, 1 << 19))
                    throw DocumentError(f.stored_key,
                                        "field \"" + f.stored_key + "\" holds the string \"" +
                                            text + "\", which is not a number",
                                        sqlstate::invalid_text_representation);
                if (!exact)
                    throw DocumentError(f.stored_key,
                                        "field \"" + f.stored_key + "\" holds " + text +
                                            ", which " + f.pg_type + " cannot hold exactly",
                                        sqlstate::numeric_value_out_of_range);
                if (legacy)
                    out.repairs.push_back({f.stored_key, "legacy_value", text, *exact});
                out.values[col] = *exact;
                break;
            }
            case FieldKind::Lookup: {
                std::string original(to_text(&v, f.stored_key));
                std::string name = mapped_name(f, original);
                // Surrounding blanks are no part of a name.
                auto first = name.find_first_not_of(" \t"), last = name.find_last_not_of(" \t");
                name = first == std::string::npos ? "" : name.substr(first, last - first + 1);
                if (name.empty())
                    throw DocumentError(f.stored_key, "field \"" + f.stored_key +
                                                          "\" holds a blank name, which names no " +
                                                          f.lookup_table + " row");
                // The replacement is the name looked up (case folded) in the
                // lookup table's match column.
                out.repairs.push_back({f.stored_key, "lookup", original, name});
                out.values[col] = name;
                out.lookups.push_back({col, &f, name, original});
                break;
            }
            case FieldKind::Text:
                if (BSON_ITER_HOLDS_INT32(&v) || BSON_ITER_HOLDS_INT64(&v)) {
                    std::string text = std::to_string(to_integer(&v, f.stored_key, Target::Int8));
                    out.repairs.push_back(
                        {f.stored_key, "legacy_value", iter_description(&v), text});
                    out.values[col] = text;
                } else {
                    out.values[col] = std::string(to_text(&v, f.stored_key));
                }
                break;
            case FieldKind::Version:
            case FieldKind::Int4:
                if (BSON_ITER_HOLDS_UTF8(&v)) {
                    std::string s(to_text(&v, f.stored_key));
                    auto n = parse_integer(s);
                    if (!n || *n < INT32_MIN || *n > INT32_MAX)
                        throw DocumentError(f.stored_key,
                                            "field \"" + f.stored_key +
                                                "\" holds a string that is not an integer in "
                                                "range",
                                            n ? sqlstate::numeric_value_out_of_range
                                              : sqlstate::invalid_text_representation);
                    out.repairs.push_back({f.stored_key, "legacy_value", s, std::to_string(*n)});
                    out.values[col] = std::to_string(*n);
                } else {
                    out.values[col] = std::to_string(to_integer(&v, f.stored_key, Target::Int4));
                }
                break;
            case FieldKind::Bool:
                if (BSON_ITER_HOLDS_UTF8(&v)) {
                    std::string s(to_text(&v, f.stored_key));
                    if (s != "true" && s != "false")
                        throw DocumentError(f.stored_key,
                                            "field \"" + f.stored_key +
                                                "\" holds a string that is not true or false");
                    out.repairs.push_back({f.stored_key, "legacy_value", s, s});
                    out.values[col] = s;
                } else {
                    out.values[col] = to_bool(&v, f.stored_key) ? "true" : "false";
                }
                break;
            case FieldKind::Timestamp:
                if (BSON_ITER_HOLDS_UTF8(&v)) {
                    std::string s(to_text(&v, f.stored_key));
                    auto us = parse_iso_timestamp(s);
                    if (!us)
                        throw DocumentError(f.stored_key,
                                            "field \"" + f.stored_key +
                                                "\" holds a string that is not an exact ISO "
                                                "8601 time");
                    out.repairs.push_back(
                        {f.stored_key, "legacy_value", s, timestamp_literal(*us)});
                    out.values[col] = std::to_string(*us);
                } else {
                    out.values[col] = std::to_string(to_timestamp_us(&v, f.stored_key));
                }
                break;
            case FieldKind::Enum: {
                std::string original(to_text(&v, f.stored_key));
                // A value map (special map=) replaces a label the target's
                // application cannot read by one it can; the original stays
                // in the repair row.
                std::string s = mapped_name(f, original);
                const auto &labels = mapping_.enum_labels(f.pg_type);
                if (std::find(labels.begin(), labels.end(), s) == labels.end())
                    throw DocumentError(
                        f.stored_key,
                        s == original
                            ? "field \"" + f.stored_key +
                                  "\" holds a string that is not a value of enum " + f.pg_type
                            : "value map \"" + f.value_map + "\" maps field \"" + f.stored_key +
                                  "\" to a string that is not a value "
                                  "of enum " +
                                  f.pg_type);
                if (s != original)
                    out.repairs.push_back({f.stored_key, "value_mapped", original, s});
                out.values[col] = s;
                break;
            }
            case FieldKind::Jsonb: {
                // A JSON number (and numeric, hence jsonb) has no -0: the
                // double stays typed, and each one is recorded where it is.
                std::vector<std::string> negative_zero;
                out.values[col] = relaxed_json(&v, f.stored_key, &negative_zero);
                for (auto &path : negative_zero)
                    out.repairs.push_back({std::move(path), "negative_zero", "-0.0",
                                           "{\"$numberDouble\": \"-0.0\"}"});
                break;
            }
            case FieldKind::TextArray: {
                std::vector<std::string> elements;
                if (BSON_ITER_HOLDS_ARRAY(&v)) {
                    bson_iter_t e;
                    bson_iter_recurse(&v, &e);
                    while (bson_iter_next(&e)) {
                        bool converted = false;
                        std::string field = f.stored_key + "." + bson_iter_key(&e);
                        if (is_null(&e))
                            throw DocumentError(field, "field \"" + field +
                                                           "\" is null inside a list of text");
                        elements.push_back(element_text(&e, field, &converted));
                        if (converted)
                            out.repairs.push_back(
                                {field, "legacy_value", iter_description(&e), elements.back()});
                    }
                } else {
                    // A value from before the field became a list (Json until
                    // 2023-08-09): kept whole as the list's one element.
                    elements.push_back(relaxed_json(&v, f.stored_key));
                    out.repairs.push_back(
                        {f.stored_key, "legacy_value", iter_description(&v), elements.back()});
                }
                out.values[col] = array_literal(elements);
                break;
            }
            case FieldKind::Ref: {
                bool as_string = false;
                auto id = reference_uuid(&v, &as_string);
                if (!id) {
                    if (f.required)
                        throw DocumentError(f.stored_key, "field \"" + f.stored_key +
                                                              "\" holds a BSON " +
                                                              bson_type_name(bson_iter_type(&v)) +
                                                              " that is not an ObjectId");
                    out.repairs.push_back({f.stored_key, "invalid_reference",
                                           dropped_original(&v, f.stored_key), "NULL"});
                    break;
                }
                if (as_string)
                    out.repairs.push_back(
                        {f.stored_key, "id_as_string", iter_description(&v), uuid_text(*id)});
                out.values[col] = uuid_text(*id);
                out.refs.push_back({col, &f, *id, iter_description(&v), 0, 0, {}});
                break;
            }
            case FieldKind::RefArray: {
                if (!BSON_ITER_HOLDS_ARRAY(&v))
                    throw DocumentError(f.stored_key,
                                        "field \"" + f.stored_key + "\" is not a list");
                out.ref_arrays.emplace_back();
                std::size_t slot = out.ref_arrays.size() - 1;
                bson_iter_t e;
                bson_iter_recurse(&v, &e);
                std::size_t n = 0;
                while (bson_iter_next(&e)) {
                    bool as_string = false;
                    auto id = reference_uuid(&e, &as_string);
                    std::string field = f.stored_key + "." + bson_iter_key(&e);
                    if (!id) {
                        out.repairs.push_back(
                            {field, "invalid_reference", dropped_original(&e, field), "(dropped)"});
                        continue;
                    }
                    out.ref_arrays[slot].push_back(uuid_text(*id));
                    out.refs.push_back(
                        {col, &f, *id, iter_description(&e), slot, n++, bson_iter_key(&e)});
                }
                out.values[col] = array_literal(out.ref_arrays[slot]);
                break;
            }
            }
        } catch (const ConversionError &e) {
            throw DocumentError(e.field(), e.what(), e.sqlstate());
        }
    }

    // List-backed relations: one element per listed id, deduplicated later.
    for (const auto &f : collection_.fields) {
        if (f.kind != FieldKind::Junction)
            continue;
        bson_iter_t v;
        if (!bson_iter_init_find(&v, doc, f.stored_key.c_str()) || is_null(&v))
            continue;
        if (!BSON_ITER_HOLDS_ARRAY(&v))
            throw DocumentError(f.stored_key, "field \"" + f.stored_key + "\" is not a list");
        bson_iter_t e;
        bson_iter_recurse(&v, &e);
        while (bson_iter_next(&e)) {
            bool as_string = false;
            auto id = reference_uuid(&e, &as_string);
            if (!id) {
                std::string field = f.stored_key + "." + bson_iter_key(&e);
                try {
                    out.repairs.push_back(
                        {field, "invalid_reference", dropped_original(&e, field), "(dropped)"});
                } catch (const ConversionError &ce) {
                    throw DocumentError(ce.field(), ce.what(), ce.sqlstate());
                }
                continue;
            }
            out.junction.push_back({&f, out.id, *id, iter_description(&e)});
        }
    }
    return out;
}

} // namespace nextcrm
