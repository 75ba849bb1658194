#include "gen/relations.hpp"

#include <algorithm>

namespace nextcrm::gen {

namespace {

Adjacency build(std::uint32_t count, std::vector<std::pair<std::uint32_t, std::uint32_t>> &edges) {
    std::sort(edges.begin(), edges.end());
    Adjacency adj;
    adj.offsets.assign(count + 1, 0);
    for (const auto &e : edges)
        ++adj.offsets[e.first + 1];
    for (std::uint32_t i = 0; i < count; ++i)
        adj.offsets[i + 1] += adj.offsets[i];
    adj.items.reserve(edges.size());
    for (const auto &e : edges)
        adj.items.push_back(e.second);
    return adj;
}

} // namespace

std::vector<JunctionPlan> plan_junctions(const Plan &plan, bool quirks) {
    const Catalog &catalog = Catalog::get();
    std::vector<JunctionPlan> out;
    std::uint64_t stream = 0;
    for (const Junction &j : catalog.junctions()) {
        JunctionPlan jp;
        jp.junction = &j;
        jp.a_model = catalog.model_index(j.a_model);
        jp.b_model = catalog.model_index(j.b_model);
        const CollectionPlan &a = plan.at(jp.a_model), &b = plan.at(jp.b_model);
        Rng rng(plan.seed(), 5000 + stream++, 13);
        std::vector<std::pair<std::uint32_t, std::uint32_t>> pairs;
        // A geometric number of partners per A document, mean `mean_degree`.
        const double more = j.mean_degree / (1.0 + j.mean_degree);
        for (std::uint32_t i = 0; i < a.count; ++i) {
            if (a.isolated[i])
                continue;
            for (int k = 0; k < 8 && rng.chance(more); ++k)
                pairs.emplace_back(i, plan.pick(jp.b_model, rng));
        }
        std::sort(pairs.begin(), pairs.end());
        pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
        std::vector<std::pair<std::uint32_t, std::uint32_t>> a_edges, b_edges;
        for (const auto &p : pairs) {
            if (b.isolated[p.second])
                continue;
            ++jp.pairs;
            // Prisma's connect writes both lists; old data and direct writes
            // left some pairs on one side only.
            int where = 0; // 0 both, 1 A only, 2 B only
            if (j.b_field.empty())
                where = 1;
            else if (quirks && rng.chance(0.08))
                where = rng.chance(0.5) ? 1 : 2;
            if (where != 0)
                ++jp.one_sided;
            if (where != 2)
                a_edges.emplace_back(p.first, p.second);
            if (where != 1)
                b_edges.emplace_back(p.second, p.first);
        }
        jp.a_side = build(a.count, a_edges);
        jp.b_side = build(b.count, b_edges);
        out.push_back(std::move(jp));
    }
    return out;
}

} // namespace nextcrm::gen
