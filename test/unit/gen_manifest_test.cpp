// The manifest against a recomputation from the dump files themselves, read
// back through bson_reader: counts, junction unions, dangling elements, and
// error documents that nothing references.
#include "gen_support.hpp"

#include <gtest/gtest.h>

#include <set>

using nextcrm::gen::Catalog;
using nextcrm::gen::Generator;
using nextcrm::gen::GenOptions;

namespace {

struct Dump {
    std::string dir;
    bson_t *manifest = nullptr;
    std::map<std::string, std::vector<bson_t *>> docs;
    ~Dump() {
        gen_test::free_docs(docs);
        if (manifest)
            bson_destroy(manifest);
        gen_test::remove_dir(dir);
    }
};

void make_dump(Dump &d, std::uint64_t n, bool gzip, std::uint64_t seed) {
    d.dir = gen_test::temp_dir("manifest");
    GenOptions o;
    o.seed = seed;
    Generator g(n, o);
    {
        nextcrm::gen::DumpSink sink(d.dir, gzip);
        g.run(sink);
    }
    std::ostringstream out;
    g.write_manifest(out, "dump");
    bson_error_t err;
    const std::string text = out.str();
    d.manifest = bson_new_from_json(reinterpret_cast<const uint8_t *>(text.data()),
                                    static_cast<ssize_t>(text.size()), &err);
    ASSERT_NE(d.manifest, nullptr) << "manifest is not JSON: " << err.message;
    for (const auto &m : Catalog::get().models()) {
        const std::string base = d.dir + "/" + m.name;
        const std::string bytes =
            gzip ? gen_test::gunzip_file(base + ".bson.gz") : gen_test::read_file(base + ".bson");
        bool ok = false;
        d.docs[m.name] = gen_test::parse_docs(bytes, &ok);
        EXPECT_TRUE(ok) << m.name << ": trailing bytes after the last document";
        EXPECT_NE(
            gen_test::read_file(base + ".metadata.json").find("\"collectionName\":\"" + m.name),
            std::string::npos);
    }
}

std::int64_t manifest_int(const bson_t *m, const std::string &path) {
    bson_iter_t it, found;
    if (!bson_iter_init(&it, m) || !bson_iter_find_descendant(&it, path.c_str(), &found))
        return -1;
    return bson_iter_as_int64(&found);
}

void check(const Dump &d, bool pair_lists) {
    const Catalog &cat = Catalog::get();
    std::map<std::string, std::set<std::string>> ids;
    for (const auto &[name, docs] : d.docs) {
        for (const bson_t *doc : docs)
            ids[name].insert(gen_test::id_of(doc));
        EXPECT_EQ(ids[name].size(), docs.size()) << name << ": duplicate _id";
        EXPECT_EQ(manifest_int(d.manifest, "collections." + name + ".documents"),
                  static_cast<std::int64_t>(docs.size()))
            << name;
    }
    for (const auto &j : cat.junctions()) {
        std::set<std::pair<std::string, std::string>> pairs;
        std::int64_t dangling = 0;
        auto scan = [&](const std::string &model, const std::string &field, bool side_a) {
            const std::string &other = side_a ? j.b_model : j.a_model;
            for (const bson_t *doc : d.docs.at(model)) {
                bson_iter_t it, el;
                if (!bson_iter_init_find(&it, doc, field.c_str()) || !BSON_ITER_HOLDS_ARRAY(&it))
                    continue;
                bson_iter_recurse(&it, &el);
                const std::string self = gen_test::id_of(doc);
                while (bson_iter_next(&el)) {
                    const std::string ref = gen_test::ref_hex(&el);
                    if (!ids[other].count(ref)) {
                        ++dangling;
                        continue;
                    }
                    pairs.insert(side_a ? std::make_pair(self, ref) : std::make_pair(ref, self));
                }
            }
        };
        scan(j.a_model, j.a_field, true);
        if (!j.b_field.empty())
            scan(j.b_model, j.b_field, false);
        const std::string base = "junctions." + j.label;
        EXPECT_EQ(manifest_int(d.manifest, base + ".pairs"),
                  static_cast<std::int64_t>(pairs.size()))
            << j.label;
        EXPECT_EQ(manifest_int(d.manifest, base + ".dangling_elements"), dangling) << j.label;
        EXPECT_GT(pairs.size(), 0u) << j.label;
        if (!pair_lists)
            continue;
        bson_iter_t it, list, pair, end;
        ASSERT_TRUE(bson_iter_init(&it, d.manifest));
        ASSERT_TRUE(bson_iter_find_descendant(&it, (base + ".pair_list").c_str(), &list));
        bson_iter_recurse(&list, &pair);
        std::set<std::pair<std::string, std::string>> listed;
        while (bson_iter_next(&pair)) {
            bson_iter_recurse(&pair, &end);
            bson_iter_next(&end);
            std::string a = bson_iter_utf8(&end, nullptr);
            bson_iter_next(&end);
            listed.insert({a, bson_iter_utf8(&end, nullptr)});
        }
        EXPECT_TRUE(listed == pairs) << j.label;
    }

    // Error documents exist, and no other document points at them, so the
    // junction unions do not depend on how a migration treats them.
    std::set<std::string> error_ids;
    bson_iter_t it, colls, coll, item, field;
    ASSERT_TRUE(bson_iter_init_find(&it, d.manifest, "errors"));
    bson_iter_recurse(&it, &colls);
    while (bson_iter_next(&colls)) {
        const std::string name = bson_iter_key(&colls);
        bson_iter_recurse(&colls, &coll);
        while (bson_iter_next(&coll)) {
            bson_iter_recurse(&coll, &item);
            ASSERT_TRUE(bson_iter_find(&item, "_id"));
            std::string id = bson_iter_utf8(&item, nullptr);
            EXPECT_TRUE(ids[name].count(id)) << name << " " << id;
            error_ids.insert(id);
        }
    }
    EXPECT_GE(error_ids.size(), 10u);
    for (const auto &[name, docs] : d.docs)
        for (const bson_t *doc : docs) {
            bson_iter_t top;
            bson_iter_init(&top, doc);
            while (bson_iter_next(&top)) {
                if (std::string(bson_iter_key(&top)) == "_id")
                    continue;
                auto check_ref = [&](const bson_iter_t *v) {
                    std::string ref = gen_test::ref_hex(v);
                    EXPECT_FALSE(!ref.empty() && error_ids.count(ref))
                        << name << " " << gen_test::id_of(doc) << " references error document "
                        << ref;
                };
                if (BSON_ITER_HOLDS_ARRAY(&top)) {
                    bson_iter_recurse(&top, &field);
                    while (bson_iter_next(&field))
                        check_ref(&field);
                } else {
                    check_ref(&top);
                }
            }
        }
}

} // namespace

TEST(GenManifest, JunctionUnionsMatchTheDumpAtN2000) {
    Dump d;
    make_dump(d, 2000, false, 11);
    check(d, true);
}

TEST(GenManifest, GzipDumpRoundTripsAtN20000) {
    Dump d;
    make_dump(d, 20000, true, 12);
    check(d, false);
    EXPECT_GT(manifest_int(d.manifest, "quirks.decimal128_fraction.count"), 0);
    EXPECT_GT(manifest_int(d.manifest, "quirks.nested_array_json.count"), 0);
}

TEST(GenManifest, QuirksOffMeansNoErrorsAndNoDangling) {
    GenOptions o;
    o.quirks = false;
    Generator g(2000, o);
    gen_test::MemorySink sink;
    g.run(sink);
    for (const auto &errors : g.manifest().errors())
        EXPECT_TRUE(errors.empty());
    for (const auto &j : g.manifest().junctions()) {
        EXPECT_EQ(j.dangling, 0u);
        EXPECT_EQ(j.duplicates, 0u);
    }
    EXPECT_EQ(g.manifest().quirks().count("legacy_key"), 0u);
}
