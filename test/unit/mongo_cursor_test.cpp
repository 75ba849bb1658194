// MongoCursorSource against the rig's FerretDB (scripts/test exports
// MONGO_URI before the unit suite).  Without a server these tests fail: the
// cursor source cannot be tested without one.
#include "core/document_source.hpp"
#include "core/error.hpp"
#include "core/query_builder.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

class MongoCursor : public ::testing::Test {
  protected:
    void SetUp() override {
        const char *uri = std::getenv("MONGO_URI");
        ASSERT_NE(uri, nullptr) << "MONGO_URI is not set: run the unit suite through scripts/test";
        nextcrm::SourceOptions opts;
        opts.uri = uri;
        opts.database = db_;
        opts.server_selection_timeout_ms = 3000;
        client_ = std::make_unique<nextcrm::Client>(opts);
        nextcrm::CollectionPtr coll(
            mongoc_client_get_collection(client_->raw(), db_.c_str(), "docs"));
        bson_error_t err;
        mongoc_collection_drop(coll.get(), &err); // absent on the first run
        std::vector<nextcrm::BsonPtr> docs;
        std::vector<const bson_t *> ptrs;
        for (int i = 0; i < 250; ++i) {
            docs.emplace_back(
                BCON_NEW("_id", BCON_INT32(i), "n", BCON_INT32(i % 10), "s", BCON_UTF8("x")));
            ptrs.push_back(docs.back().get());
        }
        ASSERT_TRUE(mongoc_collection_insert_many(coll.get(), ptrs.data(), ptrs.size(), nullptr,
                                                  nullptr, &err))
            << err.message;
    }

    void TearDown() override {
        if (!client_)
            return;
        std::unique_ptr<mongoc_database_t, nextcrm::DatabaseDeleter> db(
            mongoc_client_get_database(client_->raw(), db_.c_str()));
        bson_error_t err;
        mongoc_database_drop(db.get(), &err);
    }

    std::vector<int> ids(nextcrm::DocumentSource &src, bool projected = false) {
        std::vector<int> out;
        while (const bson_t *doc = src.next()) {
            bson_iter_t it;
            if (projected) {
                EXPECT_FALSE(bson_iter_init_find(&it, doc, "s"));
            }
            EXPECT_TRUE(bson_iter_init_find(&it, doc, "_id"));
            out.push_back(bson_iter_int32(&it));
        }
        return out;
    }

    std::string db_ = "unit_cursor_" + std::to_string(getpid());
    std::unique_ptr<nextcrm::Client> client_;
};

} // namespace

TEST_F(MongoCursor, FilterProjectionSortLimitAndSmallBatches) {
    nextcrm::QuerySpec q;
    q.filter = nextcrm::from_json(R"({"n": {"$gte": 7}})");
    q.projection = nextcrm::build_projection({"n"});
    q.sort = nextcrm::build_sort({{"_id", false}});
    q.limit = 30;
    q.batch_size = 7;
    nextcrm::MongoCursorSource src(client_->raw(), db_, "docs", q);
    std::vector<int> got = ids(src, true);
    ASSERT_EQ(got.size(), 30u);
    EXPECT_EQ(got.front(), 249);
    EXPECT_EQ(got.back(), 157); // ten tens of 7, 8, 9 downwards from 249
    EXPECT_EQ(src.count(), 30);
}

TEST_F(MongoCursor, ResumesAfterTheLastId) {
    nextcrm::QuerySpec q;
    q.filter = nextcrm::from_json(R"({"n": 3})");
    bson_value_t last;
    last.value_type = BSON_TYPE_INT32;
    last.value.v_int32 = 203;
    q.resume_after_id = nextcrm::OwnedValue(&last);
    nextcrm::MongoCursorSource src(client_->raw(), db_, "docs", q);
    EXPECT_EQ(ids(src), (std::vector<int>{213, 223, 233, 243}));
}

TEST_F(MongoCursor, AServerErrorIsThrownNotAnEnd) {
    nextcrm::QuerySpec q;
    q.filter = nextcrm::from_json(R"({"n": {"$nosuchoperator": 1}})");
    nextcrm::MongoCursorSource src(client_->raw(), db_, "docs", q);
    EXPECT_THROW(src.next(), nextcrm::Error);
}
