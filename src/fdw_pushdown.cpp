// Which WHERE clauses and ORDER BY keys MongoDB can evaluate with exactly
// SQL's meaning, and their translation into query_builder Conditions.
//
// Pushed: =, <>, <, <=, >, >= between a column and a constant; IN / = ANY
// and NOT IN / <> ALL with a constant array; IS [NOT] NULL; AND, OR, NOT of
// those; a boolean column on its own.  Only built-in operators, only columns
// that convert from a single BSON type family:
//   numbers (smallint, integer, bigint, real, double precision) compare
//     numerically across int32/int64/double, as in SQL;
//   boolean; timestamp, timestamptz and date (constants of whole
//     milliseconds, as BSON dates hold);
//   text and varchar for = / <> / IN only (MongoDB compares bytes, SQL by
//     collation; equality under a deterministic collation is bytewise).  A
//     24-hex-digit constant also matches the ObjectId it spells, since text
//     columns show ObjectIds that way;
//   uuid for = / <> / IN with constants made from an ObjectId by the
//     mapping (oid_uuid.hpp): they match that ObjectId, its hex string, the
//     UUID's string and its binary form.
// Everything else is evaluated locally.  NULL handling follows
// query_builder.hpp (three-valued logic).
#include "fdw.hpp"
#include "pg/arrays.hpp"
#include "pg/lsyscache.hpp"
#include "pg/text.hpp"

#include "core/oid_uuid.hpp"

extern "C" {
#include "catalog/pg_collation.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "nodes/nodeFuncs.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
}

