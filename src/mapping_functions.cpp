// The parsed mapping of a profile (profiles/<name>/mapping.csv) as SQL rows, so the
// validator's set-based checks read the same mapping as the migration.
#include "pg_wall.hpp"
#include "pg/memory.hpp"
#include "pg/srf.hpp"
#include "pg/text.hpp"
#include "profiles.hpp"

#include "core/mapping.hpp"

#include <algorithm>
#include <initializer_list>
#include <string>
#include <vector>

namespace {

const char *kind_name(nextcrm::FieldKind k) {
    switch (k) {
    case nextcrm::FieldKind::Id:
        return "id";
    case nextcrm::FieldKind::Version:
        return "version";
    case nextcrm::FieldKind::Text:
        return "text";
    case nextcrm::FieldKind::Int4:
        return "int4";
    case nextcrm::FieldKind::Bool:
        return "bool";
    case nextcrm::FieldKind::Timestamp:
        return "timestamp";
    case nextcrm::FieldKind::Enum:
        return "enum";
    case nextcrm::FieldKind::Jsonb:
        return "jsonb";
    case nextcrm::FieldKind::TextArray:
        return "text_array";
    case nextcrm::FieldKind::Ref:
        return "ref";
    case nextcrm::FieldKind::RefArray:
        return "ref_array";
    case nextcrm::FieldKind::Junction:
        return "junction";
    case nextcrm::FieldKind::Numeric:
        return "numeric";
    case nextcrm::FieldKind::Lookup:
        return "lookup";
    case nextcrm::FieldKind::Derive:
        return "derive";
    case nextcrm::FieldKind::Merged:
        return "merged";
    case nextcrm::FieldKind::Kept:
        return "kept";
    }
    return "?";
}

const char *on_missing_name(nextcrm::OnMissing m) {
    switch (m) {
    case nextcrm::OnMissing::Error:
        return "error";
    case nextcrm::OnMissing::Null:
        return "null";
    case nextcrm::OnMissing::Empty:
        return "empty";
    case nextcrm::OnMissing::Default:
        return "default";
    case nextcrm::OnMissing::OidTime:
        return "oid_time";
    case nextcrm::OnMissing::Value:
        return "value";
    }
    return "?";
}

// Columns of the widest row (nextcrm_mapping): 18 texts, an int and a bool.
constexpr std::size_t max_columns = 20;

// One row of texts (an empty text is NULL), then ints, then bools.  The
// Datums are made one wall-crossing at a time into plain arrays, so no C++
// object is alive inside a PostgreSQL call that can fail.
void put_row(ReturnSetInfo *rsinfo, std::initializer_list<const std::string *> texts,
             std::initializer_list<int> ints, std::initializer_list<bool> bools) {
    if (texts.size() + ints.size() + bools.size() > max_columns)
        throw nextcrm::Error("a mapping row has more columns than the function returns",
                             nextcrm::sqlstate::internal_error);
    Datum values[max_columns];
    bool nulls[max_columns];
    std::size_t n = 0;
    for (const std::string *t : texts) {
        nulls[n] = t == nullptr || t->empty();
        values[n] = nulls[n] ? (Datum)0 : nextcrm::pg::text_datum(*t);
        ++n;
    }
    for (int i : ints) {
        nulls[n] = false;
        values[n++] = Int32GetDatum(i);
    }
    for (bool b : bools) {
        nulls[n] = false;
        values[n++] = BoolGetDatum(b);
    }
    nextcrm::pg::put_values(rsinfo, values, nulls);
    for (std::size_t i = 0; i < texts.size(); ++i)
        if (!nulls[i])
            nextcrm::pg::pfree(DatumGetPointer(values[i]));
}

} // namespace

// (collection, position, stored_key, field, kind, target_table,
//  target_column, owner_column, pg_type, ref_model, required, on_missing,
//  missing_value, mongo_default, route_model, route_column, lookup_table,
//  lookup_match, lookup_result, fallback_key)
NEXTCRM_PG_FUNCTION(nextcrm_mapping) {
    ReturnSetInfo *rsinfo = nextcrm::pg::InitMaterializedSRF(fcinfo);
    const auto &mapping = nextcrm::installed_profile(nextcrm::profile_arg(fcinfo, 0)).mapping();
    int position = 0;
    for (const auto &c : mapping.collections()) {
        ++position;
        for (const auto &f : c.fields) {
            std::string kind = kind_name(f.kind), missing = on_missing_name(f.on_missing);
            put_row(rsinfo,
                    {&c.name, &f.stored_key, &f.field, &kind, &f.target_table, &f.target_column,
                     &f.owner_column, &f.pg_type, &f.ref_model, &missing, &f.missing_value,
                     &f.mongo_default, &f.route_model, &f.route_column, &f.lookup_table,
                     &f.lookup_match, &f.lookup_result, &f.fallback_key},
                    {position}, {f.required});
        }
    }
    return (Datum)0;
}

// (enum type, label, position): the enums of the profile's source schema.
NEXTCRM_PG_FUNCTION(nextcrm_mapping_enums) {
    ReturnSetInfo *rsinfo = nextcrm::pg::InitMaterializedSRF(fcinfo);
    const auto &mapping = nextcrm::installed_profile(nextcrm::profile_arg(fcinfo, 0)).mapping();
    std::vector<std::string> types;
    for (const auto &c : mapping.collections())
        for (const auto &f : c.fields)
            if (f.kind == nextcrm::FieldKind::Enum &&
                std::find(types.begin(), types.end(), f.pg_type) == types.end())
                types.push_back(f.pg_type);
    for (const auto &t : types) {
        int i = 0;
        for (const auto &label : mapping.enum_labels(t))
            put_row(rsinfo, {&t, &label}, {++i}, {});
    }
    return (Datum)0;
}

// (rule, table, first, second, position): the profile's validation rules
// (rules.csv), which nextcrm_validate checks.
NEXTCRM_PG_FUNCTION(nextcrm_profile_rules) {
    const auto &rules = nextcrm::installed_profile(nextcrm::profile_arg(fcinfo, 0)).rules();
    ReturnSetInfo *rsinfo = nextcrm::pg::InitMaterializedSRF(fcinfo);
    int position = 0;
    for (const auto &r : rules)
        put_row(rsinfo, {&r.rule, &r.table, &r.first, &r.second}, {++position}, {});
    return (Datum)0;
}
