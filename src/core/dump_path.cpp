#include "dump_path.hpp"

#include "error.hpp"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <memory>

namespace nextcrm {

namespace {

// realpath(3) with the result owned; empty when the path does not resolve.
std::string resolved(const std::string &path) {
    std::unique_ptr<char, decltype(&std::free)> out(realpath(path.c_str(), nullptr), std::free);
    return out ? std::string(out.get()) : std::string();
}

} // namespace

void check_path_inside(const std::string &dir, const std::string &path) {
    std::string file = resolved(path);
    if (file.empty())
        return;
    std::string base = resolved(dir);
    if (base.empty())
        throw Error("could not resolve dump directory \"" + dir + "\"", sqlstate::fdw_error);
    if (base != "/")
        base += '/';
    if (file.compare(0, base.size(), base) != 0 || file.size() == base.size())
        throw Error("dump file \"" + path + "\" resolves to a path outside the dump directory",
                    sqlstate::insufficient_privilege,
                    "A symbolic link in \"" + dir + "\" points outside it.",
                    "Copy the file into the dump directory instead of linking to it.");
}

} // namespace nextcrm
