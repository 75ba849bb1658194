// Opening the files of a dump as PostgreSQL opens its own: relative to the
// dump directory's descriptor, never through a symbolic link, and only when
// what was opened (not the path) is a regular file.
//
// dump_dir and archive are chosen by a superuser or a member of
// pg_read_server_files (option_validate.cpp); the files inside a dump
// directory are whatever the file system holds when a scan runs, and any
// role with USAGE on the server reads them.  So:
//  - the directory named by the option is opened once; everything inside it
//    is opened with openat() and O_NOFOLLOW, so no symbolic link (swapped in
//    at any moment) leads a reader outside it;
//  - every open is non-blocking and the descriptor is checked with fstat()
//    before a byte is read, so a named pipe or a device never hangs a scan.
#pragma once

#include <string>

namespace nextcrm {

// An open file descriptor, closed with its owner.
class Fd {
  public:
    Fd() = default;
    explicit Fd(int fd) noexcept : fd_(fd) {}
    Fd(Fd &&other) noexcept : fd_(other.release()) {}
    Fd &operator=(Fd &&other) noexcept;
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    ~Fd();
    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    // Gives the descriptor up (to gzdopen, which closes it).
    int release() noexcept {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }

  private:
    int fd_ = -1;
};

// Opens the directory named by a privileged option (symbolic links in its
// path are that role's choice and are followed).  Throws an Error naming it.
Fd open_dump_dir(const std::string &path);

// Opens the subdirectory `name` of `dir` (a database of a whole-server
// dump) without following a symbolic link; `shown` is its path for errors.
Fd open_dump_subdir(const Fd &dir, const std::string &name, const std::string &shown);

// Why the entry `name` of `dir` cannot be read as a dump file, or empty when
// it can: opens it as open_dump_file() does and closes it again.  *sqlstate
// is set to the error's SQLSTATE when the answer is not empty.
std::string dump_file_problem(const Fd &dir, const std::string &name, const char **sqlstate);

// Opens the regular file `name` of `dir` for reading (blocking reads, as a
// file's are).  Throws an Error naming `shown` when it is a symbolic link
// (42501), not a regular file, missing or unreadable.
Fd open_dump_file(const Fd &dir, const std::string &name, const std::string &shown);

// Opens the regular file `name` of `dir` as open_dump_file() does, for
// readers of other directories (an application checkout): on failure returns
// an empty Fd and sets *why ("is a symbolic link", "does not exist", ...)
// and *sqlstate.
Fd try_open_file(const Fd &dir, const std::string &name, std::string *why, const char **sqlstate);

// Opens the subdirectory `name` of `dir` without following a symbolic link;
// on failure returns an empty Fd and sets *why.
Fd try_open_subdir(const Fd &dir, const std::string &name, std::string *why);

// Opens a regular file named by a privileged option (the archive): links in
// its path are followed, but a named pipe or device is refused before it is
// read.  `what` says which file it is in errors.
enum class RegularFile { dump_file, archive };
Fd open_regular_file(const std::string &path, RegularFile what);

} // namespace nextcrm
