#include "gen/manifest.hpp"

#include <algorithm>
#include <cstdio>

namespace nextcrm::gen {

namespace {

std::string json_str(const std::string &s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

} // namespace

Manifest::Manifest(const Plan &plan, std::size_t junctions)
    : plan_(plan), written_(plan.collections().size()), errors_(plan.collections().size()),
      junctions_(junctions) {}

void Manifest::quirk(const std::string &kind, int model, const std::string &id,
                     const std::string &field) {
    QuirkTally &t = quirks_[kind];
    ++t.count;
    t.items.push_back({model, id, field});
}

void Manifest::quirk_count(const std::string &kind) {
    QuirkTally &t = quirks_[kind];
    ++t.count;
    t.items_kept = false;
}

void Manifest::error(int model, const std::string &id, const std::string &field,
                     const std::string &kind, const std::string &reason) {
    errors_[static_cast<std::size_t>(model)].push_back({id, field, kind, reason});
}

void Manifest::finish() {
    for (JunctionTally &j : junctions_) {
        std::sort(j.pairs.begin(), j.pairs.end());
        j.pairs.erase(std::unique(j.pairs.begin(), j.pairs.end()), j.pairs.end());
    }
}

void Manifest::write_json(std::ostream &out, const Settings &s,
                          const std::vector<JunctionPlan> &plans) const {
    const auto &colls = plan_.collections();
    out << "{\n  \"format\": \"nextcrm_gen manifest 1\",\n";
    out << "  \"docs\": " << s.docs << ",\n  \"seed\": " << s.seed << ",\n";
    out << "  \"quirks_enabled\": " << (s.quirks ? "true" : "false") << ",\n";
    out << "  \"mode\": " << json_str(s.mode) << ",\n";

    std::uint64_t error_total = 0;
    out << "  \"collections\": {";
    for (std::size_t m = 0; m < colls.size(); ++m) {
        error_total += errors_[m].size();
        out << (m ? ",\n" : "\n") << "    " << json_str(colls[m].name)
            << ": {\"documents\": " << written_[m] << ", \"errors\": " << errors_[m].size() << "}";
    }
    out << "\n  },\n";

    out << "  \"quirks\": {";
    bool first = true;
    for (const auto &[kind, t] : quirks_) {
        out << (first ? "\n" : ",\n") << "    " << json_str(kind) << ": {\"count\": " << t.count;
        first = false;
        if (t.items_kept) {
            out << ", \"items\": [";
            for (std::size_t i = 0; i < t.items.size(); ++i)
                out << (i ? ",\n      " : "\n      ") << "{\"collection\": "
                    << json_str(colls[static_cast<std::size_t>(t.items[i].model)].name)
                    << ", \"_id\": " << json_str(t.items[i].id)
                    << ", \"field\": " << json_str(t.items[i].field) << "}";
            out << "]";
        }
        out << "}";
    }
    out << "\n  },\n";

    out << "  \"junctions\": {";
    for (std::size_t i = 0; i < plans.size(); ++i) {
        const Junction &j = *plans[i].junction;
        const JunctionTally &t = junctions_[i];
        out << (i ? ",\n" : "\n") << "    " << json_str(j.label) << ": {\n";
        out << "      \"relation\": " << json_str(j.relation) << ",\n";
        out << "      \"a\": {\"collection\": " << json_str(j.a_model)
            << ", \"field\": " << json_str(j.a_field) << "},\n";
        out << "      \"b\": {\"collection\": " << json_str(j.b_model)
            << ", \"field\": " << (j.b_field.empty() ? "null" : json_str(j.b_field)) << "},\n";
        out << "      \"pairs\": " << t.pairs.size() << ",\n";
        out << "      \"one_sided_pairs\": " << plans[i].one_sided << ",\n";
        out << "      \"list_elements\": " << t.elements << ",\n";
        out << "      \"dangling_elements\": " << t.dangling << ",\n";
        out << "      \"duplicate_elements\": " << t.duplicates << ",\n";
        out << "      \"hex_string_elements\": " << t.hex_strings;
        if (s.docs <= s.pair_list_limit) {
            out << ",\n      \"pair_list\": [";
            for (std::size_t p = 0; p < t.pairs.size(); ++p) {
                bson_oid_t a, b;
                plan_.oid(plans[i].a_model, static_cast<std::uint32_t>(t.pairs[p] >> 32), &a);
                plan_.oid(plans[i].b_model, static_cast<std::uint32_t>(t.pairs[p]), &b);
                out << (p ? ",\n        " : "\n        ") << "[\"" << oid_hex(a) << "\", \""
                    << oid_hex(b) << "\"]";
            }
            out << "]";
        }
        out << "\n    }";
    }
    out << "\n  },\n";

    out << "  \"error_documents\": " << error_total << ",\n  \"errors\": {";
    first = true;
    for (std::size_t m = 0; m < colls.size(); ++m) {
        if (errors_[m].empty())
            continue;
        out << (first ? "\n" : ",\n") << "    " << json_str(colls[m].name) << ": [";
        first = false;
        for (std::size_t i = 0; i < errors_[m].size(); ++i) {
            const ErrorItem &e = errors_[m][i];
            out << (i ? ",\n      " : "\n      ") << "{\"_id\": " << json_str(e.id)
                << ", \"field\": " << json_str(e.field) << ", \"kind\": " << json_str(e.kind)
                << ", \"reason\": " << json_str(e.reason) << "}";
        }
        out << "]";
    }
    out << "\n  },\n";

    out << "  \"secrets\": {";
    first = true;
    for (const auto &[field, n] : secrets_) {
        out << (first ? "\n" : ",\n") << "    " << json_str(field) << ": " << n;
        first = false;
    }
    out << "\n  }\n}\n";
}

} // namespace nextcrm::gen
