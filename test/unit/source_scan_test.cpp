#include "core/mapping.hpp"
#include "test_profile.hpp"
#include "core/source_scan.hpp"

#include <gtest/gtest.h>

#include "bson_json.hpp"

#include <memory>
#include <set>
#include <string>
#include <vector>

using namespace nextcrm;

namespace {

using Doc = BsonPtr;

const CollectionMapping &accounts() {
    return *nextcrm::test::nextcrm_mapping().collection("crm_Accounts");
}

std::string hex_id(int i) {
    char buf[25];
    std::snprintf(buf, sizeof buf, "65a1f0c2e4b0a1b2c3%06x", i);
    return buf;
}

Doc account(int i) {
    return json("{\"_id\": {\"$oid\": \"" + hex_id(i) + "\"}, \"name\": \"a" + std::to_string(i) +
                "\"}");
}

std::vector<std::string> sample_ids(std::uint64_t seed, int documents, std::size_t size) {
    CollectionScan scan(accounts(), size, seed);
    for (int i = 0; i < documents; ++i)
        scan.add(
            account(i).get(), [](const SourceId &) {}, [](const JunctionPair &) {});
    std::vector<std::string> ids;
    for (const auto &s : scan.sample())
        ids.push_back(s.source_id);
    return ids;
}

} // namespace

TEST(SourceScan, CountsEveryDocumentAndReportsEachId) {
    CollectionScan scan(accounts(), 0, 1);
    std::vector<SourceId> ids;
    for (int i = 0; i < 5; ++i)
        scan.add(
            account(i).get(), [&](const SourceId &id) { ids.push_back(id); },
            [](const JunctionPair &) {});
    EXPECT_EQ(scan.count(), 5);
    ASSERT_EQ(ids.size(), 5u);
    EXPECT_EQ(ids[2].source_id, hex_id(2));
    EXPECT_EQ(ids[2].uuid, uuid_text(oid_to_uuid(*parse_object_id(hex_id(2)))));
    EXPECT_TRUE(scan.sample().empty());
}

TEST(SourceScan, StringIdsAreSpelledAsCanonicalJsonAndMappedByName) {
    auto doc = json(R"({"_id": "comment-7", "name": "x"})");
    auto id = source_id_for(doc.get());
    ASSERT_TRUE(id);
    EXPECT_EQ(id->source_id, "\"comment-7\"");
    EXPECT_EQ(id->uuid, uuid_text(text_id_to_uuid("comment-7")));
    EXPECT_FALSE(source_id_for(json(R"({"name": "no id"})").get()));
}

TEST(SourceScan, JunctionPairsPutEachIdInItsColumn) {
    // crm_Accounts.documentsIDs lists Documents (column A of
    // _DocumentsToAccounts); the account's own id goes to B.
    auto doc =
        json("{\"_id\": {\"$oid\": \"" + hex_id(1) + "\"}, \"documentsIDs\": [{\"$oid\": \"" +
             hex_id(9) + "\"}, \"" + hex_id(8) + "\", \"not an id\", 5], \"watchers\": []}");
    CollectionScan scan(accounts(), 0, 1);
    std::vector<JunctionPair> pairs;
    scan.add(
        doc.get(), [](const SourceId &) {}, [&](const JunctionPair &p) { pairs.push_back(p); });
    ASSERT_EQ(pairs.size(), 2u); // the 24-hex string counts, the others do not
    const std::string own = uuid_text(oid_to_uuid(*parse_object_id(hex_id(1))));
    EXPECT_EQ(pairs[0].junction, "_DocumentsToAccounts");
    EXPECT_EQ(pairs[0].a, uuid_text(oid_to_uuid(*parse_object_id(hex_id(9)))));
    EXPECT_EQ(pairs[0].b, own);
    EXPECT_EQ(pairs[1].a, uuid_text(oid_to_uuid(*parse_object_id(hex_id(8)))));
}

TEST(SourceScan, SampleIsReproducibleForASeedAndUniformlyDrawn) {
    auto first = sample_ids(42, 1000, 10);
    EXPECT_EQ(first.size(), 10u);
    EXPECT_EQ(first, sample_ids(42, 1000, 10));
    EXPECT_NE(first, sample_ids(43, 1000, 10));
    // Not just the first documents: reservoir sampling reaches the end.
    std::set<std::string> seen;
    for (std::uint64_t seed = 0; seed < 50; ++seed)
        for (const auto &id : sample_ids(seed, 1000, 10))
            seen.insert(id);
    EXPECT_GT(seen.size(), 300u);
    bool late = false;
    for (const auto &id : seen)
        late |= id > hex_id(900);
    EXPECT_TRUE(late);
}

