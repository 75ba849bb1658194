// What the generator wrote, for tests of the migration to compare against.
// The format is described in tools/gen/README.md.
#pragma once

#include "gen/plan.hpp"
#include "gen/relations.hpp"

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace nextcrm::gen {

struct QuirkItem {
    int model;
    std::string id; // 24-hex ObjectId or the string `_id`
    std::string field;
};

struct QuirkTally {
    std::uint64_t count = 0;
    bool items_kept = true; // false for kinds too common to list one by one
    std::vector<QuirkItem> items;
};

struct ErrorItem {
    std::string id, field, kind, reason;
};

struct JunctionTally {
    std::vector<std::uint64_t> pairs; // (A index << 32 | B index), both ends written
    std::uint64_t elements = 0;       // list elements written, both sides
    std::uint64_t dangling = 0;       // elements naming a deleted document
    std::uint64_t duplicates = 0;     // elements repeated within one list
    std::uint64_t hex_strings = 0;    // elements stored as 24-hex strings
};

class Manifest {
  public:
    Manifest(const Plan &plan, std::size_t junctions);

    void quirk(const std::string &kind, int model, const std::string &id, const std::string &field);
    void quirk_count(const std::string &kind); // common kinds: a count, no list
    void error(int model, const std::string &id, const std::string &field, const std::string &kind,
               const std::string &reason);
    void secret(const std::string &field) { ++secrets_[field]; }
    void written(int model) { ++written_[static_cast<std::size_t>(model)]; }
    JunctionTally &junction(std::size_t i) { return junctions_[i]; }

    std::uint64_t written_count(int model) const {
        return written_[static_cast<std::size_t>(model)];
    }
    const std::map<std::string, QuirkTally> &quirks() const { return quirks_; }
    const std::vector<std::vector<ErrorItem>> &errors() const { return errors_; }
    // Sorts and deduplicates the junction pairs; call once, after generation.
    void finish();
    const std::vector<JunctionTally> &junctions() const { return junctions_; }

    struct Settings {
        std::uint64_t docs, seed;
        bool quirks;
        std::string mode;
        std::uint64_t pair_list_limit = 10000; // pairs are listed when docs <= this
    };
    void write_json(std::ostream &out, const Settings &settings,
                    const std::vector<JunctionPlan> &junctions) const;

  private:
    const Plan &plan_;
    std::vector<std::uint64_t> written_;
    std::map<std::string, QuirkTally> quirks_;
    std::vector<std::vector<ErrorItem>> errors_;
    std::vector<JunctionTally> junctions_;
    std::map<std::string, std::uint64_t> secrets_;
};

} // namespace nextcrm::gen
