// The oplog's updates applied to BSON documents as MongoDB applies them, and
// a collection's documents with the oplog replayed over them.
#include "bson_bytes.hpp"
#include "bson_json.hpp"

#include "core/doc_transform.hpp"
#include "core/error.hpp"
#include "core/extended_json.hpp"
#include "core/id_key.hpp"
#include "core/oplog_apply.hpp"

#include <gtest/gtest.h>

namespace {

using nextcrm::BsonPtr;

std::string text(const bson_t *doc) {
    char *s = bson_as_relaxed_extended_json(doc, nullptr);
    std::string out = s;
    bson_free(s);
    return out;
}

std::string text(const BsonPtr &doc) {
    return doc ? text(doc.get()) : "(absent)";
}

bson_value_t int_id(int v) {
    bson_value_t id{};
    id.value_type = BSON_TYPE_INT32;
    id.value.v_int32 = v;
    return id;
}

std::string updated(const std::string &base, const std::string &update) {
    bson_value_t id = int_id(1);
    BsonPtr b = base.empty() ? nullptr : json(base);
    return text(nextcrm::apply_update(b.get(), &id, json(update).get()));
}

TEST(OplogApply, SetAndUnsetWithDottedPaths) {
    EXPECT_EQ(
        updated(R"({"_id": 1, "a": 1, "b": {"c": 2}})",
                R"({"$v": 1, "$set": {"a": 5, "b.d": "x", "n.m": true}, "$unset": {"b.c": 1}})"),
        R"({ "_id" : 1, "a" : 5, "b" : { "d" : "x" }, "n" : { "m" : true } })");
    EXPECT_EQ(updated(R"({"_id": 1, "l": [1, 2]})", R"({"$set": {"l.3": 9}})"),
              R"({ "_id" : 1, "l" : [ 1, 2, null, 9 ] })");
    EXPECT_EQ(updated(R"({"_id": 1, "l": [1, 2]})", R"({"$unset": {"l.0": ""}})"),
              R"({ "_id" : 1, "l" : [ null, 2 ] })");
    // Unsetting what is not there changes nothing.
    EXPECT_EQ(updated(R"({"_id": 1})", R"({"$unset": {"x.y": 1}})"), R"({ "_id" : 1 })");
}

TEST(OplogApply, ReplacementKeepsTheId) {
    EXPECT_EQ(updated(R"({"_id": 1, "a": 1})", R"({"b": 2})"), R"({ "_id" : 1, "b" : 2 })");
    EXPECT_EQ(updated(R"({"_id": 1, "a": 1})", R"({"_id": 1, "b": 2})"),
              R"({ "_id" : 1, "b" : 2 })");
    EXPECT_THROW(updated(R"({"_id": 1})", R"({"_id": 2, "b": 2})"), nextcrm::Error);
}

TEST(OplogApply, DiffV2) {
    EXPECT_EQ(updated(R"({"_id": 1, "a": 1, "b": 2, "o": {"x": 1, "y": 2}, "l": [1, 2, 3]})",
                      R"({"$v": 2, "diff": {"d": {"b": false}, "u": {"a": 10},
                          "i": {"new": "n"}, "so": {"u": {"x": 5}, "d": {"y": false}},
                          "sl": {"a": true, "l": 2, "u1": 20}}})"),
              R"({ "_id" : 1, "a" : 10, "o" : { "x" : 5 }, "l" : [ 1, 20 ], "new" : "n" })");
    // A subdiff of an array element that is an object, and an array grown.
    EXPECT_EQ(updated(R"({"_id": 1, "l": [{"k": 1}]})",
                      R"({"$v": 2, "diff": {"sl": {"a": true, "s0": {"u": {"k": 2}}, "u2": 7}}})"),
              R"({ "_id" : 1, "l" : [ { "k" : 2 }, null, 7 ] })");
}

