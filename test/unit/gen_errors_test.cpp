// The manifest's error documents against an independent scan of the
// generated documents with the rules of the issue (requirement 6): a value
// outside its enum, a required field with no default missing, an Int that
// does not fit int4 or is no whole number, a required ref to nothing, a
// later duplicate of a unique email.  Both directions: every listed document
// breaks a rule, and every document that breaks one is listed.
#include "gen_support.hpp"

#include <gtest/gtest.h>

#include <climits>
#include <cmath>
#include <cstdlib>
#include <set>

using nextcrm::gen::Catalog;
using nextcrm::gen::Field;
using nextcrm::gen::FieldType;

namespace {

bool int_ok(const bson_iter_t *it) {
    switch (bson_iter_type(it)) {
    case BSON_TYPE_INT32:
        return true;
    case BSON_TYPE_INT64: {
        std::int64_t v = bson_iter_int64(it);
        return v >= INT_MIN && v <= INT_MAX;
    }
    case BSON_TYPE_DOUBLE: {
        double d = bson_iter_double(it);
        return std::isfinite(d) && d == std::floor(d) && d >= INT_MIN && d <= INT_MAX;
    }
    case BSON_TYPE_UTF8: {
        const char *s = bson_iter_utf8(it, nullptr);
        char *end = nullptr;
        long long v = std::strtoll(s, &end, 10);
        return *s && !*end && v >= INT_MIN && v <= INT_MAX;
    }
    case BSON_TYPE_DECIMAL128: {
        bson_decimal128_t d;
        bson_iter_decimal128(it, &d);
        char text[BSON_DECIMAL128_STRING];
        bson_decimal128_to_string(&d, text);
        char *end = nullptr;
        long long v = std::strtoll(text, &end, 10);
        return !*end && v >= INT_MIN && v <= INT_MAX;
    }
    default:
        return bson_iter_type(it) == BSON_TYPE_NULL;
    }
}

bool unique_email(const std::string &model) {
    return model == "Users";
}

} // namespace

TEST(GenErrors, ManifestErrorsMatchAnIndependentScan) {
    nextcrm::gen::GenOptions o;
    o.seed = 99;
    nextcrm::gen::Generator g(30000, o);
    gen_test::MemorySink sink;
    g.run(sink);
    const Catalog &cat = Catalog::get();

    std::map<std::string, std::vector<bson_t *>> docs;
    std::map<std::string, std::set<std::string>> ids;
    for (const auto &[name, bytes] : sink.bytes) {
        bool ok = false;
        docs[name] = gen_test::parse_docs(bytes, &ok);
        for (const bson_t *d : docs[name])
            ids[name].insert(gen_test::id_of(d));
    }

    std::set<std::pair<std::string, std::string>> found; // (collection, _id)
    for (const auto &model : cat.models()) {
        std::set<std::string> emails;
        for (const bson_t *d : docs[model.name]) {
            const std::string id = gen_test::id_of(d);
            bool bad = false;
            for (const Field &f : model.fields) {
                if (f.is_id || f.list)
                    continue;
                bson_iter_t it;
                const bool present = bson_iter_init_find(&it, d, f.key.c_str());
                if (!present) {
                    bad |= !f.optional && f.default_value.empty();
                    continue;
                }
                if (f.type == FieldType::Enum && BSON_ITER_HOLDS_UTF8(&it)) {
                    std::string v = bson_iter_utf8(&it, nullptr);
                    bool known = false;
                    for (const auto &e : *f.enum_values)
                        known |= e == v;
                    bad |= !known;
                }
                if (f.type == FieldType::Int)
                    bad |= !int_ok(&it);
                if (f.objectid && !f.optional) {
                    const std::string ref = gen_test::ref_hex(&it);
                    bool exists = ids[f.ref_target].count(ref) > 0;
                    if (model.name == "tasksComments" && f.key == "task")
                        exists |= ids["crm_Accounts_Tasks"].count(ref) > 0; // D12
                    bad |= !exists;
                }
            }
            bson_iter_t it;
            // Documents come in _id order, so a repeat is the later one.
            if (unique_email(model.name) && bson_iter_init_find(&it, d, "email") &&
                BSON_ITER_HOLDS_UTF8(&it) && !bad)
                bad |= !emails.insert(bson_iter_utf8(&it, nullptr)).second;
            if (bad)
                found.insert({model.name, id});
        }
    }

    std::set<std::pair<std::string, std::string>> listed;
    const auto &errors = g.manifest().errors();
    for (std::size_t m = 0; m < errors.size(); ++m)
        for (const auto &e : errors[m])
            listed.insert({cat.models()[m].name, e.id});
    EXPECT_GE(listed.size(), 15u);
    for (const auto &p : listed)
        EXPECT_TRUE(found.count(p))
            << p.first << " " << p.second << " is listed but breaks no rule";
    for (const auto &p : found)
        EXPECT_TRUE(listed.count(p))
            << p.first << " " << p.second << " breaks a rule but is not listed";
    gen_test::free_docs(docs);
}
