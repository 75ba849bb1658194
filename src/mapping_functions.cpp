// The parsed mapping of a profile (profiles/<name>/mapping.csv) as SQL rows, so the
// validator's set-based checks read the same mapping as the migration.
#include "pg_wall.hpp"
#include "profiles.hpp"

#include "core/mapping.hpp"

extern "C" {
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"
}

#include <algorithm>
#include <memory>
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

void put_row(ReturnSetInfo *rsinfo, const std::vector<const std::string *> &texts,
             const std::vector<int> &ints, const std::vector<bool> &bools) {
    nextcrm::pg_call([&] {
        std::vector<Datum> values;
        std::vector<bool> nulls;
        for (const std::string *t : texts) {
            nulls.push_back(t == nullptr || t->empty());
            values.push_back(nulls.back() ? (Datum)0 : CStringGetTextDatum(t->c_str()));
        }
        for (int i : ints) {
            nulls.push_back(false);
            values.push_back(Int32GetDatum(i));
        }
        for (bool b : bools) {
            nulls.push_back(false);
            values.push_back(BoolGetDatum(b));
        }
        std::unique_ptr<bool[]> n(new bool[nulls.size()]);
        for (std::size_t i = 0; i < nulls.size(); ++i)
            n[i] = nulls[i];
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values.data(), n.get());
    });
}

} // namespace

// (collection, position, stored_key, field, kind, target_table,
//  target_column, owner_column, pg_type, ref_model, required, on_missing,
//  missing_value, mongo_default, route_model, route_column, lookup_table,
//  lookup_match, lookup_result, fallback_key)
NEXTCRM_PG_FUNCTION(nextcrm_mapping) {
    nextcrm::pg_call([fcinfo] { InitMaterializedSRF(fcinfo, 0); });
    auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
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
    nextcrm::pg_call([fcinfo] { InitMaterializedSRF(fcinfo, 0); });
    auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
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
    nextcrm::pg_call([fcinfo] { InitMaterializedSRF(fcinfo, 0); });
    auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
    int position = 0;
    for (const auto &r : rules)
        put_row(rsinfo, {&r.rule, &r.table, &r.first, &r.second}, {++position}, {});
    return (Datum)0;
}