TEST(OplogApply, FormsNotImplementedAreErrors) {
    EXPECT_THROW(updated(R"({"_id": 1, "n": 1})", R"({"$inc": {"n": 1}})"), nextcrm::Error);
    EXPECT_THROW(updated(R"({"_id": 1})", R"({"$v": 2, "diff": {"sx": {"u": {"a": 1}}}})"),
                 nextcrm::Error);
    EXPECT_THROW(updated(R"({"_id": 1})", R"({"$v": 2, "diff": {"z": {}}})"), nextcrm::Error);
    EXPECT_THROW(updated(R"({"_id": 1})", R"({"$v": 3, "diff": {}})"), nextcrm::Error);
    EXPECT_THROW(updated(R"({"_id": 1, "s": "t"})", R"({"$set": {"s.x": 1}})"), nextcrm::Error);
    EXPECT_THROW(updated(R"({"_id": 1})", R"({"$set": {"_id": 2}})"), nextcrm::Error);
}

// Entries MongoDB never writes: a diff that changes or removes the _id
// (applied, the document would move to another _id or have none), and an
// index far past an array's end (padded, the backend would allocate
// gigabytes of nulls).  Each is an error, as $set of _id is.
TEST(OplogApply, HostileEntriesAreErrors) {
    for (const char *update :
         {R"({"$v": 2, "diff": {"u": {"_id": 2}}})", R"({"$v": 2, "diff": {"d": {"_id": false}}})",
          R"({"$v": 2, "diff": {"i": {"_id": 2}}})",
          R"({"$v": 2, "diff": {"s_id": {"u": {"x": 1}}}})"}) {
        try {
            updated(R"({"_id": {"x": 0}})", update);
            ADD_FAILURE() << update << " was applied";
        } catch (const nextcrm::Error &e) {
            EXPECT_STREQ(e.what(), "the diff changes the _id") << update;
        }
    }
    for (const char *update : {R"({"$set": {"l.999999999": 1}})",
                               R"({"$v": 2, "diff": {"sl": {"a": true, "u999999999": 1}}})",
                               R"({"$v": 2, "diff": {"sl": {"a": true, "l": 999999999}}})"}) {
        try {
            updated(R"({"_id": 1, "l": [1]})", update);
            ADD_FAILURE() << update << " was applied";
        } catch (const nextcrm::Error &e) {
            std::string what = e.what();
            EXPECT_EQ(
                what.rfind("the update pads an array of 1 elements up to element 99999999", 0), 0u)
                << what;
            EXPECT_NE(what.find(", more than the 1500000 MongoDB pads"), std::string::npos) << what;
        }
    }
    // Padding within MongoDB's bound is applied.
    EXPECT_EQ(updated(R"({"_id": 1, "l": []})", R"({"$set": {"l.2": 1}})"),
              R"({ "_id" : 1, "l" : [ null, null, 1 ] })");
}

TEST(OplogApply, UpdateOfAnAbsentIdUpserts) {
    EXPECT_EQ(updated("", R"({"$set": {"a": 1}})"), R"({ "_id" : 1, "a" : 1 })");
    EXPECT_EQ(updated("", R"({"$v": 2, "diff": {"i": {"a": 1}}})"), R"({ "_id" : 1, "a" : 1 })");
}

// A collection source of fixed documents.
class ListSource : public nextcrm::DocumentSource {
  public:
    explicit ListSource(const std::vector<std::string> &docs) {
        for (const auto &d : docs)
            docs_.push_back(json(d));
    }
    const bson_t *next() override {
        if (next_ == docs_.size())
            return nullptr;
        ++count_;
        return docs_[next_++].get();
    }

  private:
    std::vector<BsonPtr> docs_;
    std::size_t next_ = 0;
};

std::shared_ptr<nextcrm::OplogReplay> oplog(const std::vector<std::string> &entries) {
    auto r = std::make_shared<nextcrm::OplogReplay>("crm");
    for (const auto &e : entries)
        r->add(json(e).get());
    return r;
}

