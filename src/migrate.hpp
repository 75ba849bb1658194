// The migration engine's shared declarations: the request the calling session
// hands to its background worker, and the worker's entry point.
//
// Why a background worker: a function called by SELECT runs inside the
// caller's transaction and cannot commit, yet every batch must commit with
// its checkpoint so that a cancel or a crash loses at most the batch in
// flight.  The worker runs its own transactions, one per batch, and sends a
// NOTICE for each committed batch through the channel of migrate_channel.hpp;
// the calling session relays what it sends and, on Ctrl+C, asks it to stop
// after the current batch.
#pragma once

#include "pg_wall.hpp"

#include <string>

extern "C" {
#include "postmaster/bgworker.h"
}

namespace nextcrm {

class Mapping;
class Profile;

// Copied into the channel's shared memory segment (migrate_channel.hpp).
struct MigrationRequest {
    Oid database;
    Oid userid;
    Oid serverid;
    bool restart;
    bool retry;                   // only the documents in the error table
    char collection[NAMEDATALEN]; // empty: every collection
    char profile[48];             // an installed profile (profiles.hpp)
    char app_dir[MAXPGPATH];      // its migrations' checkout, or empty
};

// Advisory lock key held by the running worker for its whole life, so a
// second run of the same database is refused while one is active.
inline constexpr int64 migration_lock_key = 0x6e657874636d6967; // "nextcmig"

// Throws an Error (invalid_parameter_value) unless `collection` is a
// collection of the mapping; the hint lists the valid names.
void check_mapped_collection(const Profile &profile, const std::string &collection);

// Throws an Error (object_not_in_prerequisite_state) naming the collections
// that `collection` references, directly or not, whose migration is not
// complete: migrating it before them would lose its references to their
// documents for good.  Needs SPI.
void check_references_complete(const Mapping &mapping, const std::string &collection);

// Throws an Error (invalid_parameter_value) when the database holds a
// migration that is not complete with another profile than `profile`: its
// checkpoints and tables are that profile's.  Needs SPI.
void check_run_profile(const std::string &profile, bool restart);

// Runs the migration described by the request; called in the worker after
// it has connected to the database.  Checks before every batch whether it
// should stop (stop_requested set by SIGTERM, or the caller detached from
// the channel) and then returns after recording the run as stopped.
void run_migration(const MigrationRequest &request, volatile sig_atomic_t *stop_requested);

// Whether the worker should stop before its next batch.
bool migration_should_stop(const MigrationRequest &request, volatile sig_atomic_t *stop_requested);

} // namespace nextcrm
