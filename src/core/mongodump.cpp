#include "mongodump.hpp"

#include "archive_demux.hpp"
#include "bson_check.hpp"
#include "error.hpp"
#include "mongodump_archive.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace nextcrm {

namespace {

bool ends_with(const std::string &s, const std::string &suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string join(const std::vector<std::string> &names) {
    std::string out;
    for (const auto &n : names)
        out += (out.empty() ? "" : ", ") + n;
    return out.empty() ? "(none)" : out;
}

// Why `path` cannot be used as `kind` ("directory" or "file"), or empty.
std::string unusable_reason(const std::string &path, bool want_dir) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
        if (errno == ELOOP)
            return "is a symbolic link loop";
        if (errno == ENOENT)
            return "does not exist";
        return std::string("cannot be read: ") + std::strerror(errno);
    }
    if (want_dir && !S_ISDIR(st.st_mode))
        return "is not a directory";
    if (!want_dir && S_ISDIR(st.st_mode))
        return "is a directory, not a file";
    if (!want_dir && !S_ISREG(st.st_mode))
        return "is not a regular file";
    if (access(path.c_str(), want_dir ? (R_OK | X_OK) : R_OK) != 0)
        return std::string("cannot be read: ") + std::strerror(errno);
    return {};
}

// A metadata.json (plain or gzip): the collection's name and type.
struct Metadata {
    std::string name, type;
    std::string problem; // why its file could not be read, as a sentence
    const char *sqlstate = nullptr;
};

// Reads the metadata file `name` of `dir`.  A file that is not a regular
// file (or a link) is an error; one that does not parse leaves the name and
// type empty, as a missing one does.
Metadata read_metadata(const Fd &dir, const std::string &name, const std::string &shown) {
    Metadata m;
    Fd fd = open_dump_file(dir, name, shown);
    gzFile f = gzdopen(fd.get(), "rb");
    if (!f)
        return m;
    fd.release();
    std::string text;
    char buf[8192];
    int n;
    // Metadata is a few hundred bytes; 1 MB is a generous bound.
    while ((n = gzread(f, buf, sizeof buf)) > 0 && text.size() < (1u << 20))
        text.append(buf, static_cast<std::size_t>(n));
    gzclose(f);
    bson_error_t err;
    BsonPtr doc(bson_new_from_json(reinterpret_cast<const uint8_t *>(text.data()),
                                   static_cast<ssize_t>(text.size()), &err));
    if (!doc)
        return m;
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc.get(), "collectionName") && BSON_ITER_HOLDS_UTF8(&it))
        m.name = bson_iter_utf8(&it, nullptr);
    if (bson_iter_init_find(&it, doc.get(), "type") && BSON_ITER_HOLDS_UTF8(&it))
        m.type = bson_iter_utf8(&it, nullptr);
    return m;
}

// Why a collection holds no NextCRM data, or empty.
std::string skip_reason(const std::string &name, const std::string &type) {
    if (type == "view")
        return "It is a view.";
    if (type == "timeseries")
        return "It is a time-series collection.";
    if (name.rfind("system.buckets.", 0) == 0)
        return "It holds a time-series collection's buckets.";
    if (name.rfind("system.", 0) == 0)
        return "It is a system collection.";
    if (name == "oplog")
        return "It is an oplog dump (mongodump --oplog), not a collection.";
    return {};
}

// The names in the open directory `dir` (shown as `path`), sorted.
std::vector<std::string> list_dir(const Fd &dir, const std::string &path) {
    int fd = dup(dir.get());
    DIR *opened = fd < 0 ? nullptr : fdopendir(fd);
    if (!opened) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        throw Error(Message(NEXTCRM_MSG("could not open dump directory \"%s\": %s"), path,
                            std::strerror(err)),
                    sqlstate::fdw_error);
    }
    std::unique_ptr<DIR, int (*)(DIR *)> d(opened, closedir);
    rewinddir(d.get()); // the duplicate shares the original's position
    std::vector<std::string> out;
    while (struct dirent *e = readdir(d.get())) {
        std::string name = e->d_name;
        if (name != "." && name != "..")
            out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
}

// The top-level oplog of a whole-server dump (mongodump --oplog).
bool is_oplog_file(const std::string &name) {
    return name == "oplog.bson" || name == "oplog.bson.gz";
}

bool is_dump_file(const std::string &name) {
    return ends_with(name, ".bson") || ends_with(name, ".bson.gz") ||
           ends_with(name, ".metadata.json") || ends_with(name, ".metadata.json.gz");
}