TEST(OplogReplay, FlattensTransactionsAndKeepsOnlyTheDatabase) {
    auto r = oplog({
        R"({"op": "i", "ns": "crm.U", "o": {"_id": 1}, "ts": {"$timestamp": {"t": 5, "i": 1}}})",
        R"({"op": "n", "ns": "", "o": {"msg": "noop"}})",
        R"({"op": "i", "ns": "other.U", "o": {"_id": 2}})",
        R"({"op": "i", "ns": "crmx.U", "o": {"_id": 2}})",
        R"({"op": "c", "ns": "admin.$cmd", "o": {"applyOps": [
            {"op": "d", "ns": "crm.U", "o": {"_id": 1}},
            {"op": "i", "ns": "other.U", "o": {"_id": 3}}]}})",
        R"({"op": "c", "ns": "crm.$cmd", "o": {"drop": "U"}})",
        R"({"op": "c", "ns": "crm.$cmd", "o": {"createIndexes": "U", "indexes": []}})",
        R"({"op": "c", "ns": "crm.$cmd", "o": {"create": "V"}})",
        R"({"op": "u", "ns": "crm.U", "o": {"$set": {"a": 1}}})",
    });
    ASSERT_EQ(r->ops().size(), 6u);
    EXPECT_EQ(r->ops()[0].ts, "Timestamp(5, 1)");
    EXPECT_EQ(r->ops()[1].op, "d");
    EXPECT_EQ(r->ops()[1].position, 2);
    EXPECT_EQ(r->ops()[2].problem, "the command \"drop\" is not applied");
    EXPECT_EQ(r->ops()[2].collection, "U");
    EXPECT_FALSE(r->ops()[2].skipped);
    EXPECT_EQ(r->ops()[3].problem, "the command \"createIndexes\" changes no document");
    EXPECT_TRUE(r->ops()[3].skipped);
    EXPECT_EQ(r->ops()[4].problem, "the command \"create\" changes no document");
    EXPECT_EQ(r->ops()[4].collection, "V");
    EXPECT_TRUE(r->ops()[4].skipped);
    EXPECT_EQ(r->ops()[5].problem, "the entry names no _id");
    std::string one = nextcrm::id_key_of(json(R"({"_id": 1})").get());
    ASSERT_NE(r->ops_of("U", one), nullptr);
    EXPECT_EQ(r->ops_of("U", one)->size(), 2u);
    EXPECT_EQ(r->touched("U"), std::vector<std::string>{one});
}

