// nextcrm_bench: generated NextCRM-like documents for tests and the scan
// benchmark, and raw drains to compare foreign scans against.
//
//   nextcrm_bench load URI DB COLLECTION N    drop COLLECTION, insert N documents
//   nextcrm_bench dump DIR COLLECTION N       write DIR/COLLECTION.bson with the same N
//   nextcrm_bench drain-mongo URI DB COLLECTION
//   nextcrm_bench drain-dump FILE
//
// The drains read every document with libmongoc (batches of 1000, or
// $NEXTCRM_BATCH_SIZE) or
// bson_reader and print "<documents> <seconds>".
//
// Document i: _id ObjectId (from i), name "Account i", email (missing when
// i % 10 == 3), status "Active"/"Inactive"/null by i % 3, amount int32
// i % 1000 (null when i % 7 == 0), big int64 i * 1000003, score double
// i / 8.0, active bool (i % 2), createdAt date, tags ["t<i%5>", "x"].
#include <mongoc/mongoc.h>

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct BsonDeleter {
    void operator()(bson_t *b) const { bson_destroy(b); }
};
using BsonPtr = std::unique_ptr<bson_t, BsonDeleter>;

BsonPtr make_document(long i) {
    BsonPtr d(bson_new());
    bson_t *b = d.get();
    bson_oid_t oid;
    uint8_t bytes[12] = {0x65, 0x10, 0, 0, 0, 0, 0, 0};
    for (int k = 0; k < 4; ++k)
        bytes[8 + k] = static_cast<uint8_t>(i >> (8 * (3 - k)));
    bson_oid_init_from_data(&oid, bytes);
    BSON_APPEND_OID(b, "_id", &oid);
    BSON_APPEND_UTF8(b, "name", ("Account " + std::to_string(i)).c_str());
    if (i % 10 != 3)
        BSON_APPEND_UTF8(b, "email", ("user" + std::to_string(i) + "@example.com").c_str());
    if (i % 3 == 0)
        BSON_APPEND_UTF8(b, "status", "Active");
    else if (i % 3 == 1)
        BSON_APPEND_UTF8(b, "status", "Inactive");
    else
        BSON_APPEND_NULL(b, "status");
    if (i % 7 == 0)
        BSON_APPEND_NULL(b, "amount");
    else
        BSON_APPEND_INT32(b, "amount", static_cast<int32_t>(i % 1000));
    BSON_APPEND_INT64(b, "big", static_cast<int64_t>(i) * 1000003);
    BSON_APPEND_DOUBLE(b, "score", static_cast<double>(i) / 8.0);
    BSON_APPEND_BOOL(b, "active", i % 2 == 1);
    BSON_APPEND_DATE_TIME(b, "createdAt", 1700000000000LL + i * 60000LL);
    bson_t tags;
    BSON_APPEND_ARRAY_BEGIN(b, "tags", &tags);
    BSON_APPEND_UTF8(&tags, "0", ("t" + std::to_string(i % 5)).c_str());
    BSON_APPEND_UTF8(&tags, "1", "x");
    bson_append_array_end(b, &tags);
    return d;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void load(const char *uri_text, const char *db, const char *coll_name, long n) {
    bson_error_t err;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(uri_text, &err);
    if (!uri)
        throw std::runtime_error(err.message);
    mongoc_client_t *client = mongoc_client_new_from_uri(uri);
    mongoc_collection_t *coll = mongoc_client_get_collection(client, db, coll_name);
    if (!mongoc_collection_drop(coll, &err) && !strstr(err.message, "ns not found") &&
        !strstr(err.message, "not exist") && err.code != 26)
        throw std::runtime_error(std::string("drop: ") + err.message);
    for (long start = 0; start < n; start += 1000) {
        std::vector<BsonPtr> docs;
        std::vector<const bson_t *> ptrs;
        for (long i = start; i < std::min(n, start + 1000); ++i) {
            docs.push_back(make_document(i));
            ptrs.push_back(docs.back().get());
        }
        if (!mongoc_collection_insert_many(coll, ptrs.data(), ptrs.size(), nullptr, nullptr, &err))
            throw std::runtime_error(std::string("insert: ") + err.message);
    }
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(client);
    mongoc_uri_destroy(uri);
}

void dump(const std::string &dir, const std::string &coll, long n) {
    std::string path = dir + "/" + coll + ".bson";
    FILE *f = std::fopen(path.c_str(), "wb");
    if (!f)
        throw std::runtime_error("cannot write " + path);
    for (long i = 0; i < n; ++i) {
        BsonPtr d = make_document(i);
        std::fwrite(bson_get_data(d.get()), 1, d->len, f);
    }
    if (std::fclose(f))
        throw std::runtime_error("cannot write " + path);
}

void drain_mongo(const char *uri_text, const char *db, const char *coll_name) {
    bson_error_t err;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(uri_text, &err);
    if (!uri)
        throw std::runtime_error(err.message);
    mongoc_client_t *client = mongoc_client_new_from_uri(uri);
    mongoc_collection_t *coll = mongoc_client_get_collection(client, db, coll_name);
    bson_t filter = BSON_INITIALIZER;
    const char *batch = std::getenv("NEXTCRM_BATCH_SIZE");
    bson_t *opts = BCON_NEW("batchSize", BCON_INT32(batch ? std::atoi(batch) : 1000));
    auto start = std::chrono::steady_clock::now();
    mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(coll, &filter, opts, nullptr);
    const bson_t *doc;
    long count = 0;
    while (mongoc_cursor_next(cursor, &doc))
        ++count;
    if (mongoc_cursor_error(cursor, &err))
        throw std::runtime_error(err.message);
    double secs = seconds_since(start);
    std::printf("%ld %.3f\n", count, secs);
    mongoc_cursor_destroy(cursor);
    bson_destroy(opts);
    bson_destroy(&filter);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(client);
    mongoc_uri_destroy(uri);
}

void drain_dump(const char *path) {
    auto start = std::chrono::steady_clock::now();
    bson_error_t err;
    bson_reader_t *reader = bson_reader_new_from_file(path, &err);
    if (!reader)
        throw std::runtime_error(err.message);
    bool eof = false;
    long count = 0;
    while (bson_reader_read(reader, &eof))
        ++count;
    bson_reader_destroy(reader);
    if (!eof)
        throw std::runtime_error("corrupt dump file");
    std::printf("%ld %.3f\n", count, seconds_since(start));
}

} // namespace

int main(int argc, char **argv) {
    mongoc_init();
    int status = 0;
    try {
        std::string cmd = argc > 1 ? argv[1] : "";
        if (cmd == "load" && argc == 6)
            load(argv[2], argv[3], argv[4], std::stol(argv[5]));
        else if (cmd == "dump" && argc == 5)
            dump(argv[2], argv[3], std::stol(argv[4]));
        else if (cmd == "drain-mongo" && argc == 5)
            drain_mongo(argv[2], argv[3], argv[4]);
        else if (cmd == "drain-dump" && argc == 3)
            drain_dump(argv[2]);
        else {
            std::fprintf(stderr, "usage: see the comment at the top of tools/nextcrm_bench.cpp\n");
            status = 2;
        }
    } catch (const std::exception &e) {
        std::fprintf(stderr, "nextcrm_bench: %s\n", e.what());
        status = 1;
    }
    mongoc_cleanup();
    return status;
}
