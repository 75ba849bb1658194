// Every stored field of mongo-fields.csv (read from the source tree, not the
// copy compiled into the generator) shows up in some document at N=2000.
#include "gen_support.hpp"

#include <gtest/gtest.h>

#include <set>

TEST(GenFields, EveryStoredFieldAppearsAtN2000) {
    auto rows = nextcrm::gen::parse_csv(gen_test::read_file(NEXTCRM_FIELDS_CSV));
    ASSERT_GT(rows.size(), 400u);
    nextcrm::gen::GenOptions o;
    nextcrm::gen::Generator g(2000, o);
    gen_test::MemorySink sink;
    g.run(sink);

    std::map<std::string, std::set<std::string>> seen;
    for (const auto &[name, bytes] : sink.bytes) {
        bool ok = false;
        for (bson_t *d : gen_test::parse_docs(bytes, &ok)) {
            bson_iter_t it;
            bson_iter_init(&it, d);
            while (bson_iter_next(&it))
                seen[name].insert(bson_iter_key(&it));
            bson_destroy(d);
        }
    }
    int stored = 0;
    for (std::size_t r = 1; r < rows.size(); ++r) {
        const std::string &model = rows[r][0], &key = rows[r][2];
        if (key.empty())
            continue; // virtual relation field
        ++stored;
        EXPECT_TRUE(seen[model].count(key)) << model << "." << key << " never generated";
    }
    EXPECT_EQ(stored, 409);
}
