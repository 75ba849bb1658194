#include "dump_path.hpp"

#include "error.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nextcrm {

Fd &Fd::operator=(Fd &&other) noexcept {
    if (this != &other) {
        if (fd_ >= 0)
            close(fd_);
        fd_ = other.release();
    }
    return *this;
}

Fd::~Fd() {
    if (fd_ >= 0)
        close(fd_);
}

namespace {

const char *kind_of(mode_t mode) {
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a named pipe";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    if (S_ISLNK(mode))
        return "a symbolic link";
    return "of an unknown kind";
}

// A problem with an entry of a dump: its message, SQLSTATE, detail, hint.
struct Problem {
    std::string what;
    const char *sqlstate = sqlstate::fdw_error;
    std::string detail, hint;
};

const std::string link_detail = "Files inside a dump directory are opened without following "
                                "symbolic links, so that no role that may read the dump reaches "
                                "a file outside it.";
const std::string link_hint = "Copy the file into the dump directory instead of linking to it.";

// Opens `name` in `dir` as a dump file; on failure returns -1 and fills *p.
int try_open(int dir, const std::string &name, Problem *p) {
    // O_NONBLOCK: opening a named pipe must not wait for a writer.
    int fd = openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int err = errno;
        struct stat st;
        // O_NOFOLLOW fails with ELOOP on a link (and some systems with
        // EMLINK); say "link", not "loop".
        if ((err == ELOOP || err == EMLINK) &&
            fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
            p->what = "is a symbolic link";
            p->sqlstate = sqlstate::insufficient_privilege;
            p->detail = link_detail;
            p->hint = link_hint;
        } else if (err == ENOENT) {
            p->what = "does not exist";
        } else {
            p->what = std::string("cannot be read: ") + std::strerror(err);
        }
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        p->what = std::string("cannot be read: ") + std::strerror(errno);
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        p->what = S_ISDIR(st.st_mode)
                      ? std::string("is a directory, not a file")
                      : std::string("is ") + kind_of(st.st_mode) + ", not a regular file";
        p->detail = "Only regular files are read from a dump.";
        close(fd);
        return -1;
    }
    // A regular file: reads never block anyway, but say what is meant.
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        p->what = std::string("cannot be read: ") + std::strerror(errno);
        close(fd);
        return -1;
    }
    return fd;
}

} // namespace

Fd open_dump_dir(const std::string &path) {
    int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        throw Error(Message(NEXTCRM_MSG("could not open dump directory \"%s\": %s"), path,
                            std::strerror(errno)),
                    sqlstate::fdw_error);
    return Fd(fd);
}

Fd open_dump_subdir(const Fd &dir, const std::string &name, const std::string &shown) {
    int fd = openat(dir.get(), name.c_str(),
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        struct stat st;
        if (fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
            throw Error(Message(NEXTCRM_MSG("dump directory \"%s\" is a symbolic link"), shown),
                        sqlstate::insufficient_privilege, link_detail,
                        "Move the database's folder into the dump directory instead of linking "
                        "to it.");
        throw Error(Message(NEXTCRM_MSG("could not open dump directory \"%s\": %s"), shown,
                            std::strerror(err)),
                    sqlstate::fdw_error);
    }
    return Fd(fd);
}

std::string dump_file_problem(const Fd &dir, const std::string &name, const char **sqlstate) {
    Problem p;
    int fd = try_open(dir.get(), name, &p);
    if (fd >= 0) {
        close(fd);
        return {};
    }
    *sqlstate = p.sqlstate;
    return p.what;
}

Fd open_dump_file(const Fd &dir, const std::string &name, const std::string &shown) {
    Problem p;
    int fd = try_open(dir.get(), name, &p);
    if (fd < 0)
        throw Error("dump file \"" + shown + "\" " + p.what, p.sqlstate, p.detail, p.hint);
    return Fd(fd);
}

Fd try_open_file(const Fd &dir, const std::string &name, std::string *why, const char **sqlstate) {
    Problem p;
    int fd = try_open(dir.get(), name, &p);
    if (fd < 0) {
        *why = p.what;
        *sqlstate = p.sqlstate;
    }
    return Fd(fd);
}

Fd try_open_subdir(const Fd &dir, const std::string &name, std::string *why) {
    int fd = openat(dir.get(), name.c_str(),
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        struct stat st;
        if (fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
            *why = "is a symbolic link";
        else if (err == ENOENT)
            *why = "does not exist";
        else if (err == ENOTDIR)
            *why = "is not a directory";
        else
            *why = std::string("cannot be read: ") + std::strerror(err);
    }
    return Fd(fd);
}

namespace {

// open_regular_file's messages, one whole sentence per kind of file so that
// a translator never assembles one from a noun.
struct RegularFileFormats {
    const char *open, *stat, *directory, *special;
};

const RegularFileFormats &regular_file_formats(RegularFile what) {
    static const RegularFileFormats archive{
        NEXTCRM_MSG("could not open archive \"%s\": %s"),
        NEXTCRM_MSG("could not stat archive \"%s\": %s"),
        NEXTCRM_MSG("archive \"%s\" is a directory, not a file"),
        NEXTCRM_MSG("archive \"%s\" is %s, not a regular file")};
    static const RegularFileFormats dump_file{
        NEXTCRM_MSG("could not open dump file \"%s\": %s"),
        NEXTCRM_MSG("could not stat dump file \"%s\": %s"),
        NEXTCRM_MSG("dump file \"%s\" is a directory, not a file"),
        NEXTCRM_MSG("dump file \"%s\" is %s, not a regular file")};
    return what == RegularFile::archive ? archive : dump_file;
}

} // namespace

Fd open_regular_file(const std::string &path, RegularFile what) {
    const RegularFileFormats &formats = regular_file_formats(what);
    int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        throw Error(Message(formats.open, path, std::strerror(errno)), sqlstate::fdw_error);
    Fd owned(fd);
    struct stat st;
    if (fstat(fd, &st) != 0)
        throw Error(Message(formats.stat, path, std::strerror(errno)), sqlstate::fdw_error);
    if (!S_ISREG(st.st_mode))
        throw Error(S_ISDIR(st.st_mode) ? Message(formats.directory, path)
                                        : Message(formats.special, path, kind_of(st.st_mode)),
                    sqlstate::fdw_error, "Only regular files are read from a dump.");
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
        throw Error(Message(formats.open, path, std::strerror(errno)), sqlstate::fdw_error);
    return owned;
}

} // namespace nextcrm