TEST(SourceScan, SampleLargerThanTheCollectionTakesEveryDocumentWhole) {
    CollectionScan scan(accounts(), 100, 7);
    for (int i = 0; i < 3; ++i)
        scan.add(
            account(i).get(), [](const SourceId &) {}, [](const JunctionPair &) {});
    auto sample = scan.sample();
    ASSERT_EQ(sample.size(), 3u);
    EXPECT_EQ(sample[0].source_id, hex_id(0));
    EXPECT_NE(sample[0].json.find("\"name\" : \"a0\""), std::string::npos) << sample[0].json;
    EXPECT_NE(sample[0].json.find("\"$oid\" : \"" + hex_id(0) + "\""), std::string::npos);
}

TEST(SourceScan, SeedFromDoubleDistinguishesSeeds) {
    EXPECT_EQ(seed_from_double(0.5), seed_from_double(0.5));
    EXPECT_NE(seed_from_double(1), seed_from_double(2));
}

TEST(SourceScan, AwkwardDocumentsAreReportedNeverSampledAndNeverStopTheScan) {
    CollectionScan scan(accounts(), 100, 7);
    std::vector<SourceId> ids;
    std::vector<AwkwardDocument> awkward;
    auto add = [&](const bson_t *doc) {
        scan.add(
            doc, [&](const SourceId &id) { ids.push_back(id); }, [](const JunctionPair &) {},
            [&](const AwkwardDocument &a) { awkward.push_back(a); });
    };
    bson_oid_t oid;
    // A NUL in a string, a key that is not UTF-8, a repeated key, 5000 levels.
    Doc nul(bson_new());
    bson_oid_init_from_string(&oid, hex_id(1).c_str());
    BSON_APPEND_OID(nul.get(), "_id", &oid);
    bson_append_utf8(nul.get(), "description", 11, "line1\0line2", 11);
    add(nul.get());
    Doc key(bson_new());
    bson_oid_init_from_string(&oid, hex_id(2).c_str());
    BSON_APPEND_OID(key.get(), "_id", &oid);
    bson_append_utf8(key.get(), "legacy_\xff", 8, "x", 1);
    add(key.get());
    Doc twice(bson_new());
    bson_oid_init_from_string(&oid, hex_id(3).c_str());
    BSON_APPEND_OID(twice.get(), "_id", &oid);
    BSON_APPEND_UTF8(twice.get(), "name", "Initial Value");
    BSON_APPEND_UTF8(twice.get(), "name", "Changed Value");
    add(twice.get());
    BsonPtr inner(bson_new());
    for (int i = 0; i < 5000; ++i) {
        BsonPtr outer(bson_new());
        BSON_APPEND_DOCUMENT(outer.get(), "d", inner.get());
        inner = std::move(outer);
    }
    Doc deep(bson_new());
    bson_oid_init_from_string(&oid, hex_id(4).c_str());
    BSON_APPEND_OID(deep.get(), "_id", &oid);
    BSON_APPEND_DOCUMENT(deep.get(), "tags", inner.get());
    add(deep.get());
    // A string _id that is not UTF-8: no JSON spelling, no UUID.
    Doc bad_id(bson_new());
    bson_append_utf8(bad_id.get(), "_id", 3, "\xff", 1);
    add(bad_id.get());
    add(account(5).get());

    EXPECT_EQ(scan.count(), 6);
    EXPECT_EQ(ids.size(), 5u); // every readable _id, for the accounting checks
    ASSERT_EQ(awkward.size(), 5u);
    EXPECT_EQ(awkward[0].source_id, hex_id(1));
    EXPECT_NE(awkward[0].reason.find("NUL character in \"description\""), std::string::npos);
    EXPECT_NE(awkward[1].reason.find("legacy_\\xff"), std::string::npos);
    EXPECT_NE(awkward[2].reason.find("\"name\" appears more than once"), std::string::npos);
    EXPECT_NE(awkward[3].reason.find("deeper than 100 levels"), std::string::npos);
    EXPECT_TRUE(awkward[4].uuid.empty());
    auto sample = scan.sample();
    ASSERT_EQ(sample.size(), 1u);
    EXPECT_EQ(sample[0].source_id, hex_id(5));
}

TEST(SourceScan, SampleTypesEveryNumber) {
    CollectionScan scan(accounts(), 10, 7);
    Doc doc = json("{\"_id\": {\"$oid\": \"" + hex_id(1) +
                   "\"}, \"n\": 19.99, \"i\": 3, \"l\": {\"$numberLong\": \"5\"}}");
    scan.add(
        doc.get(), [](const SourceId &) {}, [](const JunctionPair &) {});
    auto sample = scan.sample();
    ASSERT_EQ(sample.size(), 1u);
    EXPECT_NE(sample[0].json.find("\"n\" : { \"$numberDouble\" : \"19.99\" }, \"i\" : { "
                                  "\"$numberInt\" : \"3\" }, \"l\" : { \"$numberLong\" : \"5\" }"),
              std::string::npos)
        << sample[0].json;
}
