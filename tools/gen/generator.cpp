#include "gen/generator.hpp"

namespace nextcrm::gen {

Generator::Generator(std::uint64_t docs, const GenOptions &options)
    : docs_(docs), options_(options) {
    const Catalog &catalog = Catalog::get();
    plan_ = std::make_unique<Plan>(catalog, docs, options.seed);
    // Quirks first: they isolate the error documents, which the junctions
    // and references must then avoid.
    quirks_ = std::make_unique<QuirkPlan>(*plan_, options.quirks, options.dump);
    junctions_ = plan_junctions(*plan_, options.quirks);
    manifest_ = std::make_unique<Manifest>(*plan_, junctions_.size());
}

std::vector<std::string> Generator::collection_names() const {
    std::vector<std::string> names;
    for (const CollectionPlan &c : plan_->collections())
        names.push_back(c.name);
    return names;
}

void Generator::run(Sink &sink) {
    DocBuilder builder(*plan_, *quirks_, junctions_, *manifest_, options_);
    bson_t doc;
    bson_init(&doc);
    for (const CollectionPlan &c : plan_->collections()) {
        sink.begin(c.name);
        for (std::uint32_t i = 0; i < c.count; ++i) {
            bson_reinit(&doc);
            builder.build(c.model, i, &doc);
            sink.write(&doc);
        }
        sink.end();
    }
    bson_destroy(&doc);
    manifest_->finish();
}

void Generator::write_manifest(std::ostream &out, const std::string &mode) const {
    Manifest::Settings s{docs_, options_.seed, options_.quirks, mode};
    manifest_->write_json(out, s, junctions_);
}

} // namespace nextcrm::gen
