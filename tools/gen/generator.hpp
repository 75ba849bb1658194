// Ties the pieces together: plan the ids and proportions, plant the quirks,
// decide the junction pairs, then build every document into a sink.
#pragma once

#include "gen/docgen.hpp"
#include "gen/sink.hpp"

#include <memory>

namespace nextcrm::gen {

class Generator {
  public:
    Generator(std::uint64_t docs, const GenOptions &options);
    // Writes all 29 collections, in schema order.
    void run(Sink &sink);
    const Plan &plan() const { return *plan_; }
    const Manifest &manifest() const { return *manifest_; }
    const std::vector<JunctionPlan> &junctions() const { return junctions_; }
    void write_manifest(std::ostream &out, const std::string &mode) const;
    std::vector<std::string> collection_names() const;

  private:
    std::uint64_t docs_;
    GenOptions options_;
    std::unique_ptr<Plan> plan_;
    std::unique_ptr<QuirkPlan> quirks_;
    std::vector<JunctionPlan> junctions_;
    std::unique_ptr<Manifest> manifest_;
};

} // namespace nextcrm::gen
