#include "core/app_migrations.hpp"

#include "core/dump_path.hpp"
#include "core/error.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace nextcrm {

namespace {

// The folders of a migrations directory, sorted as Prisma applies them
// (byte order of their names).  A symbolic link is refused: it would lead
// outside the checkout.  Other entries (migration_lock.toml) are not
// migrations.
std::vector<std::string> folders(const Fd &dir, const std::string &shown) {
    int copy = dup(dir.get());
    DIR *d = copy < 0 ? nullptr : fdopendir(copy);
    if (!d) {
        int err = errno;
        if (copy >= 0)
            close(copy);
        throw Error(
            Message(NEXTCRM_MSG("could not read directory \"%s\": %s"), shown, std::strerror(err)),
            sqlstate::fdw_error);
    }
    std::vector<std::string> names;
    std::string link;
    errno = 0;
    while (struct dirent *e = readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == "..")
            continue;
        struct stat st;
        if (fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISLNK(st.st_mode) && link.empty())
            link = name;
        else if (S_ISDIR(st.st_mode))
            names.push_back(name);
    }
    int err = errno;
    closedir(d);
    if (err)
        throw Error(
            Message(NEXTCRM_MSG("could not read directory \"%s\": %s"), shown, std::strerror(err)),
            sqlstate::fdw_error);
    if (!link.empty())
        throw Error(Message(NEXTCRM_MSG("\"%s/%s\" is a symbolic link"), shown, link),
                    sqlstate::insufficient_privilege,
                    "The migrations of an application checkout are read without following "
                    "symbolic links, so that they cannot lead outside it.",
                    "Copy the folder into the checkout instead of linking to it.");
    std::sort(names.begin(), names.end());
    return names;
}

std::string read_all(const Fd &fd, const std::string &shown) {
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw Error(
                Message(NEXTCRM_MSG("could not read file \"%s\": %s"), shown, std::strerror(errno)),
                sqlstate::fdw_error);
        if (n == 0)
            return out;
        out.append(buf, static_cast<std::size_t>(n));
    }
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Whether `word` (upper case) followed by optional spaces and ';' starts
// at `at` in `sql`, case-insensitively; *end is set past the ';'.
bool keyword_statement(const std::string &sql, std::size_t at, const char *word, std::size_t *end) {
    std::size_t n = std::strlen(word);
    if (at + n > sql.size())
        return false;
    for (std::size_t i = 0; i < n; ++i)
        if (std::toupper(static_cast<unsigned char>(sql[at + i])) != word[i])
            return false;
    std::size_t i = at + n;
    while (i < sql.size() && is_space(sql[i]))
        ++i;
    if (i >= sql.size() || sql[i] != ';')
        return false;
    *end = i + 1;
    return true;
}

} // namespace

std::string without_own_transaction(const std::string &sql) {
    // The first statement: after spaces and "--" comment lines.
    std::size_t at = 0;
    for (;;) {
        while (at < sql.size() && is_space(sql[at]))
            ++at;
        if (sql.compare(at, 2, "--") != 0)
            break;
        at = sql.find('\n', at);
        if (at == std::string::npos)
            return sql;
    }
    std::size_t begin_end = 0;
    if (!keyword_statement(sql, at, "BEGIN", &begin_end))
        return sql;
    // The last statement: COMMIT; followed by nothing but spaces.
    std::size_t last = sql.size();
    while (last > 0 && is_space(sql[last - 1]))
        --last;
    if (last == 0 || sql[last - 1] != ';')
        return sql;
    std::size_t word_end = last - 1;
    while (word_end > 0 && is_space(sql[word_end - 1]))
        --word_end;
    if (word_end < begin_end + 6)
        return sql;
    std::size_t commit = word_end - 6, commit_end = 0;
    if (!keyword_statement(sql, commit, "COMMIT", &commit_end) ||
        !(is_space(sql[commit - 1]) || sql[commit - 1] == ';'))
        return sql;
    std::string out = sql;
    std::fill(out.begin() + at, out.begin() + begin_end, ' ');
    std::fill(out.begin() + commit, out.begin() + last, ' ');
    return out;
}