// The databases of a whole-server dump: its subfolders (not links to
// folders, which are never followed).
std::vector<std::string> dump_databases(const Fd &dir, const std::vector<std::string> &names) {
    std::vector<std::string> out;
    for (const auto &name : names) {
        struct stat st;
        if (fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
            out.push_back(name);
    }
    return out;
}

// MongoDB's own databases, never the one a user dumped NextCRM from.
bool is_system_database(const std::string &name) {
    return name == "admin" || name == "config" || name == "local";
}

// The database a whole-server dump or an archive should be read for.
std::string pick_database(const std::string &where, const std::vector<std::string> &present,
                          const std::string &wanted) {
    if (!wanted.empty()) {
        if (std::find(present.begin(), present.end(), wanted) != present.end())
            return wanted;
        throw Error(
            Message(NEXTCRM_MSG("database \"%s\" is not in the dump \"%s\""), wanted, where),
            sqlstate::fdw_error, "The dump holds the databases: " + join(present) + ".",
            "Set the server's option \"database\" to one of them.");
    }
    std::vector<std::string> user;
    for (const auto &d : present)
        if (!is_system_database(d))
            user.push_back(d);
    if (user.size() == 1)
        return user[0];
    throw Error(user.empty()
                    ? Message(NEXTCRM_MSG("the dump \"%s\" holds no user database"), where)
                    : Message(NEXTCRM_MSG("the dump \"%s\" holds several databases"), where),
                sqlstate::fdw_error, "The dump holds the databases: " + join(present) + ".",
                "Set the server's option \"database\" to the one to read.");
}

bool in_database(const std::string &ns, const std::string &db) {
    return !db.empty() && ns.size() > db.size() && ns.compare(0, db.size(), db) == 0 &&
           ns[db.size()] == '.';
}

// An oplog entry holds a document a few levels down (the entry, o,
// applyOps, its element, o, then $set or a diff): nested deeper than a
// document may be plus these, it is no entry mongodump wrote.  A bounded
// walk checks it: bson_validate() recurses once per level without bound, and
// an entry nested 500000 levels deep overflowed the backend's stack (the
// replay, oplog_apply.cpp, recurses as deep as the entry is, too).
constexpr int max_oplog_entry_depth = max_document_depth + 16;

std::optional<DocumentFault> oplog_entry_fault(const bson_t *entry) {
    return check_document(entry, nullptr, max_oplog_entry_depth);
}

} // namespace

std::int64_t oplog_entries_for(const bson_t *entry, const std::string &db) {
    bson_iter_t it;
    std::string op, ns;
    if (bson_iter_init_find(&it, entry, "op") && BSON_ITER_HOLDS_UTF8(&it))
        op = bson_iter_utf8(&it, nullptr);
    if (bson_iter_init_find(&it, entry, "ns") && BSON_ITER_HOLDS_UTF8(&it))
        ns = bson_iter_utf8(&it, nullptr);
    if (op == "n")
        return 0;
    std::int64_t n = 0;
    // A transaction (or mongodump's own applyOps) holds its operations in
    // o.applyOps, whatever the entry's own namespace ("admin.$cmd").
    bson_iter_t ops, child;
    if (op == "c" && bson_iter_init(&it, entry) &&
        bson_iter_find_descendant(&it, "o.applyOps", &ops) && BSON_ITER_HOLDS_ARRAY(&ops) &&
        bson_iter_recurse(&ops, &child)) {
        while (bson_iter_next(&child)) {
            if (!BSON_ITER_HOLDS_DOCUMENT(&child))
                continue;
            std::uint32_t len = 0;
            const std::uint8_t *data = nullptr;
            bson_iter_document(&child, &len, &data);
            bson_t inner;
            if (bson_init_static(&inner, data, len))
                n += oplog_entries_for(&inner, db);
        }
        return n;
    }
    return in_database(ns, db) ? 1 : 0;
}

void check_dump_location(const std::string &option, const std::string &path) {
    bool want_dir = option == "dump_dir";
    std::string why = unusable_reason(path, want_dir);
    if (!why.empty())
        throw Error(std::string(want_dir ? "dump directory" : "archive") + " \"" + path + "\" " +
                        why,
                    sqlstate::fdw_invalid_attribute_value);
}

