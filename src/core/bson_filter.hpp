// A MongoDB find filter evaluated on a document, for the scans of a dump
// (which has no server to apply the filter the planner pushed down).
//
// PostgreSQL-free.  Only the grammar query_builder.cpp writes is accepted:
// $and and $or of field conditions, each field with $eq, $ne, $lt, $lte,
// $gt, $gte, $in or $nin (or an implicit equality), with operands of the
// BSON types the planner produces (numbers, strings, booleans, dates,
// ObjectIds, binary, and null for $eq, $ne, $in and $nin).  Anything else
// is refused when the filter is compiled, with an error naming the operator
// or the type: never a filter that quietly matches something else.
//
// Matching follows the server's query semantics: comparisons only within a
// BSON type bracket (int32, int64 and double compare exactly as numbers;
// NaN matches no comparison with a number), strings by bytes (the simple
// collation), a missing field equal to null, and an array field matching
// when one of its elements does.  Where the server's answer is not certain
// (a path through an array, a decimal128 or undefined value, a null test
// on an empty array) the answer is `unknown`, never `no`: the scan then
// treats the document as one the server would return.
#pragma once

#include <bson/bson.h>

#include <memory>
#include <string>
#include <vector>

namespace nextcrm {

enum class FilterMatch { no, yes, unknown };

class BsonFilter {
  public:
    // Compiles filter; throws Error (SQLSTATE HV000) for any operator,
    // shape or operand type outside the grammar above.
    explicit BsonFilter(const bson_t *filter);
    ~BsonFilter();
    BsonFilter(const BsonFilter &) = delete;
    BsonFilter &operator=(const BsonFilter &) = delete;

    FilterMatch match(const bson_t *doc) const;

    struct Node;

  private:
    std::unique_ptr<Node> root_;
};

} // namespace nextcrm
