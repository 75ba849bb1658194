// The source model as data: the stored fields of the 29 NextCRM collections,
// read from profiles/nextcrm/mongo-fields.csv and mongo-enums.csv, plus what the
// CSV cannot say (targets of the loose refs, the junction relations' labels).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace nextcrm::gen {

enum class FieldType { String, Int, Boolean, DateTime, Json, Enum };

struct Field {
    std::string name; // Prisma field name
    std::string key;  // stored BSON key (`_id`, `__v` mapped)
    FieldType type = FieldType::String;
    bool list = false;
    bool optional = false;
    bool objectid = false; // @db.ObjectId
    bool is_id = false;
    bool unique = false;
    std::string default_value; // Prisma @default text, "" when none
    const std::vector<std::string> *enum_values = nullptr;
    std::string enum_name;
    std::string ref_target; // collection an id field points at, "" when none
    bool loose_ref = false; // ObjectId scalar with no declared relation
};

struct Model {
    std::string name;
    int index = 0;
    std::vector<Field> fields; // stored fields only, in schema order
    const Field *find(const std::string &key) const;
};

// One of the 10 list-backed relations (SOURCE-SCHEMA 5.1).  Side A always
// stores a list; side B may not (R-DOC-CRMTASK).
struct Junction {
    std::string label;    // R-DOC-ACC ...
    std::string relation; // Prisma relation name
    std::string a_model, a_field;
    std::string b_model, b_field; // b_field "" when B stores nothing
    double mean_degree = 0.3;     // mean number of B per A document
};

class Catalog {
  public:
    // From the embedded CSV files.
    static const Catalog &get();
    // From CSV text (tests use it to read the files from disk).
    Catalog(const std::string &fields_csv, const std::string &enums_csv);

    const std::vector<Model> &models() const { return models_; }
    const Model &model(const std::string &name) const;
    int model_index(const std::string &name) const;
    const std::vector<Junction> &junctions() const { return junctions_; }
    const std::map<std::string, std::vector<std::string>> &enums() const { return enums_; }

  private:
    std::vector<Model> models_;
    std::map<std::string, std::vector<std::string>> enums_;
    std::vector<Junction> junctions_;
};

// Splits CSV text into rows of unquoted cells (RFC 4180 quoting).
std::vector<std::vector<std::string>> parse_csv(const std::string &text);

} // namespace nextcrm::gen
