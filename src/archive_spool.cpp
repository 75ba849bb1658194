#include "archive_spool.hpp"

#include "pg_wall.hpp"

#include "core/archive_demux.hpp"

extern "C" {
#include "storage/buffile.h"
#include "storage/ipc.h"
}

#include <cstdio>

namespace nextcrm {

namespace {

// Set once the process is exiting: fd.c's own exit callback closes and
// deletes every temporary file, so nothing may touch them after ours ran.
bool exiting = false;

extern "C" void drop_spools_at_exit(int, Datum) {
    exiting = true;
    release_archive_spools();
}

// One collection's documents in a BufFile.  interXact: the file outlives
// the transaction that wrote it (the worker commits per batch); it is
// closed, so deleted, when the walk is dropped, or by fd.c at exit.
class TempFileSpool : public Spool {
  public:
    TempFileSpool() {
        file_ = pg_call([] {
            // The BufFile's own memory lives as long as the file.
            MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
            BufFile *f = BufFileCreateTemp(true);
            MemoryContextSwitchTo(old);
            return f;
        });
    }
    ~TempFileSpool() override {
        if (exiting)
            return;
        try {
            pg_call([f = file_] { BufFileClose(f); });
        } catch (...) {
            // Closing writes its buffer first: after temp_file_limit or a
            // full disk that fails again.  The file is deleted at exit.
        }
    }
    TempFileSpool(const TempFileSpool &) = delete;
    TempFileSpool &operator=(const TempFileSpool &) = delete;

    void append(const std::uint8_t *data, std::size_t n) override {
        // PostgreSQL 15's BufFileWrite takes a non-const pointer; it only
        // reads through it.
        pg_call([&] { BufFileWrite(file_, const_cast<std::uint8_t *>(data), n); });
    }

    std::size_t read(std::int64_t offset, std::uint8_t *into, std::size_t n) override {
        return pg_call([&] {
            // Every read says where: two readers of one collection (a resume
            // and a retry) never share a position.
            if (BufFileSeek(file_, 0, static_cast<off_t>(offset), SEEK_SET) != 0)
                ereport(ERROR, (errcode_for_file_access(),
                                errmsg("could not seek to byte %lld of a temporary file of "
                                       "archive documents",
                                       static_cast<long long>(offset))));
            return BufFileRead(file_, into, n);
        });
    }

  private:
    BufFile *file_ = nullptr;
};

} // namespace

void spool_archives_in_temp_files() {
    static bool registered = false;
    if (!registered) {
        pg_call([] { on_proc_exit(drop_spools_at_exit, 0); });
        registered = true;
    }
    set_archive_spooling([] { return std::make_unique<TempFileSpool>(); });
}

} // namespace nextcrm
