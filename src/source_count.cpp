#include "source_count.hpp"

#include "pg_wall.hpp"

#include "core/archive_count.hpp"
#include "core/dump_path.hpp"
#include "core/mongo_client.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <memory>

namespace nextcrm {

namespace {

// BSON's own limit is 16 MB; a length past this is no frame at all.
constexpr std::int32_t largest_frame = 48 * 1024 * 1024;

std::int32_t little_endian(const unsigned char *b) {
    return static_cast<std::int32_t>(
        static_cast<std::uint32_t>(b[0]) | static_cast<std::uint32_t>(b[1]) << 8 |
        static_cast<std::uint32_t>(b[2]) << 16 | static_cast<std::uint32_t>(b[3]) << 24);
}

// Frames of a plain .bson file: each length prefix jumps to the next.
void walk_plain(int fd, IndependentCount &c) {
    off_t at = 0;
    unsigned char prefix[4];
    while (at < c.bytes) {
        if (pread(fd, prefix, 4, at) != 4) {
            c.damaged = true;
            return;
        }
        std::int32_t len = little_endian(prefix);
        if (len < 5 || len > largest_frame || at + len > c.bytes) {
            c.damaged = true;
            return;
        }
        at += len;
        if ((++c.documents & 1023) == 0)
            check_for_interrupts();
    }
}

// Frames of a .bson.gz file: the same walk through zlib's stream.
void walk_gzip(int fd, IndependentCount &c) {
    int copy = dup(fd);
    if (copy < 0) {
        c.damaged = true;
        return;
    }
    std::unique_ptr<gzFile_s, int (*)(gzFile)> gz(gzdopen(copy, "rb"), gzclose);
    if (!gz) {
        close(copy);
        c.damaged = true;
        return;
    }
    std::vector<unsigned char> buf(64 * 1024);
    for (;;) {
        unsigned char prefix[4];
        int got = gzread(gz.get(), prefix, 4);
        if (got == 0)
            return;
        if (got != 4) {
            c.damaged = true;
            return;
        }
        std::int32_t left = little_endian(prefix);
        if (left < 5 || left > largest_frame) {
            c.damaged = true;
            return;
        }
        left -= 4;
        while (left > 0) {
            int want = static_cast<int>(std::min<std::int32_t>(left, buf.size()));
            if (gzread(gz.get(), buf.data(), want) != want) {
                c.damaged = true;
                return;
            }
            left -= want;
        }
        if ((++c.documents & 1023) == 0)
            check_for_interrupts();
    }
}

// The names in an open directory (a copy of its descriptor is read).
std::vector<std::string> names_in(const Fd &dir) {
    std::vector<std::string> out;
    int fd = dup(dir.get());
    DIR *d = fd < 0 ? nullptr : fdopendir(fd);
    if (!d) {
        if (fd >= 0)
            close(fd);
        return out;
    }
    while (struct dirent *e = readdir(d))
        if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
            out.emplace_back(e->d_name);
    closedir(d);
    return out;
}

// The collection's files in one folder, each counted.  A file that cannot
// be opened as dump_path.hpp opens dump files (a link, a pipe) is left to
// the reader, which reports it.
void count_in(const Fd &dir, const std::string &shown, const std::string &collection,
              std::vector<IndependentCount> &out) {
    for (const char *suffix : {".bson", ".bson.gz"}) {
        std::string name = collection + suffix;
        const char *state = nullptr;
        if (!dump_file_problem(dir, name, &state).empty())
            continue;
        Fd file = open_dump_file(dir, name, shown + "/" + name);
        struct stat st;
        if (fstat(file.get(), &st) != 0)
            continue;
        IndependentCount c{shown + "/" + name, 0, static_cast<std::int64_t>(st.st_size)};
        if (std::strcmp(suffix, ".bson") == 0)
            walk_plain(file.get(), c);
        else
            walk_gzip(file.get(), c);
        out.push_back(c);
    }
}

// The archive's walk (core/archive_count.hpp says why a walk), kept while
// the file's size, time and inode stay the same: the validator asks once
// per collection, and each walk reads the whole archive.
const ArchiveWalk *archive_walk(const std::string &path, std::int64_t *bytes) {
    static std::string cached_key;
    static ArchiveWalk cached;
    struct stat st;
    if (stat(path.c_str(), &st) != 0)
        return nullptr; // the reader reports why
    *bytes = static_cast<std::int64_t>(st.st_size);
    std::string key = path + '\0' + std::to_string(st.st_size) + '\0' +
                      std::to_string(st.st_mtim.tv_sec) + '.' + std::to_string(st.st_mtim.tv_nsec) +
                      '\0' + std::to_string(st.st_ino);
    if (key != cached_key) {
        cached_key.clear();
        try {
            cached = walk_archive(path, [] { check_for_interrupts(); });
        } catch (const Error &) {
            return nullptr; // not openable: the reader reports why
        }
        cached_key = key;
    }
    return &cached;
}

// The archive's namespaces named `collection`, of the "database" option's
// database or (without it) of any database but the oplog's (no database).
void count_archive(const SourceOptions &opts, const std::string &collection,
                   std::vector<IndependentCount> &out) {
    std::int64_t bytes = -1;
    const ArchiveWalk *walk = archive_walk(opts.archive, &bytes);
    if (!walk)
        return;
    for (const auto &n : walk->namespaces) {
        if (n.collection != collection || n.db.empty() ||
            (!opts.database.empty() && n.db != opts.database))
            continue;
        out.push_back(
            {opts.archive + ": " + n.db + "." + n.collection, n.documents, bytes, n.damaged});
    }
}

} // namespace

std::vector<IndependentCount> independent_counts(const SourceOptions &opts, Client *client,
                                                 const std::string &collection) {
    std::vector<IndependentCount> out;
    if (!opts.is_dump()) {
        if (client)
            out.push_back({"countDocuments on the server", client->count_documents(collection)});
        return out;
    }
    if (!opts.archive.empty()) {
        count_archive(opts, collection, out);
        return out;
    }
    if (opts.dump_dir.empty())
        return out;
    Fd top = open_dump_dir(opts.dump_dir);
    count_in(top, opts.dump_dir, collection, out);
    for (const auto &name : names_in(top)) {
        if (!opts.database.empty() && name != opts.database)
            continue;
        struct stat st;
        if (fstatat(top.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
            continue;
        Fd sub = open_dump_subdir(top, name, opts.dump_dir + "/" + name);
        count_in(sub, opts.dump_dir + "/" + name, collection, out);
    }
    return out;
}

} // namespace nextcrm
