// nextcrm_archive: writes a mongodump database folder as a mongodump archive,
// for benchmarks at sizes the real fixtures (test/fixtures/mongodump) do not
// reach.  Written from the format's specification (mongo-tools'
// common/archive/spec.md): magic number, header, one metadata document per
// collection, terminator; then blocks of up to 64 KiB of one collection's
// documents, four collections interleaved as mongodump's parallel writers
// interleave them, each collection closed by an EOF header carrying the
// CRC-64 (ECMA) of its documents.
//
// With --oplog FILE, FILE's documents (oplog entries, as mongodump --oplog
// writes them to oplog.bson) follow the collections as the namespace
// "oplog" of no database, which is where mongodump --oplog --archive puts
// them.
//
//   nextcrm_archive DIR OUT [--gzip] [--db NAME] [--oplog FILE]
#include "core/mongodump_archive.hpp"

#include <bson/bson.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <dirent.h>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct Out {
    gzFile gz = nullptr;
    FILE *plain = nullptr;
    void write(const void *p, std::size_t n) {
        bool ok = gz ? gzwrite(gz, p, static_cast<unsigned>(n)) == static_cast<int>(n)
                     : std::fwrite(p, 1, n, plain) == n;
        if (!ok)
            throw std::runtime_error("write failed");
    }
    void doc(const bson_t *b) { write(bson_get_data(b), b->len); }
    void terminator() {
        const unsigned char t[4] = {0xff, 0xff, 0xff, 0xff};
        write(t, 4);
    }
};

void ns_header(Out &out, const std::string &db, const std::string &coll, bool eof,
               std::uint64_t crc) {
    bson_t *h = BCON_NEW("db", BCON_UTF8(db.c_str()), "collection", BCON_UTF8(coll.c_str()), "EOF",
                         BCON_BOOL(eof), "CRC", BCON_INT64(static_cast<std::int64_t>(crc)));
    out.doc(h);
    bson_destroy(h);
}

struct Input {
    std::string name;
    bson_reader_t *reader = nullptr;
    std::uint64_t crc = 0;
    bool done = false;
};

} // namespace

int main(int argc, char **argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s DIR OUT [--gzip] [--db NAME]\n", argv[0]);
        return 2;
    }
    std::string dir = argv[1], db = "nextcrm", oplog;
    bool gzip = false;
    for (int i = 3; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--gzip")
            gzip = true;
        else if (a == "--db" && i + 1 < argc)
            db = argv[++i];
        else if (a == "--oplog" && i + 1 < argc)
            oplog = argv[++i];
    }
    try {
        std::vector<std::string> names;
        std::unique_ptr<DIR, int (*)(DIR *)> d(opendir(dir.c_str()), closedir);
        if (!d)
            throw std::runtime_error("cannot open " + dir);
        while (dirent *e = readdir(d.get())) {
            std::string n = e->d_name;
            if (n.size() > 5 && n.compare(n.size() - 5, 5, ".bson") == 0)
                names.push_back(n.substr(0, n.size() - 5));
        }
        std::sort(names.begin(), names.end());

        Out out;
        if (gzip)
            out.gz = gzopen(argv[2], "wb");
        else
            out.plain = std::fopen(argv[2], "wb");
        if (!out.gz && !out.plain)
            throw std::runtime_error(std::string("cannot write ") + argv[2]);
        const unsigned char magic[4] = {0x6d, 0xe2, 0x99, 0x81};
        out.write(magic, 4);
        bson_t *header =
            BCON_NEW("concurrent_collections", BCON_INT32(4), "version", BCON_UTF8("0.1"),
                     "server_version", BCON_UTF8("7.0.0"), "tool_version", BCON_UTF8("nextcrm"));
        out.doc(header);
        bson_destroy(header);
        for (const auto &n : names) {
            std::string meta =
                "{\"indexes\":[],\"collectionName\":\"" + n + "\",\"type\":\"collection\"}";
            bson_t *m = BCON_NEW("db", BCON_UTF8(db.c_str()), "collection", BCON_UTF8(n.c_str()),
                                 "metadata", BCON_UTF8(meta.c_str()), "size", BCON_INT32(0), "type",
                                 BCON_UTF8("collection"));
            out.doc(m);
            bson_destroy(m);
        }
        if (!oplog.empty()) {
            bson_t *m = BCON_NEW("db", BCON_UTF8(""), "collection", BCON_UTF8("oplog"), "metadata",
                                 BCON_UTF8(""), "size", BCON_INT32(0));
            out.doc(m);
            bson_destroy(m);
        }
        out.terminator();

        std::vector<Input> inputs;
        for (const auto &n : names) {
            bson_error_t err;
            Input in{n, bson_reader_new_from_file((dir + "/" + n + ".bson").c_str(), &err)};
            if (!in.reader)
                throw std::runtime_error(n + ": " + err.message);
            inputs.push_back(in);
        }
        // Four collections at a time, round robin, 64 KiB blocks.
        std::size_t next = 0;
        std::vector<std::size_t> active;
        for (;;) {
            while (active.size() < 4 && next < inputs.size())
                active.push_back(next++);
            if (active.empty())
                break;
            for (std::size_t k = 0; k < active.size();) {
                Input &in = inputs[active[k]];
                std::size_t bytes = 0;
                bool eof = false, started = false;
                while (bytes < (64u << 10)) {
                    const bson_t *doc = bson_reader_read(in.reader, &eof);
                    if (!doc) {
                        in.done = true;
                        break;
                    }
                    if (!started) {
                        ns_header(out, db, in.name, false, 0);
                        started = true;
                    }
                    out.doc(doc);
                    in.crc = nextcrm::crc64_ecma(in.crc, bson_get_data(doc), doc->len);
                    bytes += doc->len;
                }
                if (started)
                    out.terminator();
                if (in.done) {
                    ns_header(out, db, in.name, true, in.crc);
                    out.terminator();
                    bson_reader_destroy(in.reader);
                    active.erase(active.begin() + static_cast<long>(k));
                } else {
                    ++k;
                }
            }
        }
        if (!oplog.empty()) {
            bson_error_t err;
            bson_reader_t *r = bson_reader_new_from_file(oplog.c_str(), &err);
            if (!r)
                throw std::runtime_error(oplog + ": " + err.message);
            std::uint64_t crc = 0;
            bool eof = false, started = false;
            while (const bson_t *doc = bson_reader_read(r, &eof)) {
                if (!started)
                    ns_header(out, "", "oplog", false, 0);
                started = true;
                out.doc(doc);
                crc = nextcrm::crc64_ecma(crc, bson_get_data(doc), doc->len);
            }
            bson_reader_destroy(r);
            if (started)
                out.terminator();
            ns_header(out, "", "oplog", true, crc);
            out.terminator();
        }
        if (out.gz)
            gzclose(out.gz);
        else
            std::fclose(out.plain);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "nextcrm_archive: %s\n", e.what());
        return 1;
    }
    return 0;
}
