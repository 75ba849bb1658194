#include "gen/catalog.hpp"

#include "gen/embedded.hpp"

#include "core/csv.hpp"

#include <set>
#include <sstream>
#include <stdexcept>

namespace nextcrm::gen {

std::string embedded_file(const std::string &name) {
    for (std::size_t i = 0; i < kEmbeddedFileCount; ++i)
        if (name == kEmbeddedFiles[i].name)
            return kEmbeddedFiles[i].text;
    throw std::runtime_error("no embedded file " + name);
}

std::vector<std::vector<std::string>> parse_csv(const std::string &text) {
    return nextcrm::parse_csv(text);
}

const Field *Model::find(const std::string &key) const {
    for (const Field &f : fields)
        if (f.key == key)
            return &f;
    return nullptr;
}

namespace {

// Loose refs (SOURCE-SCHEMA 5.3) carry ids without a declared relation, so
// the CSV cannot name their targets.
std::string loose_ref_target(const std::string &model, const std::string &field) {
    if (field == "createdBy" || field == "updatedBy" || field == "last_activity_by" ||
        field == "last_updated_by" || field == "sharedWith")
        return "Users";
    if (model == "crm_Opportunities" && field == "contact")
        return "crm_Contacts";
    if (model == "crm_Contacts" && field == "account")
        return "crm_Accounts";
    if (model == "Sections" && field == "board")
        return "Boards";
    return "";
}

struct JunctionLabel {
    const char *relation, *label, *a_model;
    double mean_degree;
};

// Labels as in SOURCE-SCHEMA 5.1; side A is the model listed first there.
const JunctionLabel kJunctionLabels[] = {
    {"DocumentsTocrm_Accounts", "R-DOC-ACC", "Documents", 0.4},
    {"DocumentsTocrm_Leads", "R-DOC-LEAD", "Documents", 0.15},
    {"DocumentsTocrm_Contacts", "R-DOC-CONT", "Documents", 0.4},
    {"DocumentsTocrm_Opportunities", "R-DOC-OPP", "Documents", 0.15},
    {"DocumentsToInvoices", "R-DOC-INV", "Documents", 0.1},
    {"DocumentsToTasks", "R-DOC-TASK", "Documents", 0.25},
    {"DocumentsTocrm_Accounts_Tasks", "R-DOC-CRMTASK", "Documents", 0.08},
    {"crm_ContactsTocrm_Opportunities", "R-CONT-OPP", "crm_Contacts", 0.5},
    {"watching_accounts", "R-WATCH-ACC", "crm_Accounts", 0.3},
    {"watching_users", "R-WATCH-BOARD", "Boards", 1.5},
};

FieldType type_of(const std::string &prisma, const std::string &kind) {
    if (kind == "enum")
        return FieldType::Enum;
    if (prisma == "String")
        return FieldType::String;
    if (prisma == "Int")
        return FieldType::Int;
    if (prisma == "Boolean")
        return FieldType::Boolean;
    if (prisma == "DateTime")
        return FieldType::DateTime;
    if (prisma == "Json")
        return FieldType::Json;
    throw std::runtime_error("mongo-fields.csv: unexpected type " + prisma);
}

} // namespace

Catalog::Catalog(const std::string &fields_csv, const std::string &enums_csv) {
    auto enum_rows = parse_csv(enums_csv);
    for (std::size_t i = 1; i < enum_rows.size(); ++i) {
        std::istringstream values(enum_rows[i].at(1));
        std::vector<std::string> list;
        for (std::string v; values >> v;)
            list.push_back(v);
        enums_[enum_rows[i].at(0)] = list;
    }

    auto rows = parse_csv(fields_csv);
    if (rows.empty() || rows[0].size() < 17 || rows[0][0] != "model")
        throw std::runtime_error("mongo-fields.csv: unexpected header");
    struct Side {
        std::string model, field, target;
    };
    std::map<std::string, std::vector<Side>> list_sides;
    std::map<std::string, std::string> relation_targets; // "model.field" -> target
    for (std::size_t r = 1; r < rows.size(); ++r) {
        const auto &c = rows[r];
        const std::string &model = c[0];
        int idx = -1;
        for (const Model &m : models_)
            if (m.name == model)
                idx = m.index;
        if (idx < 0) {
            models_.push_back(Model{model, static_cast<int>(models_.size()), {}});
            idx = models_.back().index;
        }
        if (c[12].rfind("relation", 0) == 0) {
            if (!c[14].empty()) {
                relation_targets[model + "." + c[14]] = c[3];
                list_sides[c[13]].push_back({model, c[14], c[3]});
            }
            continue;
        }
        Field f;
        f.name = c[1];
        f.key = c[2];
        f.type = type_of(c[3], c[12]);
        f.list = c[4] == "yes";
        f.optional = c[5] == "yes";
        f.objectid = c[6] == "yes";
        f.is_id = c[8] == "yes";
        f.unique = c[9] == "yes";
        f.default_value = c[11];
        if (f.type == FieldType::Enum) {
            auto e = enums_.find(c[3]);
            if (e == enums_.end())
                throw std::runtime_error("mongo-enums.csv lacks enum " + c[3]);
            f.enum_values = &e->second;
            f.enum_name = c[3];
        }
        models_[idx].fields.push_back(f);
    }
    for (Model &m : models_)
        for (Field &f : m.fields) {
            if (!f.objectid || f.is_id)
                continue;
            auto t = relation_targets.find(m.name + "." + f.name);
            if (t != relation_targets.end()) {
                f.ref_target = t->second;
            } else {
                f.ref_target = loose_ref_target(m.name, f.name);
                f.loose_ref = true;
            }
            if (f.ref_target.empty())
                throw std::runtime_error("no target known for id field " + m.name + "." + f.name);
        }

    for (const JunctionLabel &l : kJunctionLabels) {
        auto s = list_sides.find(l.relation);
        Junction j;
        j.label = l.label;
        j.relation = l.relation;
        j.mean_degree = l.mean_degree;
        if (s == list_sides.end())
            throw std::runtime_error(std::string("mongo-fields.csv lacks relation ") + l.relation);
        for (const Side &side : s->second) {
            const Field *stored = model(side.model).find(side.field);
            if (!stored || !stored->list)
                continue; // a scalar FK of the same relation name, not a list side
            if (side.model == l.a_model && j.a_field.empty()) {
                j.a_model = side.model;
                j.a_field = side.field;
                if (j.b_model.empty())
                    j.b_model = side.target;
            } else {
                j.b_model = side.model;
                j.b_field = side.field;
            }
        }
        if (j.a_field.empty() || j.b_model.empty())
            throw std::runtime_error(std::string("cannot resolve the sides of ") + l.relation);
        junctions_.push_back(j);
    }
}

const Catalog &Catalog::get() {
    static const Catalog catalog(embedded_file("mongo-fields.csv"),
                                 embedded_file("mongo-enums.csv"));
    return catalog;
}

const Model &Catalog::model(const std::string &name) const {
    return models_.at(static_cast<std::size_t>(model_index(name)));
}

int Catalog::model_index(const std::string &name) const {
    for (const Model &m : models_)
        if (m.name == name)
            return m.index;
    throw std::runtime_error("unknown collection " + name);
}

} // namespace nextcrm::gen