std::vector<ProfileMigration> read_app_migrations(const std::string &app_dir,
                                                  const std::vector<ProfileMigration> &pinned,
                                                  const std::string &profile,
                                                  const std::string &title) {
    const std::string where_hint = "app_dir is the " + title +
                                   " checkout (the directory holding prisma/) or its prisma/ "
                                   "directory, as an absolute path on the database server.";
    if (app_dir.empty() || app_dir[0] != '/')
        throw Error(Message(NEXTCRM_MSG("app_dir must be an absolute path")),
                    sqlstate::invalid_parameter_value, {}, where_hint);
    Fd top(open(app_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC));
    if (!top)
        throw Error(Message(NEXTCRM_MSG("could not open app directory \"%s\": %s"), app_dir,
                            std::strerror(errno)),
                    sqlstate::invalid_parameter_value, {}, where_hint);

    // The checkout, else its prisma/ directory.
    std::string why, shown = app_dir + "/prisma/migrations";
    Fd prisma = try_open_subdir(top, "prisma", &why);
    Fd migrations = prisma ? try_open_subdir(prisma, "migrations", &why) : Fd();
    if (!prisma && why == "does not exist") {
        shown = app_dir + "/migrations";
        migrations = try_open_subdir(top, "migrations", &why);
    }
    if (!migrations)
        throw Error(
            Message(NEXTCRM_MSG("app directory \"%s\" has no readable prisma/migrations"), app_dir),
            why == "is a symbolic link" ? sqlstate::insufficient_privilege
                                        : sqlstate::invalid_parameter_value,
            "\"" + shown + "\" " + why + ".", where_hint);

    std::vector<std::string> found = folders(migrations, shown);
    std::set<std::string> found_set(found.begin(), found.end()), pinned_set;
    for (const auto &m : pinned)
        pinned_set.insert(m.name);

    const Message message(NEXTCRM_MSG("the migrations in \"%s\" are not those of %s"), shown,
                          title);
    const std::string hint = "Point app_dir at an unchanged checkout of " + title + "; profile \"" +
                             profile + "\" was made for its migrations only.";
    std::vector<ProfileMigration> out;
    for (std::size_t i = 0; i < std::max(pinned.size(), found.size()); ++i) {
        const std::string *expected = i < pinned.size() ? &pinned[i].name : nullptr;
        const std::string *there = i < found.size() ? &found[i] : nullptr;
        if (expected && there && *expected == *there) {
            std::string file = *there + "/migration.sql";
            const char *state = sqlstate::fdw_error;
            Fd folder = try_open_subdir(migrations, *there, &why);
            Fd sql = folder ? try_open_file(folder, "migration.sql", &why, &state) : Fd();
            if (!sql)
                throw Error(message, state, "Its " + file + " " + why + ".", hint);
            ProfileMigration m = pinned[i];
            m.sql = read_all(sql, shown + "/" + file);
            std::string actual = sha256_hex(m.sql);
            if (actual != m.sha256)
                throw Error(message, sqlstate::invalid_parameter_value,
                            "Its " + file + " has sha256 " + actual + ", the profile expects " +
                                m.sha256 + ".",
                            hint);
            out.push_back(std::move(m));
            continue;
        }
        std::string detail;
        if (expected && there && !found_set.count(*expected) && !pinned_set.count(*there))
            detail = "Folder \"" + *there + "\" stands where the profile expects \"" + *expected +
                     "\" (renamed?).";
        else if (expected && (!there || !found_set.count(*expected)))
            detail = "Migration \"" + *expected + "\" is missing.";
        else
            detail = "Folder \"" + *there + "\" is not a migration of the profile.";
        throw Error(message, sqlstate::invalid_parameter_value, detail, hint);
    }
    return out;
}

} // namespace nextcrm
