// What the validator needs from one source collection, gathered in a single
// pass over its documents: the count, every _id, the pairs its list-backed
// relations name, and a reproducible random sample of whole documents.
//
// PostgreSQL-free.  Deliberately independent of the migration's transform
// (doc_transform.cpp): it reads the BSON itself, so a defect in the transform
// cannot hide from the comparison the validator makes with it.
#pragma once

#include "core/mapping.hpp"
#include "core/oid_uuid.hpp"

#include <bson/bson.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace nextcrm {

// One _id as the migration's records spell it and the UUID it must have
// become in the target.
struct SourceId {
    std::string source_id; // 24 hex digits, or canonical Extended JSON
    std::string uuid;
};

// One row a list-backed relation must produce: (A, B) of the junction table.
struct JunctionPair {
    std::string junction;
    std::string a;
    std::string b;
};

// A sampled document: its _id and the whole document as canonical Extended
// JSON (every number typed, so SQL compares doubles as doubles and integers
// as integers with the target row).
struct SampledDocument {
    std::string source_id;
    std::string uuid;
    std::string json;
};

// A sampled document as its BSON, for a reader that builds its own form of
// it (the validator builds jsonb directly); the same documents sample()
// gives before its JSON filter (a value with no JSON form, a NUL), which
// such a reader must apply itself.
struct SampledBson {
    std::string source_id;
    std::string uuid;
    std::shared_ptr<bson_t> doc;
};

// A document the validator cannot compare as JSON: one the migration must
// have reported (a malformed element, a key that is not UTF-8, nesting past
// max_document_depth, a repeated key) or one holding a NUL character, which
// jsonb cannot store.  uuid is empty when the _id is unreadable.
struct AwkwardDocument {
    std::string source_id;
    std::string uuid;
    std::string reason;
};

class CollectionScan {
  public:
    // seed: the same seed and the same source order give the same sample.
    CollectionScan(const CollectionMapping &collection, std::size_t sample_size,
                   std::uint64_t seed);

    // Takes one document.  The callbacks receive its _id and junction pairs
    // at once, so the caller can stream them instead of holding them.
    // Awkward documents go to on_awkward and are neither sampled nor
    // searched for pairs; their _id still goes to on_id when readable.
    void add(const bson_t *doc, const std::function<void(const SourceId &)> &on_id,
             const std::function<void(const JunctionPair &)> &on_pair,
             const std::function<void(const AwkwardDocument &)> &on_awkward = {});

    std::int64_t count() const noexcept { return count_; }
    // The sample in source order of arrival (reservoir slots).
    std::vector<SampledDocument> sample() const;
    // The same slots as BSON, unconverted.
    std::vector<SampledBson> sampled_bson() const;

  private:
    const CollectionMapping &collection_;
    std::size_t sample_size_;
    std::mt19937_64 rng_;
    std::int64_t count_ = 0;
    std::vector<std::shared_ptr<bson_t>> reservoir_;
};

// The _id of a document as the error table spells it, and its UUID; nothing
// when the document has no _id (or no readable one).  Never throws.
std::optional<SourceId> source_id_for(const bson_t *doc);

// Turns the SQL seed (any double) into the generator's seed.
std::uint64_t seed_from_double(double seed);

} // namespace nextcrm