// A transaction written over several entries (4.2+) is applied at its
// commit, as mongorestore's transaction buffer applies it.
TEST(OplogReplay, TransactionsOverSeveralEntriesApplyAtTheirCommit) {
    const std::string lsid = R"("lsid": {"id": {"$binary": {"base64": "AAAAAAAAAAAAAAAAAAAAAA==",
        "subType": "04"}}})";
    auto r = oplog({
        // Committed over three entries, with a write between them.
        R"({"op": "c", "ns": "admin.$cmd", "txnNumber": 1, )" + lsid +
            R"(, "ts": {"$timestamp": {"t": 1, "i": 1}}, "o": {"applyOps": [
            {"op": "i", "ns": "crm.U", "o": {"_id": 1}}], "partialTxn": true}})",
        R"({"op": "i", "ns": "crm.U", "o": {"_id": 9}, "ts": {"$timestamp": {"t": 2, "i": 1}}})",
        R"({"op": "c", "ns": "admin.$cmd", "txnNumber": 1, )" + lsid +
            R"(, "ts": {"$timestamp": {"t": 3, "i": 1}}, "o": {"applyOps": [
            {"op": "u", "ns": "crm.U", "o2": {"_id": 1}, "o": {"$set": {"a": 1}}}],
            "count": 2}})",
        // Prepared, then committed by a command.
        R"({"op": "c", "ns": "admin.$cmd", "txnNumber": 2, )" + lsid +
            R"(, "o": {"applyOps": [{"op": "i", "ns": "crm.U", "o": {"_id": 2}}],
            "prepare": true}})",
        R"({"op": "c", "ns": "admin.$cmd", "txnNumber": 2, )" + lsid +
            R"(, "ts": {"$timestamp": {"t": 5, "i": 1}}, "o": {"commitTransaction": 1}})",
        // Prepared, then aborted: nothing.
        R"({"op": "c", "ns": "admin.$cmd", "txnNumber": 3, )" + lsid +
            R"(, "o": {"applyOps": [{"op": "i", "ns": "crm.U", "o": {"_id": 3}}],
            "prepare": true}})",
        R"({"op": "c", "ns": "admin.$cmd", "txnNumber": 3, )" + lsid +
            R"(, "o": {"abortTransaction": 1}})",
        // Not committed when the oplog ends.
        R"({"op": "c", "ns": "admin.$cmd", "txnNumber": 4, )" + lsid +
            R"(, "o": {"applyOps": [{"op": "i", "ns": "crm.U", "o": {"_id": 4}}],
            "partialTxn": true}})",
    });
    r->end();
    ASSERT_EQ(r->ops().size(), 5u);
    EXPECT_EQ(r->ops()[0].source_id, nextcrm::source_id_of(json(R"({"_id": 9})").get()));
    EXPECT_EQ(r->ops()[1].ts, "Timestamp(3, 1)");
    EXPECT_EQ(r->ops()[1].op, "i");
    EXPECT_EQ(r->ops()[2].op, "u");
    EXPECT_EQ(r->ops()[3].ts, "Timestamp(5, 1)");
    for (int i = 0; i < 4; ++i)
        EXPECT_EQ(r->ops()[i].problem, "") << i;
    EXPECT_TRUE(r->ops()[4].skipped);
    EXPECT_EQ(r->ops()[4].problem, "its transaction had not committed when the oplog ends");
    std::vector<std::string> touched;
    for (int id : {9, 1, 2})
        touched.push_back(nextcrm::id_key_of(json("{\"_id\": " + std::to_string(id) + "}").get()));
    EXPECT_EQ(r->touched("U"), touched);
}

std::vector<std::string> replayed(nextcrm::ReplayedSource &s) {
    std::vector<std::string> out;
    while (const bson_t *d = s.next())
        out.push_back(text(d) + (s.failure().empty() ? "" : " FAILED"));
    return out;
}

TEST(OplogReplay, SourceAppliesDeletesUpdatesAndAppendsInserts) {
    auto r = oplog({
        R"({"op": "i", "ns": "crm.U", "o": {"_id": 10, "n": "new"}})",
        R"({"op": "d", "ns": "crm.U", "o": {"_id": 2}})",
        R"({"op": "u", "ns": "crm.U", "o": {"$v": 2, "diff": {"u": {"n": "b"}}}, "o2": {"_id": 3}})",
        R"({"op": "u", "ns": "crm.U", "o": {"$set": {"n": "up"}}, "o2": {"_id": 11}})",
        R"({"op": "i", "ns": "crm.U", "o": {"_id": 12}})",
        R"({"op": "d", "ns": "crm.U", "o": {"_id": 12}})",
        R"({"op": "u", "ns": "crm.U", "o": {"$inc": {"k": 1}}, "o2": {"_id": 1}})",
        R"({"op": "i", "ns": "crm.V", "o": {"_id": 1}})",
    });
    nextcrm::ReplayedSource s(
        std::make_unique<ListSource>(std::vector<std::string>{
            R"({"_id": 1, "n": "a"})", R"({"_id": 2})", R"({"_id": 3, "n": "c"})"}),
        r, "U");
    EXPECT_EQ(replayed(s), (std::vector<std::string>{
                               R"({ "_id" : 1, "n" : "a" } FAILED)",
                               R"({ "_id" : 3, "n" : "b" })",
                               R"({ "_id" : 10, "n" : "new" })",
                               R"({ "_id" : 11, "n" : "up" })",
                           }));
    EXPECT_EQ(s.count(), 4);
    auto records = s.take_records();
    ASSERT_EQ(records.size(), 7u); // the entry on V is not this collection's
    std::map<std::int64_t, std::string> outcome;
    for (const auto &rec : records)
        outcome[rec.position] = rec.outcome;
    EXPECT_EQ(outcome[7], "failed");
    EXPECT_EQ(outcome[2], "applied");
    EXPECT_EQ(outcome[6], "applied");
    EXPECT_TRUE(s.take_records().empty());
}

} // namespace

