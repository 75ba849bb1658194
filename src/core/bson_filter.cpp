#include "bson_filter.hpp"

#include "document_source.hpp"
#include "error.hpp"

#include <cmath>
#include <cstring>

namespace nextcrm {

struct BsonFilter::Node {
    enum class Kind { And, Or, Not, Eq, Lt, Le, Gt, Ge, In };
    Kind kind = Kind::And;
    std::vector<std::string> path;  // a field condition's dotted path
    std::vector<OwnedValue> values; // Eq, Lt, Le, Gt, Ge: one; In: the list
    std::vector<std::unique_ptr<Node>> children;
};

namespace {

using Node = BsonFilter::Node;

// ---- Kleene logic: `unknown` never turns into a certain answer. ----

FilterMatch negate(FilterMatch m) {
    return m == FilterMatch::yes  ? FilterMatch::no
           : m == FilterMatch::no ? FilterMatch::yes
                                  : FilterMatch::unknown;
}

// Folds the next answer into an OR.
FilterMatch either(FilterMatch a, FilterMatch b) {
    if (a == FilterMatch::yes || b == FilterMatch::yes)
        return FilterMatch::yes;
    if (a == FilterMatch::unknown || b == FilterMatch::unknown)
        return FilterMatch::unknown;
    return FilterMatch::no;
}

FilterMatch both(FilterMatch a, FilterMatch b) {
    return negate(either(negate(a), negate(b)));
}

// ---- Comparing BSON values as the server does. ----

enum class Order { less, equal, greater, incomparable, unknown };

// The server's canonical type brackets (values of different brackets never
// compare equal, less or greater in a query).  0 is "not decided here".
int bracket(bson_type_t t) {
    switch (t) {
    case BSON_TYPE_NULL:
        return 1;
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DOUBLE:
    case BSON_TYPE_DECIMAL128:
        return 2;
    case BSON_TYPE_UTF8:
    case BSON_TYPE_SYMBOL:
        return 3;
    case BSON_TYPE_DOCUMENT:
        return 4;
    case BSON_TYPE_ARRAY:
        return 5;
    case BSON_TYPE_BINARY:
        return 6;
    case BSON_TYPE_OID:
        return 7;
    case BSON_TYPE_BOOL:
        return 8;
    case BSON_TYPE_DATE_TIME:
        return 9;
    case BSON_TYPE_TIMESTAMP:
        return 10;
    case BSON_TYPE_REGEX:
        return 11;
    case BSON_TYPE_DBPOINTER:
        return 12;
    case BSON_TYPE_CODE:
        return 13;
    case BSON_TYPE_CODEWSCOPE:
        return 14;
    case BSON_TYPE_MINKEY:
        return 15;
    case BSON_TYPE_MAXKEY:
        return 16;
    default: // undefined (its bracket changed between server versions), EOD
        return 0;
    }
}

template <typename T>
Order order_of(T a, T b) {
    return a < b ? Order::less : b < a ? Order::greater : Order::equal;
}

// An int64 against a double, exactly (no rounding of either side).
Order compare_int_double(std::int64_t i, double d) {
    if (d >= 0x1p63)
        return Order::less;
    if (d < -0x1p63)
        return Order::greater;
    auto t = static_cast<std::int64_t>(d); // in range: truncation is exact
    if (i != t)
        return order_of(i, t);
    double frac = d - static_cast<double>(t);
    return frac > 0 ? Order::less : frac < 0 ? Order::greater : Order::equal;
}

Order reverse(Order o) {
    return o == Order::less ? Order::greater : o == Order::greater ? Order::less : o;
}

Order compare_numbers(const bson_value_t &a, const bson_value_t &b) {
    if (a.value_type == BSON_TYPE_DECIMAL128 || b.value_type == BSON_TYPE_DECIMAL128)
        return Order::unknown;
    bool a_double = a.value_type == BSON_TYPE_DOUBLE, b_double = b.value_type == BSON_TYPE_DOUBLE;
    auto int_of = [](const bson_value_t &v) {
        return v.value_type == BSON_TYPE_INT32 ? static_cast<std::int64_t>(v.value.v_int32)
                                               : v.value.v_int64;
    };
    // NaN equals only NaN and is neither less nor greater than a number;
    // operands are never NaN, so a NaN value matches nothing.
    if ((a_double && std::isnan(a.value.v_double)) || (b_double && std::isnan(b.value.v_double)))
        return Order::incomparable;
    if (a_double && b_double)
        return order_of(a.value.v_double, b.value.v_double);
    if (!a_double && !b_double)
        return order_of(int_of(a), int_of(b));
    if (a_double)
        return reverse(compare_int_double(int_of(b), a.value.v_double));
    return compare_int_double(int_of(a), b.value.v_double);
}

Order compare_bytes(const std::uint8_t *a, std::size_t alen, const std::uint8_t *b,
                    std::size_t blen) {
    int c = std::memcmp(a, b, std::min(alen, blen));
    if (c != 0)
        return c < 0 ? Order::less : Order::greater;
    return order_of(alen, blen);
}

// Where doc value a stands against operand b.
Order compare(const bson_value_t &a, const bson_value_t &b) {
    int ba = bracket(a.value_type), bb = bracket(b.value_type);
    if (ba == 0 || bb == 0)
        return Order::unknown;
    if (ba != bb)
        return Order::incomparable;
    switch (ba) {
    case 1:
        return Order::equal;
    case 2:
        return compare_numbers(a, b);
    case 3: {
        auto text = [](const bson_value_t &v, std::size_t &len) {
            if (v.value_type == BSON_TYPE_SYMBOL) {
                len = v.value.v_symbol.len;
                return reinterpret_cast<const std::uint8_t *>(v.value.v_symbol.symbol);
            }
            len = v.value.v_utf8.len;
            return reinterpret_cast<const std::uint8_t *>(v.value.v_utf8.str);
        };
        std::size_t alen, blen;
        const std::uint8_t *ap = text(a, alen), *bp = text(b, blen);
        return compare_bytes(ap, alen, bp, blen);
    }
    case 6: // by length, then subtype, then bytes
        if (a.value.v_binary.data_len != b.value.v_binary.data_len)
            return order_of(a.value.v_binary.data_len, b.value.v_binary.data_len);
        if (a.value.v_binary.subtype != b.value.v_binary.subtype)
            return order_of(static_cast<int>(a.value.v_binary.subtype),
                            static_cast<int>(b.value.v_binary.subtype));
        return compare_bytes(a.value.v_binary.data, a.value.v_binary.data_len,
                             b.value.v_binary.data, b.value.v_binary.data_len);
    case 7:
        return compare_bytes(a.value.v_oid.bytes, 12, b.value.v_oid.bytes, 12);
    case 8:
        return order_of(a.value.v_bool, b.value.v_bool);
    case 9:
        return order_of(a.value.v_datetime, b.value.v_datetime);
    default: // operands of other brackets are refused when compiling
        return Order::unknown;
    }
}

bool holds(Node::Kind kind, Order o) {
    switch (kind) {
    case Node::Kind::Eq:
        return o == Order::equal;
    case Node::Kind::Lt:
        return o == Order::less;
    case Node::Kind::Le:
        return o == Order::less || o == Order::equal;
    case Node::Kind::Gt:
        return o == Order::greater;
    case Node::Kind::Ge:
        return o == Order::greater || o == Order::equal;
    default:
        return false;
    }
}

// ---- A field condition on one value. ----

// One value (not an array) against one operator and operand.
FilterMatch match_scalar(Node::Kind kind, const bson_value_t &v, const bson_value_t &operand) {
    if (operand.value_type == BSON_TYPE_NULL) { // only Eq is compiled with null
        if (v.value_type == BSON_TYPE_UNDEFINED)
            return FilterMatch::unknown;
        return v.value_type == BSON_TYPE_NULL ? FilterMatch::yes : FilterMatch::no;
    }
    Order o = compare(v, operand);
    if (o == Order::unknown)
        return FilterMatch::unknown;
    return holds(kind, o) ? FilterMatch::yes : FilterMatch::no;
}

// The value at the end of the path (it) or a missing field (it == nullptr)
// against one operator and operand.
FilterMatch match_leaf(Node::Kind kind, const bson_iter_t *it, const bson_value_t &operand) {
    bool null_operand = operand.value_type == BSON_TYPE_NULL;
    if (!it)
        return null_operand ? FilterMatch::yes : FilterMatch::no;
    if (!BSON_ITER_HOLDS_ARRAY(it))
        return match_scalar(kind, *bson_iter_value(const_cast<bson_iter_t *>(it)), operand);
    // An array matches when one of its elements does (one level down; the
    // array as a whole never equals a scalar operand).
    bson_iter_t elem;
    if (!bson_iter_recurse(it, &elem))
        return FilterMatch::unknown;
    FilterMatch out = FilterMatch::no;
    bool empty = true;
    while (bson_iter_next(&elem)) {
        empty = false;
        if (BSON_ITER_HOLDS_ARRAY(&elem) && null_operand)
            continue; // a nested array is not null
        out = either(out, match_scalar(kind, *bson_iter_value(&elem), operand));
    }
    // Whether {f: null} matches f: [] has differed between servers.
    if (empty && null_operand)
        return FilterMatch::unknown;
    return out;
}

// Resolves a dotted path: true with *found set (or null for a missing
// field), false when the server's answer depends on array traversal.
bool resolve(const bson_t *doc, const std::vector<std::string> &path, bson_iter_t *found,
             bool *missing) {
    bson_iter_t it;
    if (!bson_iter_init(&it, doc))
        return false;
    for (std::size_t i = 0; i < path.size(); ++i) {
        if (!bson_iter_find_w_len(&it, path[i].data(), static_cast<int>(path[i].size()))) {
            *missing = true;
            return true;
        }
        if (i + 1 == path.size())
            break;
        if (BSON_ITER_HOLDS_ARRAY(&it))
            return false;
        if (!BSON_ITER_HOLDS_DOCUMENT(&it)) { // a scalar has no fields
            *missing = true;
            return true;
        }
        bson_iter_t child;
        if (!bson_iter_recurse(&it, &child))
            return false;
        it = child;
    }
    *found = it;
    *missing = false;
    return true;
}

FilterMatch evaluate(const Node &n, const bson_t *doc) {
    switch (n.kind) {
    case Node::Kind::And: {
        FilterMatch out = FilterMatch::yes;
        for (const auto &c : n.children) {
            out = both(out, evaluate(*c, doc));
            if (out == FilterMatch::no)
                break;
        }
        return out;
    }
    case Node::Kind::Or: {
        FilterMatch out = FilterMatch::no;
        for (const auto &c : n.children) {
            out = either(out, evaluate(*c, doc));
            if (out == FilterMatch::yes)
                break;
        }
        return out;
    }
    case Node::Kind::Not:
        return negate(evaluate(*n.children.front(), doc));
    default:
        break;
    }
    bson_iter_t it;
    bool missing = false;
    if (!resolve(doc, n.path, &it, &missing))
        return FilterMatch::unknown;
    const bson_iter_t *leaf = missing ? nullptr : &it;
    if (n.kind != Node::Kind::In)
        return match_leaf(n.kind, leaf, *n.values.front().get());
    FilterMatch out = FilterMatch::no; // $in: one of the operands
    for (const OwnedValue &v : n.values)
        out = either(out, match_leaf(Node::Kind::Eq, leaf, *v.get()));
    return out;
}

// ---- Compiling. ----

[[noreturn]] void refuse(const std::string &what) {
    throw Error(Message(NEXTCRM_MSG("cannot evaluate %s in the filter of a dump scan"), what),
                sqlstate::fdw_error,
                "A dump has no server to apply the filter, and the scan evaluates only the "
                "operators and operand types the planner pushes down.");
}

const char *type_name(bson_type_t t) {
    switch (t) {
    case BSON_TYPE_DOCUMENT:
        return "document";
    case BSON_TYPE_ARRAY:
        return "array";
    case BSON_TYPE_DECIMAL128:
        return "decimal128";
    case BSON_TYPE_REGEX:
        return "regular expression";
    case BSON_TYPE_TIMESTAMP:
        return "timestamp";
    case BSON_TYPE_UNDEFINED:
        return "undefined";
    default:
        return "BSON type";
    }
}

OwnedValue operand(const bson_iter_t *it, bool null_allowed) {
    const bson_value_t *v = bson_iter_value(const_cast<bson_iter_t *>(it));
    switch (v->value_type) {
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_UTF8:
    case BSON_TYPE_BOOL:
    case BSON_TYPE_DATE_TIME:
    case BSON_TYPE_OID:
    case BSON_TYPE_BINARY:
        return OwnedValue(v);
    case BSON_TYPE_DOUBLE:
        if (std::isnan(v->value.v_double))
            refuse("a NaN operand");
        return OwnedValue(v);
    case BSON_TYPE_NULL:
        if (!null_allowed)
            refuse("a null operand of a range comparison");
        return OwnedValue(v);
    default:
        refuse(std::string("an operand of type ") + type_name(v->value_type) + " (" +
               std::to_string(static_cast<int>(v->value_type)) + ")");
    }
}

std::vector<std::string> split_path(const char *key) {
    std::vector<std::string> out;
    std::string part;
    for (const char *p = key;; ++p) {
        if (*p == '.' || *p == '\0') {
            if (part.empty())
                refuse("an empty field name");
            out.push_back(std::move(part));
            part.clear();
            if (*p == '\0')
                break;
        } else {
            part += *p;
        }
    }
    return out;
}

std::unique_ptr<Node> compile_document(const bson_t *doc);

std::unique_ptr<Node> leaf(Node::Kind kind, const std::vector<std::string> &path,
                           std::vector<OwnedValue> values) {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->path = path;
    n->values = std::move(values);
    return n;
}

std::unique_ptr<Node> negation(std::unique_ptr<Node> child) {
    auto n = std::make_unique<Node>();
    n->kind = Node::Kind::Not;
    n->children.push_back(std::move(child));
    return n;
}

// {$op: operand, ...} of one field, ANDed.
std::unique_ptr<Node> compile_operators(const std::vector<std::string> &path, bson_iter_t *ops) {
    auto all = std::make_unique<Node>();
    all->kind = Node::Kind::And;
    while (bson_iter_next(ops)) {
        std::string op = bson_iter_key(ops);
        std::unique_ptr<Node> n;
        if (op == "$eq" || op == "$ne") {
            n = leaf(Node::Kind::Eq, path, {operand(ops, true)});
            if (op == "$ne")
                n = negation(std::move(n));
        } else if (op == "$lt" || op == "$lte" || op == "$gt" || op == "$gte") {
            Node::Kind k = op == "$lt"    ? Node::Kind::Lt
                           : op == "$lte" ? Node::Kind::Le
                           : op == "$gt"  ? Node::Kind::Gt
                                          : Node::Kind::Ge;
            n = leaf(k, path, {operand(ops, false)});
        } else if (op == "$in" || op == "$nin") {
            if (!BSON_ITER_HOLDS_ARRAY(ops))
                refuse("\"" + op + "\" without an array");
            bson_iter_t list;
            std::vector<OwnedValue> values;
            if (!bson_iter_recurse(ops, &list))
                refuse("a damaged \"" + op + "\" list");
            while (bson_iter_next(&list))
                values.push_back(operand(&list, true));
            n = leaf(Node::Kind::In, path, std::move(values));
            if (op == "$nin")
                n = negation(std::move(n));
        } else {
            refuse("the operator \"" + op + "\"");
        }
        all->children.push_back(std::move(n));
    }
    if (all->children.empty())
        refuse("an empty operator document");
    return all;
}

// [{...}, ...] of $and / $or.
std::unique_ptr<Node> compile_list(Node::Kind kind, const std::string &op, bson_iter_t *it) {
    if (!BSON_ITER_HOLDS_ARRAY(it))
        refuse("\"" + op + "\" without an array");
    auto n = std::make_unique<Node>();
    n->kind = kind;
    bson_iter_t list;
    if (!bson_iter_recurse(it, &list))
        refuse("a damaged \"" + op + "\" list");
    while (bson_iter_next(&list)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&list))
            refuse("\"" + op + "\" with an element that is not a document");
        const std::uint8_t *data;
        std::uint32_t len;
        bson_iter_document(&list, &len, &data);
        bson_t sub;
        if (!bson_init_static(&sub, data, len))
            refuse("a damaged \"" + op + "\" element");
        n->children.push_back(compile_document(&sub));
    }
    if (n->children.empty())
        refuse("an empty \"" + op + "\"");
    return n;
}

