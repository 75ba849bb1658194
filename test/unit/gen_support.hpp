// Helpers shared by the nextcrm_gen unit tests.
#pragma once

#include "gen/generator.hpp"

#include <bson/bson.h>
#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace gen_test {

// Keeps every collection's documents as the concatenated bytes a dump holds.
class MemorySink : public nextcrm::gen::Sink {
  public:
    std::map<std::string, std::string> bytes;
    void begin(const std::string &c) override { current_ = &bytes[c]; }
    void write(const bson_t *doc) override {
        current_->append(reinterpret_cast<const char *>(bson_get_data(doc)), doc->len);
    }
    void end() override { current_ = nullptr; }

  private:
    std::string *current_ = nullptr;
};

inline std::string read_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

inline std::string gunzip_file(const std::string &path) {
    gzFile f = gzopen(path.c_str(), "rb");
    std::string out;
    if (!f)
        return out;
    char buf[1 << 16];
    int n;
    while ((n = gzread(f, buf, sizeof buf)) > 0)
        out.append(buf, static_cast<std::size_t>(n));
    gzclose(f);
    return out;
}

// Every document in concatenated BSON, through bson_reader; `ok` turns false
// when the bytes do not end exactly after the last document.
inline std::vector<bson_t *> parse_docs(const std::string &data, bool *ok) {
    std::vector<bson_t *> docs;
    bson_reader_t *r =
        bson_reader_new_from_data(reinterpret_cast<const uint8_t *>(data.data()), data.size());
    const bson_t *b;
    bool eof = false;
    while ((b = bson_reader_read(r, &eof)))
        docs.push_back(bson_copy(b));
    *ok = eof || data.empty();
    bson_reader_destroy(r);
    return docs;
}

inline void free_docs(std::map<std::string, std::vector<bson_t *>> &all) {
    for (auto &[name, docs] : all)
        for (bson_t *d : docs)
            bson_destroy(d);
    all.clear();
}

inline std::string temp_dir(const std::string &tag) {
    char tmpl[256];
    std::snprintf(tmpl, sizeof tmpl, "/tmp/nextcrm_gen_%s_XXXXXX", tag.c_str());
    return mkdtemp(tmpl);
}

inline void remove_dir(const std::string &dir) {
    std::string cmd = "rm -rf '" + dir + "'";
    if (std::system(cmd.c_str()) != 0)
        std::fprintf(stderr, "could not remove %s\n", dir.c_str());
}

// The `_id` of a document as the manifest writes it.
inline std::string id_of(const bson_t *doc) {
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, "_id"))
        return "";
    if (BSON_ITER_HOLDS_OID(&it)) {
        char hex[25];
        bson_oid_to_string(bson_iter_oid(&it), hex);
        return hex;
    }
    if (BSON_ITER_HOLDS_UTF8(&it))
        return bson_iter_utf8(&it, nullptr);
    return "";
}

// An id element (ObjectId or 24-hex string) as hex; "" for anything else.
inline std::string ref_hex(const bson_iter_t *it) {
    if (BSON_ITER_HOLDS_OID(it)) {
        char hex[25];
        bson_oid_to_string(bson_iter_oid(it), hex);
        return hex;
    }
    if (BSON_ITER_HOLDS_UTF8(it)) {
        uint32_t len = 0;
        const char *s = bson_iter_utf8(it, &len);
        if (len == 24 && bson_oid_is_valid(s, len))
            return s;
    }
    return "";
}

} // namespace gen_test
