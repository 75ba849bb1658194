#include "core/mapping.hpp"

#include "core/csv.hpp"
#include "core/error.hpp"

#include <algorithm>
#include <set>
#include <sstream>

namespace nextcrm {

namespace {

// Where a problem is: "mapping.csv line 7, field \"kind\"", for errors a
// profile's author can act on.
struct Place {
    const std::string &file;
    std::size_t line;
    std::string at(const char *field) const {
        return file + " line " + std::to_string(line) + ", field \"" + field + "\"";
    }
};

[[noreturn]] void refuse(const Place &place, const char *field, const std::string &why) {
    throw Error(place.at(field) + ": " + why, sqlstate::invalid_parameter_value);
}

FieldKind parse_kind(const std::string &s, const Place &place) {
    static const std::map<std::string, FieldKind> kinds = {
        {"id", FieldKind::Id},
        {"version", FieldKind::Version},
        {"text", FieldKind::Text},
        {"int4", FieldKind::Int4},
        {"bool", FieldKind::Bool},
        {"timestamp", FieldKind::Timestamp},
        {"enum", FieldKind::Enum},
        {"jsonb", FieldKind::Jsonb},
        {"text_array", FieldKind::TextArray},
        {"ref", FieldKind::Ref},
        {"ref_array", FieldKind::RefArray},
        {"junction", FieldKind::Junction},
    };
    auto it = kinds.find(s);
    if (it == kinds.end())
        refuse(place, "kind", "unknown conversion kind \"" + s + "\"");
    return it->second;
}

void parse_on_missing(const std::string &s, FieldMapping &f, const Place &place) {
    if (s == "error")
        f.on_missing = OnMissing::Error;
    else if (s == "null")
        f.on_missing = OnMissing::Null;
    else if (s == "empty")
        f.on_missing = OnMissing::Empty;
    else if (s == "default")
        f.on_missing = OnMissing::Default;
    else if (s == "oid_time")
        f.on_missing = OnMissing::OidTime;
    else if (s.rfind("value:", 0) == 0) {
        f.on_missing = OnMissing::Value;
        f.missing_value = s.substr(6);
    } else
        refuse(place, "on_missing", "unknown on_missing \"" + s + "\"");
}

// special is a ';'-separated list of flags and key=value settings: each a
// mechanism of the engine, the field it applies to chosen by the profile.
void parse_special(const std::string &s, FieldMapping &f, const Place &place) {
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ';')) {
        if (item.empty())
            continue;
        if (item == "numeric_string")
            f.numeric_string = true;
        else if (item == "legacy_string")
            f.legacy_string = true;
        else if (item == "was_json")
            f.was_json = true;
        else if (item.rfind("route=", 0) == 0) {
            auto colon = item.find(':');
            if (colon == std::string::npos)
                refuse(place, "special", "route needs model:column, not \"" + item + "\"");
            f.route_model = item.substr(6, colon - 6);
            f.route_column = item.substr(colon + 1);
        } else if (item != "single_id" && item != "one_sided")
            // single_id and one_sided only document the source.
            refuse(place, "special", "unknown token \"" + item + "\"");
    }
}

// Depth-first topological order; a cycle is a broken mapping.
void visit(const std::string &name, const std::map<std::string, CollectionMapping> &all,
           std::set<std::string> &done, std::set<std::string> &active,
           std::vector<CollectionMapping> &out) {
    if (done.count(name))
        return;
    if (active.count(name))
        throw Error("mapping: reference cycle through " + name, sqlstate::invalid_parameter_value);
    auto it = all.find(name);
    active.insert(name);
    for (const auto &dep : it->second.depends_on)
        visit(dep, all, done, active, out);
    active.erase(name);
    done.insert(name);
    out.push_back(it->second);
}

} // namespace

const FieldMapping *CollectionMapping::find(std::string_view stored_key) const {
    for (const auto &f : fields)
        if (f.stored_key == stored_key)
            return &f;
    return nullptr;
}

