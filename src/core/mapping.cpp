#include "core/mapping.hpp"

#include "core/csv.hpp"
#include "core/error.hpp"

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>

namespace nextcrm {

namespace {

// Where a problem is: "mapping.csv line 7, field \"kind\"", for errors a
// profile's author can act on.
struct Place {
    const std::string &file;
    std::size_t line;
};

[[noreturn]] void refuse(const Place &place, const char *field, const std::string &why) {
    throw Error(Message(NEXTCRM_MSG("%s line %s, field \"%s\": %s"), place.file,
                        std::to_string(place.line), field, why),
                sqlstate::invalid_parameter_value);
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
        {"numeric", FieldKind::Numeric},
        {"lookup", FieldKind::Lookup},
        {"derive", FieldKind::Derive},
        {"merged", FieldKind::Merged},
        {"kept", FieldKind::Kept},
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
        else if (item.rfind("lookup=", 0) == 0) {
            // lookup=Table:match_column:result_column
            std::string spec = item.substr(7);
            auto c1 = spec.find(':'), c2 = spec.rfind(':');
            if (c1 == std::string::npos || c1 == c2 || c1 == 0 || c2 + 1 == spec.size() ||
                c2 == c1 + 1)
                refuse(place, "special",
                       "lookup needs table:match_column:result_column, not \"" + item + "\"");
            f.lookup_table = spec.substr(0, c1);
            f.lookup_match = spec.substr(c1 + 1, c2 - c1 - 1);
            f.lookup_result = spec.substr(c2 + 1);
        } else if (item.rfind("map=", 0) == 0)
            f.value_map = item.substr(4);
        else if (item == "unknown=add")
            f.lookup_unknown = LookupUnknown::Add;
        else if (item == "unknown=null")
            f.lookup_unknown = LookupUnknown::Null;
        else if (item.rfind("or=", 0) == 0)
            f.fallback_key = item.substr(3);
        else if (item.rfind("derive=", 0) == 0) {
            // derive=key:equals:value|key:equals:value|*:value
            std::stringstream cases(item.substr(7));
            std::string c;
            while (std::getline(cases, c, '|')) {
                auto last = c.rfind(':');
                if (c.rfind("*:", 0) == 0) {
                    f.derive.push_back({"", "", c.substr(2)});
                    continue;
                }
                auto first = c.find(':');
                if (first == std::string::npos || first == last || first == 0)
                    refuse(place, "special",
                           "a derive case is key:equals:value or *:value, not \"" + c + "\"");
                f.derive.push_back({c.substr(0, first), c.substr(first + 1, last - first - 1),
                                    c.substr(last + 1)});
            }
        } else if (item.rfind("route=", 0) == 0) {
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
        throw Error(Message(NEXTCRM_MSG("mapping: reference cycle through %s"), name),
                    sqlstate::invalid_parameter_value);
    auto it = all.find(name);
    active.insert(name);
    for (const auto &dep : it->second.depends_on)
        visit(dep, all, done, active, out);
    active.erase(name);
    done.insert(name);
    out.push_back(it->second);
}

// numeric(p,s) -> p and s; anything else is refused.
void parse_numeric_type(FieldMapping &f, const Place &place) {
    int p = 0, s = 0;
    char close = 0;
    if (std::sscanf(f.pg_type.c_str(), "numeric(%d,%d%c", &p, &s, &close) != 3 || close != ')' ||
        p < 1 || p > 38 || s < 0 || s > p)
        refuse(place, "pg_type", "kind numeric needs numeric(p,s), not \"" + f.pg_type + "\"");
    f.numeric_precision = p;
    f.numeric_scale = s;
}

// What each kind needs of the row besides the common columns.
void check_kind(FieldMapping &f, const Place &place, const std::string &notes) {
    if (f.kind == FieldKind::Numeric)
        parse_numeric_type(f, place);
    if ((f.kind == FieldKind::Lookup) != !f.lookup_table.empty())
        refuse(place, f.kind == FieldKind::Lookup ? "special" : "kind",
               f.kind == FieldKind::Lookup ? "kind lookup needs lookup=table:match:result"
                                           : "lookup= belongs to kind lookup");
    if (!f.value_map.empty() && f.kind != FieldKind::Lookup && f.kind != FieldKind::Enum)
        refuse(place, "special", "map= belongs to kinds lookup and enum");
    if ((f.kind == FieldKind::Derive) != !f.derive.empty())
        refuse(place, f.kind == FieldKind::Derive ? "special" : "kind",
               f.kind == FieldKind::Derive ? "kind derive needs derive=key:equals:value|...|*:value"
                                           : "derive= belongs to kind derive");
    if (f.kind == FieldKind::Derive && !f.stored_key.empty())
        refuse(place, "stored_key", "a derived field has no key of its own: leave it empty");
    if (f.kind != FieldKind::Derive && f.stored_key.empty())
        refuse(place, "stored_key", "empty");
    if (f.kind == FieldKind::Derive && !f.derive.back().key.empty())
        refuse(place, "special", "a derive table ends with its otherwise case *:value");
    if (!f.fallback_key.empty() && f.kind != FieldKind::Text && f.kind != FieldKind::Ref)
        refuse(place, "special", "or= applies to kinds text and ref");
    if (f.kind == FieldKind::Kept || f.kind == FieldKind::Merged) {
        if (!f.target_table.empty() || !f.target_column.empty())
            refuse(place, "target_table",
                   std::string("a field of kind ") +
                       (f.kind == FieldKind::Kept ? "kept" : "merged") + " has no target");
    } else if (f.target_column.empty())
        refuse(place, "target_column", "empty");
    if (f.kind == FieldKind::Kept) {
        if (notes.empty())
            refuse(place, "notes", "a kept field needs its reason in notes");
        f.reason = notes;
    }
}

} // namespace

std::string fold_case(std::string s) {
    for (char &c : s)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return s;
}

const FieldMapping *CollectionMapping::find(std::string_view stored_key) const {
    for (const auto &f : fields)
        if (f.stored_key == stored_key)
            return &f;
    return nullptr;
}

Mapping::Mapping(std::string_view mapping_csv, std::string_view enums_csv,
                 const std::string &mapping_file, const std::string &enums_file)
    : Mapping(mapping_csv, enums_csv, "", mapping_file, enums_file, "value-maps.csv") {}

Mapping::Mapping(std::string_view mapping_csv, std::string_view enums_csv,
                 std::string_view value_maps_csv, const std::string &mapping_file,
                 const std::string &enums_file, const std::string &value_maps_file) {
    std::vector<std::size_t> map_lines;
    std::vector<CsvRow> map_rows = parse_csv(value_maps_csv, &map_lines);
    if (!map_rows.empty() && (map_rows[0].size() < 3 || map_rows[0][0] != "map" ||
                              map_rows[0][1] != "from" || map_rows[0][2] != "to"))
        refuse(Place{value_maps_file, 1}, "map", "the header must be map,from,to");
    for (std::size_t i = 1; i < map_rows.size(); ++i) {
        const CsvRow &r = map_rows[i];
        if (r.size() == 1 && r[0].empty())
            continue;
        const Place place{value_maps_file, map_lines[i]};
        if (r.size() < 3)
            refuse(place, r.size() < 2 ? "from" : "to", "missing (the row is short)");
        if (r[0].empty() || r[2].empty())
            refuse(place, r[0].empty() ? "map" : "to", "empty");
        if (!value_maps_[r[0]].emplace(fold_case(r[1]), r[2]).second)
            refuse(place, "from",
                   "\"" + r[1] + "\" is mapped twice (case folded) in map \"" + r[0] + "\"");
    }

    std::vector<std::size_t> lines;
    std::vector<CsvRow> rows = parse_csv(mapping_csv, &lines);
    if (rows.empty())
        throw Error(Message(NEXTCRM_MSG("%s: empty file"), mapping_file),
                    sqlstate::invalid_parameter_value);
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
    const auto notes_it = std::find(header.begin(), header.end(), "notes");
    const std::size_t c_notes = notes_it == header.end()
                                    ? header.size()
                                    : static_cast<std::size_t>(notes_it - header.begin());

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
        check_kind(f, place, c_notes < r.size() ? r[c_notes] : std::string());

        auto [it, fresh] = by_name.try_emplace(f.model);
        CollectionMapping &coll = it->second;
        if (fresh) {
            coll.name = f.model;
            file_order.push_back(f.model);
        }
        if (f.kind == FieldKind::Kept && f.stored_key == "_id") {
            coll.kept_whole = true;
            coll.kept_reason = f.reason;
        }
        if (coll.kept_whole && f.kind != FieldKind::Kept)
            refuse(place, "kind",
                   "collection \"" + coll.name +
                       "\" is kept whole (its _id is of kind kept): every field is kept");
        if (!f.stored_key.empty() && coll.find(f.stored_key))
            refuse(place, "stored_key", "\"" + f.stored_key + "\" is mapped twice");
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
            // The two columns in byte order: "A" and "B" of an implicit
            // table, or two named columns (document_id, account_id).
            if (f.owner_column.empty() || f.owner_column == f.target_column)
                refuse(place, "owner_column",
                       "a junction needs two different columns (owner_column, target_column)");
            JunctionMapping &j = junctions[f.target_table];
            const bool owner_first = f.owner_column < f.target_column;
            const std::string &a_column = owner_first ? f.owner_column : f.target_column;
            const std::string &b_column = owner_first ? f.target_column : f.owner_column;
            if (!j.table.empty() && (j.a_column != a_column || j.b_column != b_column))
                refuse(place, "owner_column",
                       "junction table \"" + f.target_table + "\" has columns \"" + j.a_column +
                           "\" and \"" + j.b_column + "\" in another row");
            j.table = f.target_table;
            j.a_column = a_column;
            j.b_column = b_column;
            (owner_first ? j.a_model : j.b_model) = f.model;
            (owner_first ? j.b_model : j.a_model) = f.ref_model;
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
            if ((f.kind == FieldKind::Ref || f.kind == FieldKind::RefArray ||
                 f.kind == FieldKind::Junction) &&
                by_name[f.ref_model].kept_whole)
                refuse(place, "ref_model",
                       "collection \"" + f.ref_model +
                           "\" is kept whole and has no rows to reference");
            const CollectionMapping &coll = by_name[name];
            if (!f.fallback_key.empty()) {
                const FieldMapping *other = coll.find(f.fallback_key);
                if (!other || other->kind != FieldKind::Merged)
                    refuse(place, "special",
                           "or=" + f.fallback_key + " names no field of kind merged of \"" + name +
                               "\"");
            }
            if (f.kind == FieldKind::Merged) {
                bool read = false;
                for (const auto &g : coll.fields)
                    read = read || g.fallback_key == f.stored_key;
                if (!read)
                    refuse(place, "kind",
                           "no field of \"" + name + "\" reads \"" + f.stored_key +
                               "\" (or=" + f.stored_key + ")");
            }
            for (const auto &c : f.derive)
                if (!c.key.empty() && !coll.find(c.key))
                    refuse(place, "special",
                           "derive reads \"" + c.key + "\", which is not a field of \"" + name +
                               "\"");
        }
    // A map of value-maps.csv that no field names is a typo (a field may
    // name a map without rows: the operator's value_map may fill it).
    for (const auto &[map, rows] : value_maps_) {
        bool named = false;
        for (const auto &[name, coll] : by_name)
            for (const auto &f : coll.fields)
                named = named || f.value_map == map;
        if (!named)
            throw Error(
                Message(NEXTCRM_MSG("%s: map \"%s\" is named by no lookup or enum (map=%s in %s)"),
                        value_maps_file, map, map, mapping_file),
                sqlstate::invalid_parameter_value);
    }
    std::set<std::string> done, active;
    for (const auto &name : file_order)
        visit(name, by_name, done, active, collections_);
    for (auto &[name, j] : junctions) {
        if (j.a_model.empty() || j.b_model.empty())
            throw Error(
                Message(NEXTCRM_MSG("%s: junction table \"%s\" lacks a side"), mapping_file, name),
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
        for (const auto &f : c.fields) {
            if (f.kind != FieldKind::Enum)
                continue;
            const auto &labels = enum_labels(f.pg_type);
            if (labels.empty())
                refuse(Place{mapping_file, f.line}, "pg_type",
                       "unknown enum type \"" + f.pg_type + "\" (not in " + enums_file + ")");
            // An enum's value map replaces a label by another label: a
            // profile row leading anywhere else could never be written.
            auto m = value_maps_.find(f.value_map);
            if (f.value_map.empty() || m == value_maps_.end())
                continue;
            for (const auto &[from, to] : m->second)
                if (std::find(labels.begin(), labels.end(), to) == labels.end())
                    throw Error(
                        Message(NEXTCRM_MSG("%s: map \"%s\" maps \"%s\" to \"%s\", which "
                                            "is not a value of enum %s (map=%s in %s line %s)"),
                                value_maps_file, f.value_map, from, to, f.pg_type, f.value_map,
                                mapping_file, std::to_string(f.line)),
                        sqlstate::invalid_parameter_value);
        }
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
