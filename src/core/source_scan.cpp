#include "core/source_scan.hpp"

#include "core/bson_check.hpp"
#include "core/bson_convert.hpp"
#include "core/extended_json.hpp"
#include "core/mapping.hpp"

#include <cstring>

namespace nextcrm {

namespace {} // namespace

std::optional<SourceId> source_id_for(const bson_t *doc) {
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, "_id"))
        return std::nullopt;
    SourceId id;
    bool is_oid = false;
    try {
        id.uuid = uuid_text(id_to_uuid(it, &is_oid));
        if (BSON_ITER_HOLDS_OID(&it)) {
            char hex[25];
            oid_to_hex(bson_iter_oid(&it), hex);
            id.source_id = hex;
        } else {
            // Exactly as the migration records it (foreign_ids, errors).
            id.source_id = to_json(&it, "_id");
        }
    } catch (const Error &) {
        return std::nullopt; // an _id with no JSON form: reported as awkward
    }
    return id;
}

std::uint64_t seed_from_double(double seed) {
    std::uint64_t bits;
    static_assert(sizeof bits == sizeof seed, "double is 64 bits");
    std::memcpy(&bits, &seed, sizeof bits);
    return bits;
}

CollectionScan::CollectionScan(const CollectionMapping &collection, std::size_t sample_size,
                               std::uint64_t seed)
    : collection_(collection), sample_size_(sample_size), rng_(seed) {
    reservoir_.reserve(sample_size);
}

void CollectionScan::add(const bson_t *doc, const std::function<void(const SourceId &)> &on_id,
                         const std::function<void(const JunctionPair &)> &on_pair,
                         const std::function<void(const AwkwardDocument &)> &on_awkward) {
    ++count_;
    auto id = source_id_for(doc);
    if (id)
        on_id(*id);
    std::string awkward;
    DocumentTraits traits;
    if (auto fault = check_document(doc, &traits))
        awkward = fault->reason;
    else if (traits.nul_in_string)
        awkward = "the document holds a NUL character in \"" + traits.nul_path +
                  "\", which jsonb cannot store; its fields are not compared";
    else if (!id)
        awkward = "the document has no _id with a JSON form";
    if (!awkward.empty()) {
        if (on_awkward) {
            // The migration's own spelling of an unreadable _id.
            std::string shown = id ? id->source_id : "(none)";
            bson_iter_t it;
            if (!id && bson_iter_init_find(&it, doc, "_id"))
                shown = describe_value(&it);
            on_awkward({shown, id ? id->uuid : std::string(), awkward});
        }
        return;
    }

    // Reservoir sampling (Algorithm R): each document ends up in the sample
    // with the same probability, in one pass and without knowing the count.
    if (sample_size_ > 0) {
        std::size_t slot = sample_size_;
        if (reservoir_.size() < sample_size_) {
            reservoir_.emplace_back();
            slot = reservoir_.size() - 1;
        } else {
            std::uniform_int_distribution<std::int64_t> pick(0, count_ - 1);
            std::int64_t j = pick(rng_);
            if (j < static_cast<std::int64_t>(sample_size_))
                slot = static_cast<std::size_t>(j);
        }
        if (slot < sample_size_)
            reservoir_[slot] = std::shared_ptr<bson_t>(bson_copy(doc), bson_destroy);
    }

    if (!id)
        return;
    for (const auto &f : collection_.fields) {
        if (f.kind != FieldKind::Junction)
            continue;
        bson_iter_t v, e;
        if (!bson_iter_init_find(&v, doc, f.stored_key.c_str()) || !BSON_ITER_HOLDS_ARRAY(&v) ||
            !bson_iter_recurse(&v, &e))
            continue;
        while (bson_iter_next(&e)) {
            auto other = reference_uuid(&e);
            if (!other)
                continue;
            JunctionPair p{f.target_table, {}, {}};
            std::string listed = uuid_text(*other);
            // a is the first of the two columns in byte order (mapping.cpp).
            const bool owner_first = f.owner_column < f.target_column;
            (owner_first ? p.b : p.a) = listed;
            (owner_first ? p.a : p.b) = id->uuid;
            on_pair(p);
        }
    }
}

std::vector<SampledBson> CollectionScan::sampled_bson() const {
    std::vector<SampledBson> out;
    for (const auto &doc : reservoir_) {
        if (!doc)
            continue;
        auto id = source_id_for(doc.get());
        if (!id)
            continue;
        out.push_back({id->source_id, id->uuid, doc});
    }
    return out;
}

std::vector<SampledDocument> CollectionScan::sample() const {
    std::vector<SampledDocument> out;
    for (auto &s : sampled_bson()) {
        std::string json;
        JsonFlags flags;
        try {
            json = document_as_json(s.doc.get(), JsonMode::Canonical, &flags);
        } catch (const Error &) {
            continue; // add() reported it (check_document refuses what this refuses)
        }
        if (flags.has_nul)
            continue;
        out.push_back({std::move(s.source_id), std::move(s.uuid), std::move(json)});
    }
    return out;
}

} // namespace nextcrm
