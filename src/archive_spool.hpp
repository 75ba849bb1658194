// Where the migration worker keeps a mongodump archive's collections
// between its one walk over the archive and their migration
// (core/archive_demux.hpp): PostgreSQL's temporary files.
//
// Why temporary files: temp_tablespaces says where they go and
// temp_file_limit how large they may grow, a full disk is PostgreSQL's own
// error, and they are deleted when the process exits, however it exits
// (a crash's are removed by the postmaster's restart).
#pragma once

namespace nextcrm {

// Turns on archive spooling for the rest of this process.  Called once, in
// the migration worker, from inside the C++ wall.
void spool_archives_in_temp_files();

} // namespace nextcrm
