// Where a migration's time goes: seconds per stage of a batch, measured in
// the worker with the monotonic clock and accumulated per batch (a few clock
// reads per batch, none per document), stored in nextcrm_migration.checkpoint
// and reported when the run ends.
#pragma once

#include <time.h>

namespace nextcrm {

// Seconds of one batch (or of a sum of batches) in each stage.
struct StageSeconds {
    double read = 0;    // documents from the source (cursor or dump file), copied
    double convert = 0; // BSON to row values, repairs and side rows
    double check = 0;   // the batch's lookup of the ids its references name
    double load = 0;    // the INSERTs of rows and side rows (with PostgreSQL's
                        // foreign-key triggers, which fire at each statement's end)
    double commit = 0;  // the batch's checkpoint and its COMMIT (WAL flush)

    void add(const StageSeconds &o) {
        read += o.read;
        convert += o.convert;
        check += o.check;
        load += o.load;
        commit += o.commit;
    }
    double sum() const { return read + convert + check + load + commit; }
};

// A stopwatch on CLOCK_MONOTONIC: lap() returns the seconds since the
// previous lap (or the start) and starts the next one.
class StageClock {
  public:
    StageClock() { clock_gettime(CLOCK_MONOTONIC, &last_); }
    double lap() {
        timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double s = static_cast<double>(now.tv_sec - last_.tv_sec) +
                   static_cast<double>(now.tv_nsec - last_.tv_nsec) / 1e9;
        last_ = now;
        return s;
    }

  private:
    timespec last_;
};

} // namespace nextcrm
