// nextcrm_load: loads NextCRM records from JSON files into a MongoDB-compatible
// server, the way NextCRM's seed script stores them: every record gets an
// ObjectId `_id` and the key `v` is stored as `__v`.
//
//   nextcrm_load URI DATABASE COLLECTION=FILE.json [COLLECTION=FILE.json ...]
//
// A FILE ending in .bson (a mongodump collection file) is inserted as it is,
// document by document in file order, _id and all.
//
// Ids are derived from the collection name and the record's position, so two
// loads of the same files produce the same documents.  The target collections
// are dropped first.
#include <mongoc/mongoc.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct BsonDeleter {
    void operator()(bson_t *b) const { bson_destroy(b); }
};
using BsonPtr = std::unique_ptr<bson_t, BsonDeleter>;

std::string read_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// FNV-1a, to spread collection names over the ObjectId's middle bytes.
std::uint64_t name_hash(const std::string &name) {
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : name)
        h = (h ^ c) * 1099511628211ULL;
    return h;
}

void stable_oid(bson_oid_t *oid, const std::string &collection, std::uint32_t index) {
    const std::uint32_t seconds = 1704067200u + index; // 2024-01-01T00:00:00Z onward
    const std::uint64_t h = name_hash(collection);
    std::uint8_t bytes[12];
    for (int i = 0; i < 4; ++i)
        bytes[i] = static_cast<std::uint8_t>(seconds >> (24 - 8 * i));
    for (int i = 0; i < 5; ++i)
        bytes[4 + i] = static_cast<std::uint8_t>(h >> (8 * i));
    for (int i = 0; i < 3; ++i)
        bytes[9 + i] = static_cast<std::uint8_t>(index >> (16 - 8 * i));
    bson_oid_init_from_data(oid, bytes);
}

std::vector<BsonPtr> records_from(const std::string &collection, const std::string &path) {
    std::string text = "{\"records\": " + read_file(path) + "}";
    bson_error_t err;
    BsonPtr whole(bson_new_from_json(reinterpret_cast<const uint8_t *>(text.data()),
                                     static_cast<ssize_t>(text.size()), &err));
    if (!whole)
        throw std::runtime_error(path + ": " + err.message);
    bson_iter_t it, rec;
    if (!bson_iter_init_find(&it, whole.get(), "records") || !BSON_ITER_HOLDS_ARRAY(&it) ||
        !bson_iter_recurse(&it, &rec))
        throw std::runtime_error(path + ": expected a JSON array of records");
    std::vector<BsonPtr> out;
    std::uint32_t index = 0;
    while (bson_iter_next(&rec)) {
        if (!BSON_ITER_HOLDS_DOCUMENT(&rec))
            throw std::runtime_error(path + ": every record must be a JSON object");
        bson_iter_t field;
        bson_iter_recurse(&rec, &field);
        BsonPtr doc(bson_new());
        bson_oid_t oid;
        stable_oid(&oid, collection, index++);
        BSON_APPEND_OID(doc.get(), "_id", &oid);
        while (bson_iter_next(&field)) {
            std::string key = bson_iter_key(&field);
            if (key == "v")
                key = "__v";
            bson_append_iter(doc.get(), key.c_str(), static_cast<int>(key.size()), &field);
        }
        out.push_back(std::move(doc));
    }
    return out;
}

std::vector<BsonPtr> documents_from(const std::string &path) {
    bson_error_t err;
    bson_reader_t *reader = bson_reader_new_from_file(path.c_str(), &err);
    if (!reader)
        throw std::runtime_error(path + ": " + err.message);
    std::vector<BsonPtr> out;
    bool eof = false;
    while (const bson_t *doc = bson_reader_read(reader, &eof))
        out.emplace_back(bson_copy(doc));
    bson_reader_destroy(reader);
    if (!eof)
        throw std::runtime_error(path + ": not a sequence of BSON documents");
    return out;
}

bool is_bson(const std::string &path) {
    return path.size() > 5 && path.compare(path.size() - 5, 5, ".bson") == 0;
}

void load(mongoc_client_t *client, const char *database, const std::string &collection,
          const std::string &path) {
    std::vector<BsonPtr> records =
        is_bson(path) ? documents_from(path) : records_from(collection, path);
    mongoc_collection_t *coll = mongoc_client_get_collection(client, database, collection.c_str());
    bson_error_t err;
    // A missing collection is fine to "drop"; any other failure is not.
    if (!mongoc_collection_drop(coll, &err) && err.code != 26 &&
        std::string(err.message).find("not found") == std::string::npos) {
        mongoc_collection_destroy(coll);
        throw std::runtime_error("drop " + collection + ": " + err.message);
    }
    std::vector<const bson_t *> docs;
    for (const auto &r : records)
        docs.push_back(r.get());
    bool ok = docs.empty() ||
              mongoc_collection_insert_many(coll, docs.data(), docs.size(), nullptr, nullptr, &err);
    mongoc_collection_destroy(coll);
    if (!ok)
        throw std::runtime_error("insert into " + collection + ": " + err.message);
    std::printf("%s: %zu records\n", collection.c_str(), records.size());
}

} // namespace

int main(int argc, char **argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s URI DATABASE COLLECTION=FILE.json ...\n", argv[0]);
        return 2;
    }
    mongoc_init();
    int status = 0;
    mongoc_client_t *client = mongoc_client_new(argv[1]);
    if (!client) {
        std::fprintf(stderr, "nextcrm_load: invalid URI %s\n", argv[1]);
        status = 2;
    } else {
        try {
            for (int i = 3; i < argc; ++i) {
                std::string arg = argv[i];
                auto eq = arg.find('=');
                if (eq == std::string::npos || eq == 0)
                    throw std::runtime_error("expected COLLECTION=FILE, got " + arg);
                load(client, argv[2], arg.substr(0, eq), arg.substr(eq + 1));
            }
        } catch (const std::exception &e) {
            std::fprintf(stderr, "nextcrm_load: %s\n", e.what());
            status = 1;
        }
        mongoc_client_destroy(client);
    }
    mongoc_cleanup();
    return status;
}