Dump::Dump(const SourceOptions &opts, std::function<void()> between)
    : between_(std::move(between)) {
    if (!opts.archive.empty()) {
        check_dump_location("archive", opts.archive);
        read_archive(opts.archive, opts.database);
        return;
    }
    check_dump_location("dump_dir", opts.dump_dir);
    std::string dir = opts.dump_dir;
    dir_ = std::make_shared<Fd>(open_dump_dir(dir));
    std::vector<std::string> names = list_dir(*dir_, dir);
    // mongodump --oplog writes oplog.bson beside the databases' folders: it
    // is not a collection, so it does not make the folder one database's.
    bool has_files = std::any_of(names.begin(), names.end(), [](const std::string &n) {
        return is_dump_file(n) && !is_oplog_file(n);
    });
    bool whole_server = std::find(names.begin(), names.end(), "prelude.json") != names.end();
    if (whole_server || !has_files) {
        std::vector<std::string> dbs = dump_databases(*dir_, names);
        if (whole_server || !dbs.empty()) {
            database_ = pick_database(dir, dbs, opts.database);
            for (const auto &n : names)
                if (is_oplog_file(n)) {
                    top_ = dir_;
                    oplog_name_ = n;
                    oplog_shown_ = dir + "/" + n;
                }
            Fd sub = open_dump_subdir(*dir_, database_, dir + "/" + database_);
            dir += "/" + database_;
            dir_ = std::make_shared<Fd>(std::move(sub));
        }
    }
    read_folder(dir);
}

Fd Dump::open_file(const std::string &name, const std::string &shown) const {
    return open_dump_file(*dir_, name, shown);
}

void Dump::read_folder(const std::string &dir) {
    location_ = dir;
    std::map<std::string, Metadata> metadata;             // by file base name
    std::map<std::string, std::vector<std::string>> data; // base name -> file names
    for (const auto &name : list_dir(*dir_, dir)) {
        std::string base;
        if (ends_with(name, ".metadata.json"))
            base = name.substr(0, name.size() - 14);
        else if (ends_with(name, ".metadata.json.gz"))
            base = name.substr(0, name.size() - 17);
        if (!base.empty()) {
            try {
                metadata[base] = read_metadata(*dir_, name, dir + "/" + name);
            } catch (const Error &e) {
                Metadata bad;
                bad.problem = std::string(e.what()) + ".";
                bad.sqlstate = e.sqlstate();
                metadata[base] = bad;
            }
        } else if (ends_with(name, ".bson"))
            data[name.substr(0, name.size() - 5)].push_back(name);
        else if (ends_with(name, ".bson.gz"))
            data[name.substr(0, name.size() - 8)].push_back(name);
    }
    std::set<std::string> bases;
    for (const auto &[base, m] : metadata)
        bases.insert(base);
    for (const auto &[base, files] : data)
        bases.insert(base);
    for (const auto &base : bases) {
        DumpEntry e;
        auto m = metadata.find(base);
        std::string type = m != metadata.end() ? m->second.type : "";
        e.name = m != metadata.end() && !m->second.name.empty() ? m->second.name : base;
        auto d = data.find(base);
        std::string skip = skip_reason(e.name, type);
        if (m != metadata.end() && !m->second.problem.empty()) {
            // Its metadata (a named pipe, a link) cannot say what it is.
            e.state = DumpEntry::State::Unusable;
            e.reason = "Its metadata file " + m->second.problem.substr(10);
            e.sqlstate = m->second.sqlstate;
            if (d != data.end())
                e.file = dir + "/" + d->second[0], e.file_name = d->second[0];
        } else if (!skip.empty()) {
            e.state = DumpEntry::State::Skipped;
            e.reason = skip;
        } else if (d == data.end()) {
            e.state = DumpEntry::State::NoDocuments;
            e.reason = "Its metadata file is in the dump but its documents (" + base + ".bson or " +
                       base + ".bson.gz) are not.";
        } else if (d->second.size() > 1) {
            e.state = DumpEntry::State::Ambiguous;
            e.file = dir + "/" + d->second[0];
            e.file_name = d->second[0];
            e.reason = "Both \"" + dir + "/" + d->second[0] + "\" and \"" + dir + "/" +
                       d->second[1] + "\" exist; remove the one that is not the backup.";
        } else {
            e.file = dir + "/" + d->second[0];
            e.file_name = d->second[0];
            const char *state = nullptr;
            std::string why = dump_file_problem(*dir_, e.file_name, &state);
            if (!why.empty()) {
                e.state = DumpEntry::State::Unusable;
                e.reason = "Its file \"" + e.file + "\" " + why + ".";
                e.sqlstate = state;
            }
        }
        entries_.push_back(std::move(e));
    }
    std::sort(entries_.begin(), entries_.end(),
              [](const DumpEntry &a, const DumpEntry &b) { return a.name < b.name; });
}

