#include "query_builder.hpp"

#include "bson_compat.hpp"
#include "error.hpp"

#include <algorithm>

namespace nextcrm {

Condition Condition::compare(std::string field, CompareOp op, OwnedValue value) {
    Condition c;
    c.kind = Kind::Compare;
    c.field = std::move(field);
    c.op = op;
    c.values.push_back(std::move(value));
    return c;
}

Condition Condition::in(std::string field, std::vector<OwnedValue> values, bool had_null) {
    Condition c;
    c.kind = Kind::In;
    c.field = std::move(field);
    c.values = std::move(values);
    c.list_had_null = had_null;
    return c;
}

Condition Condition::is_null(std::string field, bool null) {
    Condition c;
    c.kind = null ? Kind::IsNull : Kind::IsNotNull;
    c.field = std::move(field);
    return c;
}

Condition Condition::both(std::vector<Condition> children) {
    Condition c;
    c.kind = Kind::And;
    c.children = std::move(children);
    return c;
}

Condition Condition::either(std::vector<Condition> children) {
    Condition c;
    c.kind = Kind::Or;
    c.children = std::move(children);
    return c;
}

Condition Condition::negate(Condition child) {
    Condition c;
    c.kind = Kind::Not;
    c.children.push_back(std::move(child));
    return c;
}

namespace {

const char *op_name(CompareOp op) {
    switch (op) {
    case CompareOp::Eq:
        return "$eq";
    case CompareOp::Ne:
        return "$ne";
    case CompareOp::Lt:
        return "$lt";
    case CompareOp::Le:
        return "$lte";
    case CompareOp::Gt:
        return "$gt";
    case CompareOp::Ge:
        return "$gte";
    }
    return "$eq";
}

// The operator that is true exactly when `op` is false for a present,
// non-null value of the same type.
CompareOp inverse(CompareOp op) {
    switch (op) {
    case CompareOp::Eq:
        return CompareOp::Ne;
    case CompareOp::Ne:
        return CompareOp::Eq;
    case CompareOp::Lt:
        return CompareOp::Ge;
    case CompareOp::Le:
        return CompareOp::Gt;
    case CompareOp::Gt:
        return CompareOp::Le;
    case CompareOp::Ge:
        return CompareOp::Lt;
    }
    return op;
}

// {field: {op: value}}
void append_op(bson_t *out, const std::string &field, const char *op, const bson_value_t *v) {
    bson_t inner;
    bson_append_document_begin(out, field.c_str(), -1, &inner);
    BSON_APPEND_VALUE(&inner, op, v);
    bson_append_document_end(out, &inner);
}

// {field: {$in|$nin: [values..., (null)]}}
void append_list(bson_t *out, const std::string &field, const char *op,
                 const std::vector<OwnedValue> &values, bool add_null) {
    bson_t inner, list;
    bson_append_document_begin(out, field.c_str(), -1, &inner);
    append_array_begin(&inner, op, -1, &list);
    int i = 0;
    for (const OwnedValue &v : values) {
        std::string key = std::to_string(i++);
        bson_append_value(&list, key.c_str(), -1, v.get());
    }
    if (add_null) {
        std::string key = std::to_string(i);
        bson_append_null(&list, key.c_str(), -1);
    }
    bson_append_array_end(&inner, &list);
    bson_append_document_end(out, &inner);
}

void append_null_test(bson_t *out, const std::string &field, bool null) {
    bson_value_t v;
    v.value_type = BSON_TYPE_NULL;
    append_op(out, field, null ? "$eq" : "$ne", &v);
}

void write(const Condition &c, bool truth, bson_t *out);

void write_children(const Condition &c, const char *op, bool truth, bson_t *out) {
    bson_t list;
    append_array_begin(out, op, -1, &list);
    int i = 0;
    for (const Condition &child : c.children) {
        bson_t item;
        std::string key = std::to_string(i++);
        bson_append_document_begin(&list, key.c_str(), -1, &item);
        write(child, truth, &item);
        bson_append_document_end(&list, &item);
    }
    bson_append_array_end(out, &list);
}

// Appends to `out` the filter matching the documents where c is `truth`
// (TRUE or FALSE, never NULL).
void write(const Condition &c, bool truth, bson_t *out) {
    switch (c.kind) {
    case Condition::Kind::Compare: {
        CompareOp op = truth ? c.op : inverse(c.op);
        if (op == CompareOp::Ne)
            append_list(out, c.field, "$nin", c.values, true);
        else
            append_op(out, c.field, op_name(op), c.values.front().get());
        break;
    }
    case Condition::Kind::In:
        if (truth)
            append_list(out, c.field, "$in", c.values, false);
        else if (c.list_had_null) // x NOT IN (..., NULL) is never TRUE
            append_list(out, c.field, "$in", {}, false);
        else
            append_list(out, c.field, "$nin", c.values, true);
        break;
    case Condition::Kind::IsNull:
        append_null_test(out, c.field, truth);
        break;
    case Condition::Kind::IsNotNull:
        append_null_test(out, c.field, !truth);
        break;
    case Condition::Kind::And:
        write_children(c, truth ? "$and" : "$or", truth, out);
        break;
    case Condition::Kind::Or:
        write_children(c, truth ? "$or" : "$and", truth, out);
        break;
    case Condition::Kind::Not:
        write(c.children.front(), !truth, out);
        break;
    }
}

} // namespace

BsonPtr build_filter(const std::vector<Condition> &conds) {
    BsonPtr out(bson_new());
    if (conds.size() == 1) {
        write(conds.front(), true, out.get());
    } else if (conds.size() > 1) {
        Condition all = Condition::both(conds);
        write(all, true, out.get());
    }
    return out;
}

BsonPtr build_projection(const std::vector<std::string> &fields) {
    std::vector<std::string> sorted = fields;
    sorted.push_back("_id");
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    BsonPtr out(bson_new());
    std::vector<std::string> kept;
    for (const std::string &f : sorted) {
        bool below = std::any_of(kept.begin(), kept.end(), [&f](const std::string &k) {
            return f.size() > k.size() && f.compare(0, k.size(), k) == 0 && f[k.size()] == '.';
        });
        if (below)
            continue;
        bson_append_int32(out.get(), f.c_str(), -1, 1);
        kept.push_back(f);
    }
    return out;
}

BsonPtr build_sort(const std::vector<std::pair<std::string, bool>> &keys) {
    BsonPtr out(bson_new());
    for (const auto &[field, ascending] : keys)
        bson_append_int32(out.get(), field.c_str(), -1, ascending ? 1 : -1);
    return out;
}

std::string to_json(const bson_t *doc) {
    std::size_t len = 0;
    char *json = bson_as_canonical_extended_json(doc, &len);
    if (!json)
        throw Error(Message(NEXTCRM_MSG("query document is not valid UTF-8")), sqlstate::fdw_error);
    std::string out(json, len);
    bson_free(json);
    return out;
}

BsonPtr from_json(const std::string &json) {
    bson_error_t err;
    BsonPtr out(bson_new_from_json(reinterpret_cast<const uint8_t *>(json.data()),
                                   static_cast<ssize_t>(json.size()), &err));
    if (!out)
        throw Error(Message(NEXTCRM_MSG("malformed query document: %s"), err.message),
                    sqlstate::fdw_error);
    return out;
}

} // namespace nextcrm
