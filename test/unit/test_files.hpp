// Test helpers for files: the mongodump fixtures, a temporary directory
// removed afterwards, and whole-file reads and writes.
#pragma once

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unistd.h>

// test/fixtures/mongodump, found from this header's own path.
inline std::string mongodump_fixtures() {
    std::string here = __FILE__; // .../test/unit/test_files.hpp
    return here.substr(0, here.rfind("/unit/")) + "/fixtures/mongodump";
}

// A fresh directory under /tmp, removed with everything in it (made
// writable first: some tests take their permissions away).  A directory that
// cannot be made (a full /tmp) fails the test with an exception, not with
// undefined behaviour.
struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/nextcrm-unit-test.XXXXXX";
        const char *made = mkdtemp(tmpl);
        if (!made)
            throw std::runtime_error("mkdtemp failed");
        path = made;
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    ~TempDir() { std::system(("chmod -R u+rwx '" + path + "'; rm -rf '" + path + "'").c_str()); }
};

inline std::string read_all(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

inline void write_all(const std::string &path, const std::string &bytes) {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
}