void Dump::read_archive(const std::string &path, const std::string &database) {
    archive_ = true;
    location_ = path;
    ArchiveReader reader(path);
    std::vector<std::string> dbs;
    for (const auto &c : reader.prelude()) {
        // mongodump --oplog --archive: the oplog is the namespace "oplog" of
        // no database.
        if (c.db.empty() && c.collection == "oplog") {
            oplog_shown_ = path;
            continue;
        }
        if (std::find(dbs.begin(), dbs.end(), c.db) == dbs.end())
            dbs.push_back(c.db);
    }
    std::sort(dbs.begin(), dbs.end());
    if (dbs.empty())
        return; // an archive of no collections
    database_ = pick_database(path, dbs, database);
    for (const auto &c : reader.prelude()) {
        if (c.db != database_)
            continue;
        DumpEntry e;
        e.name = c.collection;
        e.file = path;
        e.reason = skip_reason(c.collection, c.type);
        if (!e.reason.empty())
            e.state = DumpEntry::State::Skipped;
        entries_.push_back(std::move(e));
    }
    std::sort(entries_.begin(), entries_.end(),
              [](const DumpEntry &a, const DumpEntry &b) { return a.name < b.name; });
}

std::int64_t Dump::oplog_entries() const {
    std::int64_t n = 0;
    for_each_oplog_entry(
        [this, &n](const bson_t *entry) { n += oplog_entries_for(entry, database_); });
    return n;
}

void Dump::for_each_oplog_entry(const std::function<void(const bson_t *)> &fn) const {
    std::int64_t seen = 0;
    if (archive_) {
        if (no_oplog_in_kept_walk())
            return;
        // Read whether or not the prelude lists it: its blocks are what
        // counts.
        ArchiveReader reader(location_);
        ArchiveReader::Block block;
        while (reader.next_block(&block)) {
            bool oplog = block.db.empty() && block.collection == "oplog";
            std::uint32_t length = 0;
            while (const std::uint8_t *data = reader.next_document(&length)) {
                if ((++seen & 1023) == 0 && between_)
                    between_();
                if (!oplog)
                    continue;
                bson_t entry;
                if (!bson_init_static(&entry, data, length))
                    reader.fail("an oplog entry is not valid BSON");
                if (auto fault = oplog_entry_fault(&entry))
                    reader.fail("an oplog entry is not valid BSON: " + fault->reason);
                fn(&entry);
            }
        }
        return;
    }
    if (oplog_name_.empty())
        return;
    DumpFileSource source(open_dump_file(*top_, oplog_name_, oplog_shown_), oplog_shown_);
    while (const bson_t *entry = source.next()) {
        if ((source.count() & 1023) == 0 && between_)
            between_();
        if (auto fault = oplog_entry_fault(entry))
            throw Error(
                Message(NEXTCRM_MSG("oplog \"%s\" holds a corrupt entry after %s entries: %s"),
                        oplog_shown_, std::to_string(source.count() - 1), fault->reason),
                sqlstate::fdw_error);
        fn(entry);
    }
}

const DumpEntry *Dump::find(const std::string &collection) const {
    for (const auto &e : entries_)
        if (e.name == collection)
            return &e;
    return nullptr;
}

bool Dump::holds(const std::string &collection) const {
    if (find(collection))
        return true;
    if (!archive_)
        return false;
    try {
        return archive_counts().count(collection) > 0;
    } catch (const Error &) {
        // A damaged archive: reading the collection reports the damage.
        return false;
    }
}

std::vector<std::string> Dump::collections() const {
    std::vector<std::string> out;
    for (const auto &e : entries_)
        if (e.state != DumpEntry::State::Skipped)
            out.push_back(e.name);
    return out;
}

