// The quirks of SOURCE-SCHEMA 8-9 that are planted in chosen documents: which
// documents carry which one is decided before any document is built, so error
// documents can be kept out of every reference (see README: "isolated").
#pragma once

#include "gen/plan.hpp"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace nextcrm::gen {

enum class Act {
    InvalidEnum,        // a value outside the field's enum (error)
    MissingRequired,    // a required key without @default left out (error)
    DuplicateEmail,     // Users.email equal to an earlier user's (error)
    IntOutOfRange,      // Int64 beyond int4 in an Int field (error)
    Unconvertible,      // a string in an Int field that is no number (error)
    DanglingRequired,   // a required ref to a deleted document (error)
    Decimal128Fraction, // Decimal128 1500.50 in an Int field (error; dump only)
    NaNInInt,           // double NaN in an Int field, as Number("x") gives (error; dump only)
    NonObjectIdId,      // `_id` is a plain string
    LegacyKey,          // a key removed from the schema (9a)
    UnknownKey,         // a key no schema version had
    NumericString,      // "1500" in an Int field (9b)
    IntAsDouble,        // 3.0 in an Int field, as the mongo shell writes numbers
    BoolString,         // "true"/"false" in a Boolean field (9b)
    LegacyJson,         // old Json in Documents.connected_documents (9b)
    OddBirthday,        // "//", "undefined/5/undefined"
    DateString,         // an ISO date string in a DateTime field
    OddEmail,           // an email the forms would not accept
    MissingDefaulted,   // a required key with @default left out (repair)
    Decimal128Integral, // Decimal128 2000 in an Int field (repair; dump only)
    NestedArrayJson,    // arrays inside arrays in a Json field (dump only)
};

struct Targeted {
    const char *kind; // manifest quirk kind
    const char *collection;
    const char *field; // stored key
    Act act;
    double rate;        // share of the collection's documents
    bool error;         // a correct migration puts the document in the error table
    bool dump_only;     // FerretDB cannot store the shape
    const char *reason; // for error documents
};

const std::vector<Targeted> &targeted_quirks();

// Per collection: document index -> the targeted quirks it carries.
class QuirkPlan {
  public:
    QuirkPlan(Plan &plan, bool enabled, bool dump_mode);
    const std::vector<const Targeted *> *at(int model, std::uint32_t index) const;
    bool is_error(int model, std::uint32_t index) const;

  private:
    std::vector<std::unordered_map<std::uint32_t, std::vector<const Targeted *>>> by_doc_;
};

} // namespace nextcrm::gen