namespace nextcrm {

namespace {

constexpr std::int64_t unix_to_pg_epoch_ms = 946684800000LL;

enum class Family { None, Number, Bool, Time, Text, Uuid };

Family family_of_column(const ColumnSpec &col) {
    if (col.kind != ColumnSpec::Kind::Scalar)
        return Family::None;
    switch (col.target) {
    case Target::Int2:
    case Target::Int4:
    case Target::Int8:
    case Target::Float4:
    case Target::Float8:
        return Family::Number;
    case Target::Bool:
        return Family::Bool;
    case Target::Timestamp:
    case Target::Date:
        return Family::Time;
    case Target::Text:
        return Family::Text;
    case Target::Uuid:
        return Family::Uuid;
    default:
        return Family::None;
    }
}

// The column a Var (possibly under a binary-compatible relabel) stands for.
const ColumnSpec *column_of(Expr *expr, Index relid, const TableSpec &table) {
    while (expr && IsA(expr, RelabelType))
        expr = reinterpret_cast<RelabelType *>(expr)->arg;
    if (!expr || !IsA(expr, Var))
        return nullptr;
    auto *var = reinterpret_cast<Var *>(expr);
    if (var->varno != static_cast<int>(relid) || var->varlevelsup != 0 || var->varattno < 1 ||
        var->varattno > static_cast<AttrNumber>(table.columns.size()))
        return nullptr;
    const ColumnSpec &col = table.columns[var->varattno - 1];
    return col.kind == ColumnSpec::Kind::Dropped ? nullptr : &col;
}

Const *const_of(Expr *expr) {
    while (expr && IsA(expr, RelabelType))
        expr = reinterpret_cast<RelabelType *>(expr)->arg;
    return expr && IsA(expr, Const) ? reinterpret_cast<Const *>(expr) : nullptr;
}

// The BSON spellings of a non-null constant of `type` for a column of
// `family`: none when it has no exact BSON equivalent.
std::vector<OwnedValue> bson_values(Datum value, Oid type, Family family, bool allow_oid) {
    std::vector<OwnedValue> out;
    bson_value_t v{};
    switch (type) {
    case INT2OID:
    case INT4OID:
    case INT8OID:
        if (family != Family::Number)
            return out;
        v.value_type = BSON_TYPE_INT64;
        v.value.v_int64 = type == INT2OID   ? DatumGetInt16(value)
                          : type == INT4OID ? DatumGetInt32(value)
                                            : DatumGetInt64(value);
        break;
    case FLOAT4OID:
    case FLOAT8OID:
        if (family != Family::Number)
            return out;
        v.value_type = BSON_TYPE_DOUBLE;
        v.value.v_double = type == FLOAT4OID ? DatumGetFloat4(value) : DatumGetFloat8(value);
        if (std::isnan(v.value.v_double)) // NaN orders differently in SQL
            return out;
        break;
    case BOOLOID:
        if (family != Family::Bool)
            return out;
        v.value_type = BSON_TYPE_BOOL;
        v.value.v_bool = DatumGetBool(value);
        break;
    case TIMESTAMPOID:
    case TIMESTAMPTZOID: {
        if (family != Family::Time)
            return out;
        Timestamp ts = DatumGetTimestamp(value);
        if (TIMESTAMP_NOT_FINITE(ts) || ts % 1000 != 0)
            return out;
        v.value_type = BSON_TYPE_DATE_TIME;
        v.value.v_datetime = ts / 1000 + unix_to_pg_epoch_ms;
        break;
    }
    case DATEOID: {
        if (family != Family::Time)
            return out;
        DateADT d = DatumGetDateADT(value);
        if (DATE_NOT_FINITE(d))
            return out;
        v.value_type = BSON_TYPE_DATE_TIME;
        v.value.v_datetime = static_cast<std::int64_t>(d) * 86400000LL + unix_to_pg_epoch_ms;
        break;
    }
    case TEXTOID:
    case VARCHAROID: {
        if (family != Family::Text)
            return out;
        std::string text = pg::text_datum_string(value);
        v.value_type = BSON_TYPE_UTF8;
        v.value.v_utf8.str = text.data();
        v.value.v_utf8.len = static_cast<std::uint32_t>(text.size());
        out.emplace_back(&v);
        if (allow_oid && text.size() == 24 &&
            text.find_first_not_of("0123456789abcdef") == std::string::npos) {
            bson_value_t oid{};
            oid.value_type = BSON_TYPE_OID;
            bson_oid_init_from_string(&oid.value.v_oid, text.c_str());
            out.emplace_back(&oid);
        }
        return out;
    }
    case UUIDOID: {
        // Only UUIDs made from an ObjectId: every BSON value that reads as
        // this UUID is then known (name-based UUIDs of other _ids are not).
        if (family != Family::Uuid)
            return out;
        Uuid u;
        memcpy(u.data(), DatumGetUUIDP(value)->data, 16);
        auto oid = uuid_to_oid(u);
        if (!oid)
            return out;
        bson_value_t o{};
        o.value_type = BSON_TYPE_OID;
        memcpy(o.value.v_oid.bytes, oid->data(), 12);
        out.emplace_back(&o);
        std::string lower = object_id_hex(*oid), upper = lower;
        for (char &ch : upper)
            ch = static_cast<char>(toupper(static_cast<unsigned char>(ch)));
        std::string text = uuid_text(u);
        for (const std::string *str : {&lower, &upper, &text}) {
            bson_value_t t{};
            t.value_type = BSON_TYPE_UTF8;
            t.value.v_utf8.str = const_cast<char *>(str->data());
            t.value.v_utf8.len = static_cast<std::uint32_t>(str->size());
            out.emplace_back(&t);
        }
        bson_value_t b{};
        b.value_type = BSON_TYPE_BINARY;
        b.value.v_binary.subtype = BSON_SUBTYPE_UUID;
        b.value.v_binary.data = u.data();
        b.value.v_binary.data_len = 16;
        out.emplace_back(&b);
        return out;
    }
    default:
        return out;
    }
    out.emplace_back(&v);
    return out;
}

bool op_is(Oid opno, const char *name) {
    if (opno >= FirstNormalObjectId) // only built-in operators
        return false;
    char *opname = pg::get_opname(opno);
    return opname && strcmp(opname, name) == 0;
}

bool collation_is_deterministic(Oid collid) {
    if (!OidIsValid(collid))
        return true;
    return pg::get_collation_isdeterministic(collid);
}

bool op_expr(OpExpr *op, Index relid, const TableSpec &table, Condition &out) {
    if (list_length(op->args) != 2)
        return false;
    Expr *left = static_cast<Expr *>(linitial(op->args));
    Expr *right = static_cast<Expr *>(lsecond(op->args));
    const ColumnSpec *col = column_of(left, relid, table);
    Const *c = const_of(right);
    bool commuted = false;
    if (!col || !c) {
        col = column_of(right, relid, table);
        c = const_of(left);
        commuted = true;
    }
    if (!col || !c || c->constisnull)
        return false;
    Family family = family_of_column(*col);
    if (family == Family::None)
        return false;
    struct {
        const char *name;
        CompareOp op, commuted;
    } ops[] = {{"=", CompareOp::Eq, CompareOp::Eq}, {"<>", CompareOp::Ne, CompareOp::Ne},
               {"<", CompareOp::Lt, CompareOp::Gt}, {"<=", CompareOp::Le, CompareOp::Ge},
               {">", CompareOp::Gt, CompareOp::Lt}, {">=", CompareOp::Ge, CompareOp::Le}};
    for (const auto &o : ops) {
        if (!op_is(op->opno, o.name))
            continue;
        CompareOp cmp = commuted ? o.commuted : o.op;
        if (family == Family::Text && ((cmp != CompareOp::Eq && cmp != CompareOp::Ne) ||
                                       !collation_is_deterministic(op->inputcollid)))
            return false;
        if (family == Family::Time && col->type != c->consttype &&
            !(c->consttype == DATEOID || col->type == DATEOID))
            return false; // timestamp vs timestamptz depends on TimeZone
        std::vector<OwnedValue> values = bson_values(c->constvalue, c->consttype, family, true);
        if (values.empty())
            return false;
        if (values.size() == 1) {
            out = Condition::compare(col->field, cmp, values.front());
        } else if (cmp == CompareOp::Eq) {
            out = Condition::in(col->field, std::move(values));
        } else if (cmp == CompareOp::Ne) {
            out = Condition::negate(Condition::in(col->field, std::move(values)));
        } else {
            return false;
        }
        return true;
    }
    return false;
}

bool array_op(ScalarArrayOpExpr *op, Index relid, const TableSpec &table, Condition &out) {
    if (list_length(op->args) != 2)
        return false;
    const ColumnSpec *col = column_of(static_cast<Expr *>(linitial(op->args)), relid, table);
    Const *c = const_of(static_cast<Expr *>(lsecond(op->args)));
    if (!col || !c || c->constisnull)
        return false;
    Family family = family_of_column(*col);
    if (family == Family::None)
        return false;
    bool in;
    if (op->useOr && op_is(op->opno, "="))
        in = true;
    else if (!op->useOr && op_is(op->opno, "<>"))
        in = false;
    else
        return false;
    if (family == Family::Text && !collation_is_deterministic(op->inputcollid))
        return false;
    Oid elem_type = pg::get_element_type(c->consttype);
    if (family == Family::Time && col->type != elem_type &&
        !(elem_type == DATEOID || col->type == DATEOID))
        return false;
    Datum *elems = nullptr;
    bool *nulls = nullptr;
    int n = 0;
    pg::deconstruct_array(pg::detoast_array(c->constvalue), elem_type, &elems, &nulls, &n);
    std::vector<OwnedValue> values;
    bool had_null = false;
    for (int i = 0; i < n; ++i) {
        if (nulls[i]) {
            had_null = true;
            continue;
        }
        std::vector<OwnedValue> v = bson_values(elems[i], elem_type, family, true);
        if (v.empty())
            return false;
        values.insert(values.end(), v.begin(), v.end());
    }
    Condition cond = Condition::in(col->field, std::move(values), had_null);
    out = in ? std::move(cond) : Condition::negate(std::move(cond));
    return true;
}

} // namespace

bool clause_to_condition(Expr *clause, Index relid, const TableSpec &table, Condition &out) {
    if (!clause)
        return false;
    switch (nodeTag(clause)) {
    case T_OpExpr:
        return op_expr(reinterpret_cast<OpExpr *>(clause), relid, table, out);
    case T_ScalarArrayOpExpr:
        return array_op(reinterpret_cast<ScalarArrayOpExpr *>(clause), relid, table, out);
    case T_NullTest: {
        auto *nt = reinterpret_cast<NullTest *>(clause);
        const ColumnSpec *col = column_of(nt->arg, relid, table);
        // Arrays and json: {f: null} also matches an array holding a null.
        if (nt->argisrow || !col ||
            (col->kind != ColumnSpec::Kind::Scalar && col->kind != ColumnSpec::Kind::Input) ||
            col->target == Target::Json)
            return false;
        out = Condition::is_null(col->field, nt->nulltesttype == IS_NULL);
        return true;
    }
    case T_Var: {
        const ColumnSpec *col = column_of(clause, relid, table);
        if (!col || family_of_column(*col) != Family::Bool)
            return false;
        bson_value_t v{};
        v.value_type = BSON_TYPE_BOOL;
        v.value.v_bool = true;
        out = Condition::compare(col->field, CompareOp::Eq, OwnedValue(&v));
        return true;
    }
    case T_BoolExpr: {
        auto *b = reinterpret_cast<BoolExpr *>(clause);
        std::vector<Condition> children;
        ListCell *lc;
        foreach (lc, b->args) {
            Condition child;
            if (!clause_to_condition(static_cast<Expr *>(lfirst(lc)), relid, table, child))
                return false;
            children.push_back(std::move(child));
        }
        if (b->boolop == NOT_EXPR) {
            if (children.size() != 1)
                return false;
            out = Condition::negate(std::move(children.front()));
        } else {
            out = b->boolop == AND_EXPR ? Condition::both(std::move(children))
                                        : Condition::either(std::move(children));
        }
        return true;
    }
    default:
        return false;
    }
}

bool column_sorts_remotely(const ColumnSpec &col, bool ascending, bool nulls_first) {
    Family family = family_of_column(col);
    // MongoDB sorts missing/null first ascending and last descending.  Text
    // sorts only for _id: ObjectIds in hex sort the same bytewise and under
    // any collation (digits before lowercase letters).
    bool nulls_match = col.is_id || nulls_first == ascending;
    if (!nulls_match)
        return false;
    if (family == Family::Text || family == Family::Uuid)
        return col.is_id; // mapped UUIDs sort like their ObjectIds
    return family == Family::Number || family == Family::Bool || family == Family::Time;
}

} // namespace nextcrm