// A damaged dump holding an _id twice, which the oplog deletes: the first
// copy is deleted, and the second is not migrated as if nothing had happened
// to it (it was, silently, with neither the delete nor a duplicate key
// reported): it fails, naming why.  A second copy of an _id the oplog does
// not touch is left for the duplicate key to report.
TEST(OplogReplay, ASecondCopyOfAnIdTheOplogTouchesFails) {
    auto r = oplog({
        R"({"op": "d", "ns": "crm.U", "o": {"_id": 1}})",
        R"({"op": "u", "ns": "crm.U", "o": {"$set": {"n": "up"}}, "o2": {"_id": 2}})",
    });
    nextcrm::ReplayedSource s(
        std::make_unique<ListSource>(std::vector<std::string>{
            R"({"_id": 1, "n": "a"})", R"({"_id": 2, "n": "b"})", R"({"_id": 1, "n": "a"})",
            R"({"_id": 2, "n": "b"})", R"({"_id": 3})", R"({"_id": 3})"}),
        r, "U");
    EXPECT_EQ(replayed(s), (std::vector<std::string>{
                               R"({ "_id" : 2, "n" : "up" })",
                               R"({ "_id" : 1, "n" : "a" } FAILED)",
                               R"({ "_id" : 2, "n" : "b" } FAILED)",
                               R"({ "_id" : 3 })",
                               R"({ "_id" : 3 })",
                           }));
}

namespace {

std::vector<std::string> replayed_canonical(nextcrm::ReplayedSource &s) {
    std::vector<std::string> out;
    while (const bson_t *d = s.next()) {
        char *t = bson_as_canonical_extended_json(d, nullptr);
        out.push_back(std::string(t) + (s.failure().empty() ? "" : " FAILED"));
        bson_free(t);
    }
    return out;
}

} // namespace

// An entry naming the _id by an equal number of another type (NumberLong(7),
// 7.0, Decimal128 9.0 for the int32 7 and 9), or a compound _id holding one,
// addresses the dump's document, as MongoDB's _id index does; the document
// keeps its own _id bytes.  No second document, no failure.
TEST(OplogReplay, AnIdOfAnotherNumericTypeAddressesTheSameDocument) {
    auto r = oplog({
        R"({"op": "u", "ns": "crm.U", "o": {"$set": {"n": "up"}},
            "o2": {"_id": {"$numberLong": "7"}}})",
        R"({"op": "d", "ns": "crm.U", "o": {"_id": {"$numberDouble": "8.0"}}})",
        R"({"op": "i", "ns": "crm.U", "o": {"_id": {"$numberDecimal": "9.0"}, "n": "ins"}})",
        R"({"op": "u", "ns": "crm.U", "o": {"_id": {"k": {"$numberLong": "1"}}, "r": 1},
            "o2": {"_id": {"k": {"$numberDouble": "1.0"}}}})",
        R"({"op": "i", "ns": "crm.U", "o": {"_id": {"$numberLong": "20"}, "n": "new"}})",
        R"({"op": "u", "ns": "crm.U", "o": {"$v": 2, "diff": {"u": {"n": "newer"}}},
            "o2": {"_id": 20}})",
        R"({"op": "u", "ns": "crm.U", "o": {"$set": {"n": "not 7"}},
            "o2": {"_id": {"$numberDouble": "7.5"}}})",
    });
    nextcrm::ReplayedSource s(std::make_unique<ListSource>(std::vector<std::string>{
                                  R"({"_id": 7, "n": "a"})", R"({"_id": 8})",
                                  R"({"_id": 9, "n": "c"})", R"({"_id": {"k": 1}, "r": 0})"}),
                              r, "U");
    EXPECT_EQ(replayed_canonical(s),
              (std::vector<std::string>{
                  R"({ "_id" : { "$numberInt" : "7" }, "n" : "up" })",
                  R"({ "_id" : { "$numberInt" : "9" }, "n" : "ins" })",
                  R"({ "_id" : { "k" : { "$numberInt" : "1" } }, "r" : { "$numberInt" : "1" } })",
                  R"({ "_id" : { "$numberLong" : "20" }, "n" : "newer" })",
                  R"({ "_id" : { "$numberDouble" : "7.5" }, "n" : "not 7" })",
              }));
    EXPECT_EQ(s.dump_count(), 4);
    auto records = s.take_records();
    ASSERT_EQ(records.size(), 7u);
    for (const auto &rec : records)
        EXPECT_EQ(rec.outcome, "applied") << rec.position << " " << rec.reason;
    // The record names the _id as the entry spells it.
    EXPECT_EQ(records[0].source_id, R"({ "$numberLong" : "7" })");
}