Mapping::Mapping(std::string_view mapping_csv, std::string_view enums_csv,
                 const std::string &mapping_file, const std::string &enums_file) {
    std::vector<std::size_t> lines;
    std::vector<CsvRow> rows = parse_csv(mapping_csv, &lines);
    if (rows.empty())
        throw Error(mapping_file + ": empty file", sqlstate::invalid_parameter_value);
    const CsvRow &header = rows.front();
    auto col = [&header, &mapping_file](const char *name) {
        auto it = std::find(header.begin(), header.end(), name);
        if (it == header.end())
            refuse(Place{mapping_file, 1}, name, "no such column in the header");
        return static_cast<std::size_t>(it - header.begin());
    };
    const std::size_t c_model = col("model"), c_key = col("stored_key"), c_field = col("field"),
                      c_kind = col("kind"), c_table = col("target_table"),
                      c_column = col("target_column"), c_owner = col("owner_column"),
                      c_type = col("pg_type"), c_ref = col("ref_model"),
                      c_required = col("required"), c_default = col("mongo_default"),
                      c_missing = col("on_missing"), c_special = col("special");

    std::map<std::string, CollectionMapping> by_name;
    std::vector<std::string> file_order;
    std::map<std::string, JunctionMapping> junctions;
    for (std::size_t i = 1; i < rows.size(); ++i) {
        const CsvRow &r = rows[i];
        const Place place{mapping_file, lines[i]};
        if (r.size() == 1 && r[0].empty())
            continue; // a blank line
        if (r.size() < header.size())
            refuse(place, header[r.size()].c_str(), "missing (the row is short)");
        FieldMapping f;
        f.line = lines[i];
        f.model = r[c_model];
        f.stored_key = r[c_key];
        f.field = r[c_field];
        if (f.model.empty())
            refuse(place, "model", "empty");
        f.kind = parse_kind(r[c_kind], place);
        f.target_table = r[c_table];
        f.target_column = r[c_column];
        f.owner_column = r[c_owner];
        f.pg_type = r[c_type];
        f.ref_model = r[c_ref];
        f.required = r[c_required] == "yes";
        f.mongo_default = r[c_default];
        parse_on_missing(r[c_missing], f, place);
        parse_special(r[c_special], f, place);

        auto [it, fresh] = by_name.try_emplace(f.model);
        CollectionMapping &coll = it->second;
        if (fresh) {
            coll.name = f.model;
            file_order.push_back(f.model);
        }
        auto depend = [&coll](const std::string &model) {
            if (!model.empty() && model != coll.name &&
                std::find(coll.depends_on.begin(), coll.depends_on.end(), model) ==
                    coll.depends_on.end())
                coll.depends_on.push_back(model);
        };
        if (f.kind == FieldKind::Ref || f.kind == FieldKind::RefArray)
            depend(f.ref_model);
        depend(f.route_model);
        if (f.kind == FieldKind::Junction) {
            JunctionMapping &j = junctions[f.target_table];
            j.table = f.target_table;
            const std::string &owner_model = f.model, &listed_model = f.ref_model;
            (f.owner_column == "A" ? j.a_model : j.b_model) = owner_model;
            (f.target_column == "A" ? j.a_model : j.b_model) = listed_model;
        }
        coll.fields.push_back(std::move(f));
    }

    // Every reference names a collection of this mapping.
    for (const auto &name : file_order)
        for (const auto &f : by_name[name].fields) {
            const Place place{mapping_file, f.line};
            if ((f.kind == FieldKind::Ref || f.kind == FieldKind::RefArray ||
                 f.kind == FieldKind::Junction) &&
                !by_name.count(f.ref_model))
                refuse(place, "ref_model", "unknown collection \"" + f.ref_model + "\"");
            if (!f.route_model.empty() && !by_name.count(f.route_model))
                refuse(place, "special", "route to unknown collection \"" + f.route_model + "\"");
        }
    std::set<std::string> done, active;
    for (const auto &name : file_order)
        visit(name, by_name, done, active, collections_);
    for (auto &[name, j] : junctions) {
        if (j.a_model.empty() || j.b_model.empty())
            throw Error(mapping_file + ": junction table \"" + name + "\" lacks a side",
                        sqlstate::invalid_parameter_value);
        junctions_.push_back(j);
    }

    std::vector<std::size_t> enum_lines;
    std::vector<CsvRow> enum_rows = parse_csv(enums_csv, &enum_lines);
    for (std::size_t i = 1; i < enum_rows.size(); ++i) {
        if (enum_rows[i].size() == 1 && enum_rows[i][0].empty())
            continue;
        if (enum_rows[i].size() < 2)
            refuse(Place{enums_file, enum_lines[i]}, "values", "missing (the row is short)");
        std::stringstream in(enum_rows[i][1]);
        std::vector<std::string> labels;
        std::string label;
        while (in >> label)
            labels.push_back(label);
        enums_[enum_rows[i][0]] = std::move(labels);
    }
    for (const auto &c : collections_)
        for (const auto &f : c.fields)
            if (f.kind == FieldKind::Enum && enum_labels(f.pg_type).empty())
                refuse(Place{mapping_file, f.line}, "pg_type",
                       "unknown enum type \"" + f.pg_type + "\" (not in " + enums_file + ")");
}

const CollectionMapping *Mapping::collection(std::string_view name) const {
    for (const auto &c : collections_)
        if (c.name == name)
            return &c;
    return nullptr;
}

std::vector<std::string> Mapping::references_of(std::string_view name) const {
    // collections_ is in dependency order, so one backward pass closes the set.
    std::set<std::string, std::less<>> needed{std::string(name)};
    for (auto it = collections_.rbegin(); it != collections_.rend(); ++it)
        if (needed.count(it->name))
            needed.insert(it->depends_on.begin(), it->depends_on.end());
    std::vector<std::string> out;
    for (const auto &c : collections_)
        if (c.name != name && needed.count(c.name))
            out.push_back(c.name);
    return out;
}

std::vector<std::string> Mapping::dependents_of(std::string_view name) const {
    // One forward pass: a collection's references come before it.
    std::set<std::string, std::less<>> reached;
    std::vector<std::string> out;
    for (const auto &c : collections_) {
        bool depends = c.name == name;
        for (const auto &d : c.depends_on)
            depends = depends || reached.count(d) > 0;
        if (depends) {
            reached.insert(c.name);
            out.push_back(c.name);
        }
    }
    return out;
}

const std::vector<std::string> &Mapping::enum_labels(const std::string &type) const {
    static const std::vector<std::string> none;
    auto it = enums_.find(type);
    return it == enums_.end() ? none : it->second;
}

} // namespace nextcrm
