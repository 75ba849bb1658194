// Paths of dump files, kept inside their dump directory.
//
// dump_dir is chosen by a superuser or a member of pg_read_server_files
// (option_validate.cpp); a collection name comes from anyone who may create a
// foreign table or call the migration functions.  These checks keep the
// second from reaching outside the first, whatever the file system holds.
#pragma once

#include <string>

namespace nextcrm {

// Throws nextcrm::Error (HV024) unless `path` -- a file name built from
// `dir` and a collection name -- resolves (symbolic links followed, as
// realpath(3) does) to a file inside the resolved `dir`.  A path that does
// not exist is left to the caller's own "not found" handling.
void check_path_inside(const std::string &dir, const std::string &path);

} // namespace nextcrm
