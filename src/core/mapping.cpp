#include "core/mapping.hpp"

#include "core/csv.hpp"
#include "core/embedded_data.hpp"
#include "core/error.hpp"

#include <algorithm>
#include <set>
#include <sstream>

namespace nextcrm {

namespace {

FieldKind parse_kind(const std::string &s) {
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
        throw Error("mapping: unknown kind \"" + s + "\"");
    return it->second;
}

void parse_on_missing(const std::string &s, FieldMapping &f) {
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
        throw Error("mapping: unknown on_missing \"" + s + "\" for " + f.model + "." + f.field);
}

// special is a ';'-separated list of flags and key=value settings.
void parse_special(const std::string &s, FieldMapping &f) {
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
                throw Error("mapping: route needs model:column in " + f.model + "." + f.field);
            f.route_model = item.substr(6, colon - 6);
            f.route_column = item.substr(colon + 1);
        }
        // single_id and one_sided only document the source; nothing to do.
    }
}

// Depth-first topological order; a cycle is a broken mapping.
void visit(const std::string &name, const std::map<std::string, CollectionMapping> &all,
           std::set<std::string> &done, std::set<std::string> &active,
           std::vector<CollectionMapping> &out) {
    if (done.count(name))
        return;
    if (active.count(name))
        throw Error("mapping: reference cycle through " + name);
    auto it = all.find(name);
    if (it == all.end())
        throw Error("mapping: reference to unknown model " + name);
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

Mapping::Mapping(std::string_view mapping_csv, std::string_view enums_csv) {
    std::vector<CsvRow> rows = parse_csv(mapping_csv);
    if (rows.empty())
        throw Error("mapping: empty file");
    const CsvRow &header = rows.front();
    auto col = [&header](const char *name) {
        auto it = std::find(header.begin(), header.end(), name);
        if (it == header.end())
            throw Error(std::string("mapping: no column ") + name);
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
        if (r.size() < header.size())
            throw Error("mapping: short row " + std::to_string(i + 1));
        FieldMapping f;
        f.model = r[c_model];
        f.stored_key = r[c_key];
        f.field = r[c_field];
        f.kind = parse_kind(r[c_kind]);
        f.target_table = r[c_table];
        f.target_column = r[c_column];
        f.owner_column = r[c_owner];
        f.pg_type = r[c_type];
        f.ref_model = r[c_ref];
        f.required = r[c_required] == "yes";
        f.mongo_default = r[c_default];
        parse_on_missing(r[c_missing], f);
        parse_special(r[c_special], f);

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

    std::set<std::string> done, active;
    for (const auto &name : file_order)
        visit(name, by_name, done, active, collections_);
    for (auto &[name, j] : junctions) {
        if (j.a_model.empty() || j.b_model.empty())
            throw Error("mapping: junction " + name + " lacks a side");
        junctions_.push_back(j);
    }

    std::vector<CsvRow> enum_rows = parse_csv(enums_csv);
    for (std::size_t i = 1; i < enum_rows.size(); ++i) {
        if (enum_rows[i].size() < 2)
            continue;
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
                throw Error("mapping: " + c.name + "." + f.field + " has unknown enum type " +
                            f.pg_type);
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

const Mapping &Mapping::nextcrm() {
    static const Mapping mapping(nextcrm_mapping_csv(), nextcrm_enums_csv());
    return mapping;
}

} // namespace nextcrm