std::unique_ptr<DocumentSource> Dump::open(const std::string &collection) const {
    check_collection_name(collection); // never a path out of the dump
    const DumpEntry *e = find(collection);
    // A collection whose blocks the prelude does not list: its documents
    // are in the archive all the same.
    if (!e && archive_ && archive_counts().count(collection) &&
        (collection.rfind("system.", 0) != 0))
        return open_archive_collection(collection);
    if (!e || e->state == DumpEntry::State::Skipped)
        return nullptr;
    switch (e->state) {
    case DumpEntry::State::NoDocuments:
        throw Error(
            Message(NEXTCRM_MSG("the documents of collection \"%s\" are missing from \"%s\""),
                    collection, location_),
            sqlstate::fdw_error, e->reason);
    case DumpEntry::State::Unusable:
        throw Error(Message(NEXTCRM_MSG("collection \"%s\" cannot be read from \"%s\""), collection,
                            location_),
                    e->sqlstate ? e->sqlstate : sqlstate::fdw_error, e->reason,
                    e->sqlstate && std::strcmp(e->sqlstate, sqlstate::insufficient_privilege) == 0
                        ? "Copy the file into the dump directory instead of linking to it."
                        : std::string());
    case DumpEntry::State::Ambiguous:
        throw Error(Message(NEXTCRM_MSG("collection \"%s\" has two dump files in \"%s\""),
                            collection, location_),
                    sqlstate::fdw_error, e->reason);
    default:
        break;
    }
    if (archive_)
        return open_archive_collection(collection);
    // Opened without following a link and checked to be a regular file
    // (whatever the file system held when the dump was listed).
    return std::make_unique<DumpFileSource>(open_file(e->file_name, e->file), e->file);
}

std::string Dump::archive_key() const {
    struct stat st;
    if (stat(location_.c_str(), &st) != 0)
        throw Error(Message(NEXTCRM_MSG("could not stat archive \"%s\": %s"), location_,
                            std::strerror(errno)),
                    sqlstate::fdw_error);
    return location_ + '\0' + database_ + '\0' + std::to_string(st.st_size) + '\0' +
           std::to_string(st.st_mtim.tv_sec) + '.' + std::to_string(st.st_mtim.tv_nsec) + '\0' +
           std::to_string(st.st_ino);
}

bool Dump::no_oplog_in_kept_walk() const {
    // The walk that spooled the collections read every block of this
    // archive.  Read whole (no damage to its framing or compression) with
    // no oplog block in it, reading it again would find no entry either:
    // that second pass was a whole inflate of a gzipped archive.  Anything
    // else (no kept walk, damage, entries to give) is read as it was.
    if (!archive_spooling())
        return false;
    std::string key;
    try {
        key = archive_key();
    } catch (const Error &) {
        return false; // reading it says why
    }
    auto walk = kept_archive_walk(key);
    return walk && !walk->count_failure && walk->oplog_entries == 0;
}

std::shared_ptr<const DemuxedArchive> Dump::archive_walk() const {
    return spooled_archive(
        archive_key(), location_, database_, between_ ? between_ : [] {});
}

std::unique_ptr<DocumentSource> Dump::open_archive_collection(const std::string &collection) const {
    if (archive_spooling())
        return std::make_unique<SpooledCollectionSource>(archive_walk(), collection);
    return std::make_unique<ArchiveCollectionSource>(location_, database_, collection, between_);
}

const std::map<std::string, std::int64_t> &Dump::archive_counts() const {
    // One pass counts every collection; a migration asks for each in turn,
    // so keep the last archive's counts (keyed by its identity).  With
    // spooling, that pass is the one that spools the collections.
    if (archive_spooling()) {
        // Kept by spooled_archive() until another archive is walked.
        auto walk = archive_walk();
        if (walk->count_failure)
            throw *walk->count_failure;
        return walk->counts;
    }
    std::string key = archive_key();
    static std::string cached_key;
    static std::map<std::string, std::int64_t> cached;
    if (key != cached_key) {
        cached_key.clear();
        cached = count_archive_documents(
            location_, database_, between_ ? between_ : [] {});
        cached_key = key;
    }
    return cached;
}

std::int64_t Dump::count(const std::string &collection,
                         const std::function<void()> &between) const {
    const DumpEntry *e = find(collection);
    // A collection whose blocks the prelude does not list still has them.
    if (!e && archive_ && !collection.empty())
        return archive_counts().count(collection) ? archive_counts().at(collection) : 0;
    if (!e || e->state == DumpEntry::State::Skipped)
        return 0;
    if (!archive_ && e->state == DumpEntry::State::Ready) {
        return count_dump_documents(open_file(e->file_name, e->file), e->file, between);
    }
    if (archive_ && e->state == DumpEntry::State::Ready) {
        auto it = archive_counts().find(collection);
        return it == archive_counts().end() ? 0 : it->second;
    }
    auto source = open(collection);
    while (source->next())
        if ((source->count() & 1023) == 0)
            between();
    return source->count();
}

} // namespace nextcrm
