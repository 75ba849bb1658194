#include "gen_support.hpp"

#include <gtest/gtest.h>

#include <cmath>

using nextcrm::gen::Generator;
using nextcrm::gen::GenOptions;

namespace {

std::map<std::string, std::string> generate(std::uint64_t docs, std::uint64_t seed, bool quirks,
                                            bool dump = true) {
    GenOptions o;
    o.seed = seed;
    o.quirks = quirks;
    o.dump = dump;
    Generator g(docs, o);
    gen_test::MemorySink sink;
    g.run(sink);
    return sink.bytes;
}

std::string manifest_text(std::uint64_t docs, std::uint64_t seed) {
    GenOptions o;
    o.seed = seed;
    Generator g(docs, o);
    gen_test::MemorySink sink;
    g.run(sink);
    std::ostringstream out;
    g.write_manifest(out, "dump");
    return out.str();
}

} // namespace

TEST(GenDeterminism, SameSeedSameBytes) {
    auto a = generate(3000, 42, true), b = generate(3000, 42, true);
    ASSERT_EQ(a.size(), 29u);
    EXPECT_TRUE(a == b);
    EXPECT_EQ(manifest_text(3000, 42), manifest_text(3000, 42));
}

TEST(GenDeterminism, OtherSeedOtherBytes) {
    auto a = generate(1000, 1, true), b = generate(1000, 2, true);
    EXPECT_FALSE(a.at("crm_Contacts") == b.at("crm_Contacts"));
}

TEST(GenDeterminism, DumpFileEqualsMemory) {
    const std::string dir = gen_test::temp_dir("det");
    GenOptions o;
    o.seed = 7;
    {
        Generator g(1500, o);
        nextcrm::gen::DumpSink sink(dir, false);
        g.run(sink);
    }
    auto mem = generate(1500, 7, true);
    for (const auto &[name, bytes] : mem)
        EXPECT_TRUE(gen_test::read_file(dir + "/" + name + ".bson") == bytes) << name;
    gen_test::remove_dir(dir);
}

// FerretDB cannot hold the dump-only shapes; everything else is the same in
// both modes, so tests may compare a dump run with a server run.
TEST(GenDeterminism, ServerModeDiffersOnlyInDumpOnlyDocuments) {
    auto dump = generate(20000, 5, true, true), server = generate(20000, 5, true, false);
    EXPECT_FALSE(dump.at("crm_Opportunities") == server.at("crm_Opportunities"));
    for (const auto &[name, bytes] : dump) {
        if (name != "crm_Opportunities" && name != "Invoices" && name != "crm_Accounts_Tasks") {
            EXPECT_TRUE(bytes == server.at(name)) << name;
        }
    }
    bool ok = false;
    for (const auto &[name, bytes] : server) {
        auto docs = gen_test::parse_docs(bytes, &ok);
        for (bson_t *d : docs) {
            bson_iter_t it;
            // No Decimal128 or NaN may reach FerretDB.
            ASSERT_TRUE(bson_iter_init(&it, d));
            while (bson_iter_next(&it)) {
                EXPECT_NE(bson_iter_type(&it), BSON_TYPE_DECIMAL128) << name;
                if (BSON_ITER_HOLDS_DOUBLE(&it)) {
                    EXPECT_FALSE(std::isnan(bson_iter_double(&it))) << name;
                }
            }
            bson_destroy(d);
        }
    }
}
