#include "gen/plan.hpp"

#include "gen/embedded.hpp"

#include <algorithm>
#include <stdexcept>

namespace nextcrm::gen {

namespace {

constexpr std::int64_t kEpochStart = 1688169600; // 2023-07-01, first NextCRM schema
constexpr std::int64_t kEpochEnd = 1743379200;   // 2025-03-31, last Mongo-era schema

// Proportions of a busy NextCRM deployment: CRM records, tasks, comments and
// documents dominate; lookup and configuration collections stay tiny.
struct Share {
    const char *name;
    int per_mille;     // share of the documents left after the fixed collections
    std::uint32_t min; // also the count of a fixed collection (per_mille 0)
    const char *seed_file;
    std::int64_t start; // when the model appeared (SOURCE-SCHEMA 9b)
};

const Share kShares[] = {
    {"crm_Accounts", 80, 2, nullptr, kEpochStart},
    {"crm_Leads", 60, 2, nullptr, kEpochStart},
    {"crm_Opportunities", 50, 2, nullptr, kEpochStart},
    {"crm_campaigns", 0, 0, "crm_campaigns.json", 1696377600},
    {"crm_Opportunities_Sales_Stages", 0, 0, "crm_Opportunities_Sales_Stages.json", kEpochStart},
    {"crm_Opportunities_Type", 0, 0, "crm_Opportunities_Type.json", kEpochStart},
    {"crm_Contacts", 150, 2, nullptr, kEpochStart},
    {"crm_Contracts", 20, 2, nullptr, 1717200000},
    {"Boards", 4, 3, nullptr, kEpochStart},
    {"Employees", 5, 2, nullptr, kEpochStart},
    {"ImageUpload", 6, 1, nullptr, kEpochStart},
    {"MyAccount", 0, 1, nullptr, 1691798400},
    {"Invoices", 40, 2, nullptr, kEpochStart},
    {"invoice_States", 0, 4, nullptr, kEpochStart},
    {"Documents", 150, 4, nullptr, kEpochStart},
    {"Documents_Types", 0, 4, nullptr, kEpochStart},
    {"Sections", 15, 4, nullptr, kEpochStart},
    {"crm_Industry_Type", 0, 0, "crm_Industry_Type.json", kEpochStart},
    {"modulStatus", 0, 3, nullptr, kEpochStart},
    {"Tasks", 200, 4, nullptr, kEpochStart},
    {"crm_Accounts_Tasks", 45, 2, nullptr, 1693699200},
    {"tasksComments", 150, 3, nullptr, kEpochStart},
    {"TodoList", 15, 2, nullptr, kEpochStart},
    {"Users", 6, 8, nullptr, kEpochStart},
    {"system_Modules_Enabled", 0, 0, "system_Modules_Enabled.json", kEpochStart},
    {"secondBrain_notions", 2, 1, nullptr, kEpochStart},
    {"openAi_keys", 2, 1, nullptr, 1699142400},
    {"systemServices", 0, 3, nullptr, 1699228800},
    {"gpt_models", 0, 0, "gpt_Models.json", kEpochStart},
};

const Share &share_of(const std::string &name) {
    for (const Share &s : kShares)
        if (name == s.name)
            return s;
    throw std::runtime_error("no proportion known for collection " + name);
}

} // namespace

std::vector<std::vector<std::uint8_t>> seed_records(const std::string &collection) {
    const Share &share = share_of(collection);
    std::vector<std::vector<std::uint8_t>> out;
    if (!share.seed_file)
        return out;
    std::string text = "{\"records\": " + embedded_file(share.seed_file) + "}";
    bson_error_t err;
    bson_t *whole = bson_new_from_json(reinterpret_cast<const uint8_t *>(text.data()),
                                       static_cast<ssize_t>(text.size()), &err);
    if (!whole)
        throw std::runtime_error(std::string(share.seed_file) + ": " + err.message);
    bson_iter_t it, rec;
    if (bson_iter_init_find(&it, whole, "records") && bson_iter_recurse(&it, &rec)) {
        while (bson_iter_next(&rec)) {
            bson_iter_t field;
            bson_iter_recurse(&rec, &field);
            bson_t doc = BSON_INITIALIZER;
            while (bson_iter_next(&field)) {
                std::string key = bson_iter_key(&field);
                if (key == "v")
                    key = "__v";
                bson_append_iter(&doc, key.c_str(), static_cast<int>(key.size()), &field);
            }
            const uint8_t *data = bson_get_data(&doc);
            out.emplace_back(data, data + doc.len);
            bson_destroy(&doc);
        }
    }
    bson_destroy(whole);
    return out;
}

Plan::Plan(const Catalog &catalog, std::uint64_t docs, std::uint64_t seed) : seed_(seed) {
    std::uint64_t fixed = 0, extras = docs / 200000;
    int weights = 0;
    for (const Model &m : catalog.models()) {
        const Share &s = share_of(m.name);
        CollectionPlan c;
        c.name = m.name;
        c.model = m.index;
        c.start_s = s.start;
        c.span_s = kEpochEnd - s.start;
        c.machine = hash_str(m.name, mix64(seed)) & 0xffffffffffULL;
        if (s.seed_file) {
            c.seed_records = static_cast<std::uint32_t>(seed_records(m.name).size());
            // Admins add a few of their own to the lookups on big deployments.
            bool grows = m.name == "crm_Industry_Type" || m.name == "crm_campaigns";
            c.count = c.seed_records + (grows ? static_cast<std::uint32_t>(extras) : 0);
        } else if (s.per_mille == 0) {
            c.count = s.min;
        }
        if (s.per_mille == 0)
            fixed += c.count;
        weights += s.per_mille;
        colls_.push_back(std::move(c));
    }
    std::uint64_t minimum = fixed;
    for (const CollectionPlan &c : colls_)
        if (share_of(c.name).per_mille > 0)
            minimum += share_of(c.name).min;
    if (docs < std::max<std::uint64_t>(minimum, 100))
        throw std::runtime_error("--docs must be at least " +
                                 std::to_string(std::max<std::uint64_t>(minimum, 100)));
    const std::uint64_t rest = docs - fixed;
    std::uint64_t total = fixed;
    for (CollectionPlan &c : colls_) {
        const Share &s = share_of(c.name);
        if (s.per_mille == 0)
            continue;
        std::uint64_t n =
            rest * static_cast<std::uint64_t>(s.per_mille) / static_cast<std::uint64_t>(weights);
        c.count = static_cast<std::uint32_t>(std::max<std::uint64_t>(n, s.min));
        total += c.count;
    }
    // Settle rounding on the largest scaled collections so the sum is exact.
    std::vector<CollectionPlan *> order;
    for (CollectionPlan &c : colls_)
        if (share_of(c.name).per_mille > 0)
            order.push_back(&c);
    std::sort(order.begin(), order.end(),
              [](const CollectionPlan *a, const CollectionPlan *b) { return a->count > b->count; });
    for (std::size_t i = 0; total != docs; i = (i + 1) % order.size()) {
        CollectionPlan &c = *order[i];
        if (total < docs) {
            ++c.count;
            ++total;
        } else if (c.count > share_of(c.name).min) {
            --c.count;
            --total;
        }
    }
    for (CollectionPlan &c : colls_) {
        if (c.count >= (1u << 24) - (1u << 20))
            throw std::runtime_error("too many documents for one collection");
        c.isolated.assign(c.count, 0);
    }
}

std::int64_t Plan::oid_seconds(int model, std::uint32_t index) const {
    const CollectionPlan &c = at(model);
    if (index < c.seed_records)
        return c.start_s + index;
    if (index >= c.count) // deleted: somewhere in the collection's lifetime
        return c.start_s + static_cast<std::int64_t>(mix64(c.machine + index) %
                                                     static_cast<std::uint64_t>(c.span_s));
    const std::uint64_t k = index - c.seed_records, n = c.count - c.seed_records;
    return c.start_s + c.seed_records +
           static_cast<std::int64_t>(k * static_cast<std::uint64_t>(c.span_s - c.seed_records) / n);
}

void Plan::oid(int model, std::uint32_t index, bson_oid_t *out) const {
    const CollectionPlan &c = at(model);
    const auto seconds = static_cast<std::uint32_t>(oid_seconds(model, index));
    std::uint8_t b[12];
    for (int i = 0; i < 4; ++i)
        b[i] = static_cast<std::uint8_t>(seconds >> (24 - 8 * i));
    for (int i = 0; i < 5; ++i)
        b[4 + i] = static_cast<std::uint8_t>(c.machine >> (32 - 8 * i));
    for (int i = 0; i < 3; ++i)
        b[9 + i] = static_cast<std::uint8_t>(index >> (16 - 8 * i));
    bson_oid_init_from_data(out, b);
}

std::uint32_t Plan::ghost(int model, Rng &rng) const {
    const CollectionPlan &c = at(model);
    return c.count + static_cast<std::uint32_t>(rng.below(c.count / 50 + 3));
}

std::uint32_t Plan::pick(int model, Rng &rng) const {
    const CollectionPlan &c = at(model);
    auto i = static_cast<std::uint32_t>(rng.below(c.count));
    for (std::uint32_t tries = 0; tries < c.count && c.isolated[i]; ++tries)
        i = (i + 1) % c.count;
    return i;
}

std::string oid_hex(const bson_oid_t &oid) {
    char hex[25];
    bson_oid_to_string(&oid, hex);
    return hex;
}

} // namespace nextcrm::gen