std::unique_ptr<Node> compile_document(const bson_t *doc) {
    auto all = std::make_unique<Node>();
    all->kind = Node::Kind::And;
    bson_iter_t it;
    if (!bson_iter_init(&it, doc))
        refuse("a damaged filter document");
    while (bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        if (strcmp(key, "$and") == 0) {
            all->children.push_back(compile_list(Node::Kind::And, key, &it));
        } else if (strcmp(key, "$or") == 0) {
            all->children.push_back(compile_list(Node::Kind::Or, key, &it));
        } else if (key[0] == '$') {
            refuse(std::string("the operator \"") + key + "\"");
        } else if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
            bson_iter_t ops;
            if (!bson_iter_recurse(&it, &ops))
                refuse("a damaged field condition");
            bson_iter_t first = ops;
            if (!bson_iter_next(&first) || bson_iter_key(&first)[0] != '$')
                refuse("equality with a document");
            all->children.push_back(compile_operators(split_path(key), &ops));
        } else { // {field: value}: implicit equality
            all->children.push_back(leaf(Node::Kind::Eq, split_path(key), {operand(&it, true)}));
        }
    }
    return all;
}

} // namespace

BsonFilter::BsonFilter(const bson_t *filter) : root_(compile_document(filter)) {}

BsonFilter::~BsonFilter() = default;

FilterMatch BsonFilter::match(const bson_t *doc) const {
    return evaluate(*root_, doc);
}

} // namespace nextcrm
