// MongoDB query documents from SQL conditions, sort keys and column lists.
//
// PostgreSQL-free.  The planner (src/fdw_pushdown.cpp) turns the WHERE
// clauses it can push into Condition trees; build_filter() writes the
// MongoDB filter that matches exactly the documents for which the SQL
// condition is TRUE under SQL's three-valued logic.  Each node therefore
// has two translations, "true" and "false": `a <> 5` is true only when a is
// present, not null and not 5 ({a: {$nin: [5, null]}}), and NOT(c) is the
// "false" translation of c, so NULLs never leak through a negation.
#pragma once

#include "document_source.hpp"
#include "mongo_client.hpp"

#include <bson/bson.h>

#include <string>
#include <utility>
#include <vector>

namespace nextcrm {

enum class CompareOp { Eq, Ne, Lt, Le, Gt, Ge };

struct Condition {
    enum class Kind { Compare, In, IsNull, IsNotNull, And, Or, Not };
    Kind kind = Kind::Compare;
    std::string field;               // Compare, In, IsNull, IsNotNull
    CompareOp op = CompareOp::Eq;    // Compare
    std::vector<OwnedValue> values;  // Compare: one value; In: the list
    bool list_had_null = false;      // In: the SQL list held a NULL
    std::vector<Condition> children; // And, Or: two or more; Not: one

    static Condition compare(std::string field, CompareOp op, OwnedValue value);
    // field equals any of values (SQL IN / = ANY); also used for an equality
    // whose constant has several BSON spellings (a hex string or ObjectId).
    static Condition in(std::string field, std::vector<OwnedValue> values, bool had_null = false);
    static Condition is_null(std::string field, bool null);
    static Condition both(std::vector<Condition> children);   // AND
    static Condition either(std::vector<Condition> children); // OR
    static Condition negate(Condition child);                 // NOT
};

// The filter for the conjunction of conds (empty document when none).
BsonPtr build_filter(const std::vector<Condition> &conds);

// {field: 1, ...} for the given dotted paths; a path below another listed
// path is left out (MongoDB rejects such collisions).  _id is always
// returned, so an empty list asks for _id only.
BsonPtr build_projection(const std::vector<std::string> &fields);

// {field: 1 | -1, ...} in order.
BsonPtr build_sort(const std::vector<std::pair<std::string, bool /*ascending*/>> &keys);

// Canonical Extended JSON of a query document and back (how plans carry
// them); from_json throws nextcrm::Error on malformed text.
std::string to_json(const bson_t *doc);
BsonPtr from_json(const std::string &json);

} // namespace nextcrm
