// The pairs of the 10 list-backed relations, decided before the documents so
// that both sides of a pair can be written the way Prisma's `connect` does,
// or, for a few, only one side (out of sync).
#pragma once

#include "gen/plan.hpp"

#include <cstdint>
#include <vector>

namespace nextcrm::gen {

struct Adjacency {
    std::vector<std::uint32_t> offsets; // size count + 1
    std::vector<std::uint32_t> items;   // the other side's document indexes
    const std::uint32_t *begin(std::uint32_t i) const { return items.data() + offsets[i]; }
    const std::uint32_t *end(std::uint32_t i) const { return items.data() + offsets[i + 1]; }
};

struct JunctionPlan {
    const Junction *junction = nullptr;
    int a_model = 0, b_model = 0;
    Adjacency a_side; // per A document: its B partners written in A's list
    Adjacency b_side; // per B document: its A partners written in B's list
    std::uint64_t pairs = 0, one_sided = 0;
};

std::vector<JunctionPlan> plan_junctions(const Plan &plan, bool quirks);

} // namespace nextcrm::gen
