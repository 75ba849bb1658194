// Builds one document of a collection from the field catalogue, the plan of
// ids, the junction pairs and the planted quirks, and tells the manifest.
#pragma once

#include "gen/manifest.hpp"
#include "gen/quirks.hpp"
#include "gen/relations.hpp"
#include "gen/text.hpp"

#include <bson/bson.h>

namespace nextcrm::gen {

struct GenOptions {
    std::uint64_t seed = 1;
    bool quirks = true;
    bool dump = true; // dump mode may hold shapes FerretDB cannot store
};

class DocBuilder {
  public:
    DocBuilder(const Plan &plan, const QuirkPlan &quirks,
               const std::vector<JunctionPlan> &junctions, Manifest &manifest,
               const GenOptions &options);
    // Appends document `index` of `model` to the empty `doc`.
    void build(int model, std::uint32_t index, bson_t *doc);

  private:
    struct ListSide {
        std::size_t junction;
        bool side_a;
    };
    const Plan &plan_;
    const QuirkPlan &quirks_;
    const std::vector<JunctionPlan> &junctions_;
    Manifest &manifest_;
    GenOptions options_;
    std::vector<std::vector<std::pair<std::string, ListSide>>> list_sides_; // per model

    // State of the document being built.
    int model_ = 0;
    std::uint32_t index_ = 0;
    Rng rng_{0};
    std::string id_;
    Lang lang_ = Lang::En;
    std::int64_t created_ms_ = 0;
    std::string first_, last_;
    std::uint32_t owner_ = 0; // Boards.user, for sharedWith
    bool ref_quirks_ = false;

    const std::string &coll() const;
    void emit_field(bson_t *doc, const Field &f);
    void emit_targeted(bson_t *doc, const Field *f, const Targeted &t);
    void emit_ref(bson_t *doc, const Field &f);
    void emit_list(bson_t *doc, const Field &f);
    void emit_junction_list(bson_t *doc, const Field &f, const ListSide &side);
    void emit_json(bson_t *doc, const Field &f, bool nested);
    void emit_extra_key(bson_t *doc, const Targeted &t);
    void append_oid(bson_t *doc, const char *key, int model, std::uint32_t index, bool as_hex);
    std::string string_value(const Field &f);
    std::int64_t int_value(const Field &f);
    std::int64_t date_value(const Field &f);
    std::string user_email(std::uint32_t user) const;
    void note_secret(const Field &f);
};

} // namespace nextcrm::gen
