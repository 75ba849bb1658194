// How many documents each collection gets, and the ObjectId of every document
// (and of "deleted" ones that are referenced but never written).
#pragma once

#include "gen/catalog.hpp"
#include "gen/rng.hpp"

#include <bson/bson.h>

#include <cstdint>
#include <string>
#include <vector>

namespace nextcrm::gen {

struct CollectionPlan {
    std::string name;
    int model = 0;
    std::uint32_t count = 0;
    std::uint32_t seed_records = 0;     // NextCRM's own seed records, written first
    std::int64_t start_s = 0;           // creation time of the first document (Unix seconds)
    std::int64_t span_s = 0;            // its documents' ids spread over this many seconds
    std::uint64_t machine = 0;          // the ObjectId's middle 5 bytes
    std::vector<std::uint8_t> isolated; // 1: never referenced by another document
};

class Plan {
  public:
    Plan(const Catalog &catalog, std::uint64_t docs, std::uint64_t seed);

    const std::vector<CollectionPlan> &collections() const { return colls_; }
    CollectionPlan &at(int model) { return colls_[static_cast<std::size_t>(model)]; }
    const CollectionPlan &at(int model) const { return colls_[static_cast<std::size_t>(model)]; }
    std::uint64_t seed() const { return seed_; }

    // The id of document `index` of collection `model`.  Indexes at or past
    // the collection's count name documents that were deleted.
    void oid(int model, std::uint32_t index, bson_oid_t *out) const;
    std::int64_t oid_seconds(int model, std::uint32_t index) const;
    // A deleted document's index, for dangling references.
    std::uint32_t ghost(int model, Rng &rng) const;
    // A live document that may be referenced; falls back to any document.
    std::uint32_t pick(int model, Rng &rng) const;

  private:
    std::vector<CollectionPlan> colls_;
    std::uint64_t seed_;
};

// The seed records for a collection (empty when NextCRM seeds none), as BSON
// documents without `_id`, with `v` renamed `__v`.
std::vector<std::vector<std::uint8_t>> seed_records(const std::string &collection);

std::string oid_hex(const bson_oid_t &oid);

} // namespace nextcrm::gen