// A dump document nested far past max_document_depth that entries touch:
// the entries are not applied (applying them walks the document by
// recursion, which would overflow the stack); they fail, and the document
// is an error row.
TEST(OplogReplay, ADocumentNestedWithoutBoundIsAnErrorNotAWalk) {
    const int levels = 200000;
    const std::string bytes =
        bson_document(bson_int32_element("_id", 1) +
                      std::string("\x03"
                                  "d\0",
                                  3) +
                      nested_in_a(levels, bson_document(bson_int32_element("a", 1))));

    class OneSource : public nextcrm::DocumentSource {
      public:
        explicit OneSource(const std::string &b) : bytes_(b) {}
        const bson_t *next() override {
            if (done_)
                return nullptr;
            done_ = true;
            ++count_;
            bson_init_static(&doc_, reinterpret_cast<const std::uint8_t *>(bytes_.data()),
                             bytes_.size());
            return &doc_;
        }

      private:
        std::string bytes_;
        bson_t doc_;
        bool done_ = false;
    };
    auto r = oplog({R"({"op": "u", "ns": "crm.U", "o": {"$set": {"n": "up"}}, "o2": {"_id": 1}})"});
    nextcrm::ReplayedSource s(std::make_unique<OneSource>(bytes), r, "U");
    const bson_t *doc = s.next();
    ASSERT_NE(doc, nullptr);
    EXPECT_EQ(doc->len, bytes.size()); // as the dump holds it
    EXPECT_NE(s.failure().find("nests deeper than 100 levels"), std::string::npos) << s.failure();
    EXPECT_EQ(s.next(), nullptr);
    auto records = s.take_records();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].outcome, "failed");
}

// Two dump documents whose _ids MongoDB holds equal (the int32 7 and
// NumberLong(7): a damaged or hand-made dump) and an entry on the value:
// the entry goes to the first, the second is an error row; neither is lost
// nor silently migrated in its state before the entry.  With no entry on
// them both pass through as they are.
TEST(OplogReplay, DumpDocumentsWithEqualIdsOfTwoTypesAreNotLost) {
    auto r = oplog({R"({"op": "u", "ns": "crm.U", "o": {"$set": {"n": "up"}},
                        "o2": {"_id": {"$numberDouble": "7.0"}}})"});
    nextcrm::ReplayedSource s(
        std::make_unique<ListSource>(std::vector<std::string>{
            R"({"_id": 7, "n": "a"})", R"({"_id": {"$numberLong": "7"}, "n": "b"})",
            R"({"_id": 8, "n": "c"})", R"({"_id": {"$numberLong": "8"}, "n": "d"})"}),
        r, "U");
    EXPECT_EQ(replayed_canonical(s), (std::vector<std::string>{
                                         R"({ "_id" : { "$numberInt" : "7" }, "n" : "up" })",
                                         R"({ "_id" : { "$numberLong" : "7" }, "n" : "b" } FAILED)",
                                         R"({ "_id" : { "$numberInt" : "8" }, "n" : "c" })",
                                         R"({ "_id" : { "$numberLong" : "8" }, "n" : "d" })",
                                     }));
    EXPECT_EQ(s.dump_count(), 4);
}
