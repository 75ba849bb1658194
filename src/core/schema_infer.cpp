#include "schema_infer.hpp"

#include <cstring>

namespace nextcrm {

namespace {

enum : unsigned {
    kString = 1,
    kInt = 2,
    kLong = 4,
    kDouble = 8,
    kDecimal = 16,
    kBool = 32,
    kDate = 64,
    kBinary = 128,
    kOid = 256,
};

// The kind bit of a scalar, or 0 for anything that needs jsonb.
unsigned kind_of(bson_type_t t) {
    switch (t) {
    case BSON_TYPE_UTF8:
        return kString;
    case BSON_TYPE_INT32:
        return kInt;
    case BSON_TYPE_INT64:
        return kLong;
    case BSON_TYPE_DOUBLE:
        return kDouble;
    case BSON_TYPE_DECIMAL128:
        return kDecimal;
    case BSON_TYPE_BOOL:
        return kBool;
    case BSON_TYPE_DATE_TIME:
        return kDate;
    case BSON_TYPE_BINARY:
        return kBinary;
    case BSON_TYPE_OID:
        return kOid;
    default:
        return 0;
    }
}

// The SQL type holding every kind in `kinds`, or "" for none (jsonb).
std::string type_of(unsigned kinds, const std::string &objectid_type) {
    switch (kinds) {
    case 0:
        return "text";
    case kString:
        return "text";
    case kInt:
        return "integer";
    case kLong:
    case kInt | kLong:
        return "bigint";
    case kDouble:
    case kInt | kDouble:
        return "double precision";
    case kDecimal:
        return "numeric";
    case kBool:
        return "boolean";
    case kDate:
        return "timestamptz";
    case kBinary:
        return "bytea";
    case kOid:
        return objectid_type;
    default:
        if ((kinds & ~(kInt | kLong | kDouble | kDecimal)) == 0)
            return "numeric";
        return "";
    }
}

// PostgreSQL's NAMEDATALEN - 1: a longer column name is cut to a prefix,
// which would name (and read) another key.
constexpr std::size_t kMaxNameBytes = 63;

bool addressable(const char *key) {
    std::size_t n = strlen(key);
    return n > 0 && n <= kMaxNameBytes && key[0] != '$' && !strchr(key, '.') &&
           bson_utf8_validate(key, n, false);
}

} // namespace

void SchemaSampler::add(const bson_t *doc) {
    ++documents_;
    bson_iter_t it;
    if (!bson_iter_init(&it, doc))
        return;
    while (bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        if (!addressable(key))
            continue;
        auto [pos, fresh] = seen_.try_emplace(key);
        if (fresh) {
            if (std::string(key) == "_id")
                order_.insert(order_.begin(), key);
            else
                order_.push_back(key);
        }
        Seen &s = pos->second;
        bson_type_t t = bson_iter_type(&it);
        if (t == BSON_TYPE_NULL || t == BSON_TYPE_UNDEFINED)
            continue;
        if (t == BSON_TYPE_ARRAY) {
            s.array = true;
            bson_iter_t child;
            bson_iter_recurse(&it, &child);
            while (bson_iter_next(&child)) {
                bson_type_t et = bson_iter_type(&child);
                if (et == BSON_TYPE_NULL)
                    continue;
                unsigned k = kind_of(et);
                if (k)
                    s.elem_types |= k;
                else
                    s.elem_other = true;
            }
        } else if (unsigned k = kind_of(t)) {
            s.types |= k;
        } else {
            s.other = true;
        }
    }
}

std::vector<SchemaColumn> SchemaSampler::columns(const std::string &objectid_type) const {
    std::vector<SchemaColumn> out;
    for (const std::string &name : order_) {
        const Seen &s = seen_.at(name);
        std::string type;
        if (s.other || (s.array && s.types)) {
            type = "jsonb";
        } else if (s.array) {
            std::string elem = s.elem_other ? "" : type_of(s.elem_types, objectid_type);
            type = elem.empty() ? "jsonb" : elem + "[]";
        } else {
            type = type_of(s.types, objectid_type);
            if (type.empty())
                type = "jsonb";
        }
        out.push_back({name, type});
    }
    return out;
}

} // namespace nextcrm
