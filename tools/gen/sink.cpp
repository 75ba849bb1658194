#include "gen/sink.hpp"

#include <mongoc/mongoc.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <sys/stat.h>

namespace nextcrm::gen {

DumpSink::DumpSink(std::string dir, bool gzip) : dir_(std::move(dir)), gzip_(gzip) {
    if (mkdir(dir_.c_str(), 0755) != 0 && errno != EEXIST)
        throw std::runtime_error("cannot create " + dir_ + ": " + std::strerror(errno));
}

DumpSink::~DumpSink() {
    if (file_)
        std::fclose(file_);
    if (gz_)
        gzclose(static_cast<gzFile>(gz_));
}

void DumpSink::begin(const std::string &collection) {
    std::string meta = dir_ + "/" + collection + ".metadata.json";
    std::FILE *m = std::fopen(meta.c_str(), "w");
    if (!m)
        throw std::runtime_error("cannot write " + meta + ": " + std::strerror(errno));
    std::fprintf(m,
                 "{\"indexes\":[{\"v\":2,\"key\":{\"_id\":1},\"name\":\"_id_\"}],\"uuid\":\"\","
                 "\"collectionName\":\"%s\"}\n",
                 collection.c_str());
    if (std::fclose(m) != 0)
        throw std::runtime_error("cannot write " + meta);
    path_ = dir_ + "/" + collection + (gzip_ ? ".bson.gz" : ".bson");
    if (gzip_) {
        // Level 1: the benchmark wants a big dump quickly, not a small one.
        gz_ = gzopen(path_.c_str(), "wb1");
        if (gz_)
            gzbuffer(static_cast<gzFile>(gz_), 1 << 18);
    } else {
        file_ = std::fopen(path_.c_str(), "wb");
        if (file_)
            std::setvbuf(file_, nullptr, _IOFBF, 1 << 20);
    }
    if (!file_ && !gz_)
        throw std::runtime_error("cannot write " + path_ + ": " + std::strerror(errno));
}

void DumpSink::write(const bson_t *doc) {
    const uint8_t *data = bson_get_data(doc);
    if (gz_) {
        if (gzwrite(static_cast<gzFile>(gz_), data, doc->len) != static_cast<int>(doc->len))
            throw std::runtime_error("write failed: " + path_);
    } else if (std::fwrite(data, 1, doc->len, file_) != doc->len) {
        throw std::runtime_error("write failed: " + path_ + ": " + std::strerror(errno));
    }
}

void DumpSink::end() {
    if (gz_ && gzclose(static_cast<gzFile>(gz_)) != Z_OK) {
        gz_ = nullptr;
        throw std::runtime_error("write failed: " + path_);
    }
    gz_ = nullptr;
    if (file_ && std::fclose(file_) != 0) {
        file_ = nullptr;
        throw std::runtime_error("write failed: " + path_);
    }
    file_ = nullptr;
}

std::string uri_with_timeouts(const std::string &uri) {
    std::string out = uri;
    const char *defaults[][2] = {{"connectTimeoutMS", "10000"},
                                 {"serverSelectionTimeoutMS", "10000"},
                                 {"socketTimeoutMS", "120000"}};
    for (const auto &d : defaults) {
        if (out.find(d[0]) != std::string::npos)
            continue;
        // Options go after the path: mongodb://host/ or mongodb://host/db?...
        if (out.find('?') == std::string::npos) {
            std::size_t scheme = out.find("://");
            std::size_t slash = out.find('/', scheme == std::string::npos ? 0 : scheme + 3);
            out += slash == std::string::npos ? "/?" : "?";
        } else if (out.back() != '?' && out.back() != '&') {
            out += "&";
        }
        out += std::string(d[0]) + "=" + d[1];
    }
    return out;
}

struct ServerSink::State {
    mongoc_client_t *client = nullptr;
    mongoc_collection_t *coll = nullptr;
    std::string database, name;
    std::size_t batch = 1000;
    std::vector<bson_t *> pending;
};

ServerSink::ServerSink(const std::string &uri, std::string database, std::size_t batch,
                       const std::vector<std::string> &collections)
    : s_(new State) {
    s_->database = std::move(database);
    s_->batch = batch ? batch : 1000;
    bson_error_t err;
    mongoc_uri_t *parsed = mongoc_uri_new_with_error(uri_with_timeouts(uri).c_str(), &err);
    if (!parsed)
        throw std::runtime_error(std::string("invalid URI: ") + err.message);
    s_->client = mongoc_client_new_from_uri_with_error(parsed, &err);
    mongoc_uri_destroy(parsed);
    if (!s_->client)
        throw std::runtime_error(std::string("cannot create client: ") + err.message);
    mongoc_client_set_appname(s_->client, "nextcrm_gen");
    for (const std::string &name : collections) {
        mongoc_collection_t *c =
            mongoc_client_get_collection(s_->client, s_->database.c_str(), name.c_str());
        // 26 is NamespaceNotFound: nothing to drop.
        bool ok = mongoc_collection_drop(c, &err) || err.code == 26 ||
                  std::strstr(err.message, "not found") != nullptr;
        mongoc_collection_destroy(c);
        if (!ok)
            throw std::runtime_error("drop " + name + ": " + err.message);
    }
}

ServerSink::~ServerSink() {
    for (bson_t *b : s_->pending)
        bson_destroy(b);
    if (s_->coll)
        mongoc_collection_destroy(s_->coll);
    if (s_->client)
        mongoc_client_destroy(s_->client);
}

void ServerSink::begin(const std::string &collection) {
    s_->name = collection;
    s_->coll = mongoc_client_get_collection(s_->client, s_->database.c_str(), collection.c_str());
}

void ServerSink::write(const bson_t *doc) {
    s_->pending.push_back(bson_copy(doc));
    if (s_->pending.size() >= s_->batch)
        flush();
}

void ServerSink::flush() {
    if (s_->pending.empty())
        return;
    bson_error_t err;
    std::vector<const bson_t *> docs(s_->pending.begin(), s_->pending.end());
    bool ok =
        mongoc_collection_insert_many(s_->coll, docs.data(), docs.size(), nullptr, nullptr, &err);
    for (bson_t *b : s_->pending)
        bson_destroy(b);
    s_->pending.clear();
    if (!ok)
        throw std::runtime_error("insert into " + s_->name + ": " + err.message);
}

void ServerSink::end() {
    flush();
    mongoc_collection_destroy(s_->coll);
    s_->coll = nullptr;
}

} // namespace nextcrm::gen
