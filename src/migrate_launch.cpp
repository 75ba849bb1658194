// nextcrm_migrate_all() and nextcrm_migrate_table(): start the migration's
// background worker, relay its NOTICEs (progress, one per batch) and its
// final error, stop it cleanly on Ctrl+C, and return one summary row per
// collection.
#include "migrate.hpp"

#include "migrate_channel.hpp"

#include "connection.hpp"
#include "pg/srf.hpp"
#include "pg_compat.hpp"
#include "profiles.hpp"
#include "source_check.hpp"
#include "spi.hpp"
#include "target_encoding.hpp"

#include "core/mapping.hpp"

extern "C" {
#include "access/xact.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
}

#include <cstring>
#include <functional>
#include <string>

namespace {

using nextcrm::Error;
using nextcrm::Message;
namespace sqlstate = nextcrm::sqlstate;

// Runs read() in a subtransaction that is then rolled back, which releases
// every lock it took: the calling session waits for the worker for the whole
// run, and a lock kept from one of its reads would let a third session's
// lock request (say, LOCK TABLE on batch_log) queue behind it and the worker
// queue behind that, a wait cycle no deadlock detector sees.
void read_unlocked(const std::function<void()> &read) {
    if (ErrorData *error = nextcrm::in_subtransaction(read, false))
        throw nextcrm::PgException(error);
}

// What the run table says now (a fresh snapshot per call in READ COMMITTED).
std::string run_status(std::string *message) {
    nextcrm::SpiRows rows;
    read_unlocked(
        [&] { rows = nextcrm::spi_query("SELECT status, message FROM nextcrm_migration.run"); });
    if (message)
        *message = rows.text(0, 2);
    return rows.text(0, 1);
}

// What the run table says the launched worker did: its status and message,
// or "unrecorded" when the row still holds an earlier run's outcome (its
// finished_at before `launched`): a worker that failed before it recorded
// anything (it could not connect, say) must not be reported by the last
// run's "stopped" or "done".  A "running" row is this run's or a
// crashed one's: either way the worker did not record its end.
std::string run_outcome(TimestampTz launched, std::string *message) {
    nextcrm::SpiRows rows;
    Datum arg = TimestampTzGetDatum(launched);
    Oid type = TIMESTAMPTZOID;
    read_unlocked([&] {
        rows = nextcrm::spi_query("SELECT status, message, status OPERATOR(pg_catalog.=) 'running'"
                                  "  OR finished_at OPERATOR(pg_catalog.>=) $1"
                                  " FROM nextcrm_migration.run",
                                  1, &type, &arg);
    });
    *message = rows.text(0, 2);
    return rows.text(0, 3) == "t" ? rows.text(0, 1) : "unrecorded";
}

void return_summary(FunctionCallInfo fcinfo, const char *collection) {
    ReturnSetInfo *rsinfo = nextcrm::pg::InitMaterializedSRF(fcinfo);
    Datum arg = nextcrm::text_datum(collection);
    Oid type = TEXTOID;
    nextcrm::SpiRows rows = nextcrm::spi_query(
        "SELECT collection, source_total, migrated, failed, repaired,"
        "       round(seconds::numeric, 3)::float8,"
        "       round((processed / nullif(seconds, 0))::numeric, 0)::float8,"
        "       CASE phase WHEN 'failed' THEN 'failed: ' || message"
        "                  WHEN 'skipped' THEN message ELSE phase::pg_catalog.text END"
        // A profile may keep documents aside whole (kind
        // kept): they are neither migrated nor failed, so
        // the outcome counts them.
        "       || coalesce(': ' || nullif((SELECT count(*)"
        "            FROM nextcrm_migration.kept_aside k"
        "           WHERE k.collection = c.collection AND k.field IS NULL),"
        "          0) || ' kept aside', '')"
        "  FROM nextcrm_migration.checkpoint c"
        " WHERE $1 = '' OR collection = $1 ORDER BY position",
        1, &type, &arg);
    AttInMetadata *meta = nextcrm::pg::TupleDescGetAttInMetadata(rsinfo->setDesc);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        char *values[8];
        for (int c = 0; c < 8; ++c) {
            const auto &v = rows.at(i, c + 1);
            values[c] = v ? const_cast<char *>(v->c_str()) : nullptr;
        }
        nextcrm::pg::put_cstrings(rsinfo, meta, values);
    }
}

// One WARNING per collection the run could not migrate (a damaged or
// unreadable dump file) or skipped (it references one); false when there is
// none, so the run failed as a whole.
bool warn_failed_collections() {
    nextcrm::SpiRows rows = nextcrm::spi_query(
        "SELECT collection, phase, message, processed FROM nextcrm_migration.checkpoint"
        " WHERE phase OPERATOR(pg_catalog.=) ANY ('{failed,skipped}') ORDER BY position");
    for (std::size_t i = 0; i < rows.size(); ++i) {
        std::string collection = rows.text(i, 1), phase = rows.text(i, 2), why = rows.text(i, 3),
                    processed = rows.text(i, 4);
        nextcrm::pg_call([&] {
            if (phase == "failed")
                ereport(WARNING,
                        (errcode(ERRCODE_FDW_ERROR),
                         errmsg("collection \"%s\" failed: %s", collection.c_str(), why.c_str()),
                         errdetail("The %s documents before the damage were read; every "
                                   "collection that does not reference it ran.",
                                   processed.c_str()),
                         errhint("Repair or replace its dump file and run the migration again; "
                                 "it resumes after the documents already migrated.")));
            else
                ereport(WARNING, (errcode(ERRCODE_FDW_ERROR),
                                  errmsg("collection \"%s\" was not migrated", collection.c_str()),
                                  errdetail("%s.", why.c_str())));
        });
    }
    return rows.size() > 0;
}

// Whether every collection a nextcrm_migrate_table() call selected (the
// collection; with restart, it and its dependents) is done: the worker
// records such a run as 'stopped', since the migration as a whole is not
// complete, but the call did all it was asked.
bool selection_done(const nextcrm::Mapping &mapping, const char *collection, bool restart) {
    std::vector<std::string> names =
        restart ? mapping.dependents_of(collection) : std::vector<std::string>{collection};
    for (const auto &name : names) {
        Datum arg = nextcrm::text_datum(name);
        Oid type = TEXTOID;
        if (nextcrm::spi_query("SELECT phase FROM nextcrm_migration.checkpoint"
                               " WHERE collection OPERATOR(pg_catalog.=) $1",
                               1, &type, &arg)
                .text(0, 1) != "done")
            return false;
    }
    return true;
}

// The module writes its own version's record: an extension whose objects are
// an older version's (make install without ALTER EXTENSION ... UPDATE) would
// refuse it half-way through a run.
void refuse_if_not_updated() {
    std::string installed =
        nextcrm::spi_query("SELECT extversion FROM pg_catalog.pg_extension"
                           " WHERE extname OPERATOR(pg_catalog.=) 'nextcrm_mongo_fdw'")
            .text(0, 1);
    if (installed != NEXTCRM_VERSION)
        throw Error(Message(NEXTCRM_MSG("extension nextcrm_mongo_fdw is at version %s, its module "
                                        "at version %s"),
                            installed, NEXTCRM_VERSION),
                    sqlstate::object_not_in_prerequisite_state, {},
                    "Run ALTER EXTENSION nextcrm_mongo_fdw UPDATE first.");
}

// The running worker holds the advisory lock for its whole life.
void refuse_if_running() {
    bool free = false;
    std::string pid;
    read_unlocked([&] {
        Datum key = Int64GetDatum(nextcrm::migration_lock_key);
        Oid type = INT8OID;
        free = nextcrm::spi_query("SELECT pg_catalog.pg_try_advisory_lock($1) AND"
                                  " pg_catalog.pg_advisory_unlock($1)",
                                  1, &type, &key)
                   .text(0, 1) == "t";
        if (!free)
            pid = nextcrm::spi_query("SELECT worker_pid FROM nextcrm_migration.run").text(0, 1);
    });
    if (!free)
        // The pid is a detail: the message stays the same from one run to
        // the next (the isolation spec compares it).
        throw Error(Message(NEXTCRM_MSG("a migration of this database is already running")),
                    sqlstate::object_in_use, "Its worker's process ID is " + pid + ".",
                    "Watch it in nextcrm_migration.progress, or stop it with "
                    "pg_cancel_backend() on its calling session.");
}

Datum migrate(FunctionCallInfo fcinfo, const char *collection, bool retry, bool restart,
              const std::string &profile_name, const std::string &app_dir) {
    const char *server = NameStr(*PG_GETARG_NAME(0));
    // The profile must be installed and consistent, the server must exist
    // and be ours, and a backup must be what it says.
    const nextcrm::Profile &profile = nextcrm::profile_with_migrations(profile_name, app_dir);
    const nextcrm::Mapping &mapping = profile.mapping();
    Oid serverid = nextcrm::server_oid_by_name(server);
    if (*collection)
        nextcrm::check_mapped_collection(profile, collection);
    nextcrm::check_dump_source(serverid, profile);

    if (XactIsoLevel != XACT_READ_COMMITTED)
        throw Error(Message(NEXTCRM_MSG("nextcrm_migrate_all() must run in READ COMMITTED")),
                    sqlstate::active_sql_transaction,
                    "Each batch commits in a background worker; a snapshot taken earlier would "
                    "hide its progress.");
    if (IsTransactionBlock())
        throw Error(
            Message(NEXTCRM_MSG("nextcrm_migrate_all() cannot run inside a transaction block")),
            sqlstate::active_sql_transaction, {},
            "The migration commits as it goes; run it as a statement of its own.");

    nextcrm::MigrationRequest request{};
    request.database = MyDatabaseId;
    request.userid = GetUserId();
    request.restart = restart;
    request.retry = retry;
    request.serverid = serverid;
    if (strlen(collection) >= sizeof request.collection)
        throw Error(Message(NEXTCRM_MSG("collection name too long")),
                    sqlstate::invalid_parameter_value);
    static_assert(sizeof request.profile > nextcrm::max_profile_name, "a profile name must fit");
    strcpy(request.collection, collection);
    strcpy(request.profile, profile.name().c_str());
    if (app_dir.size() >= sizeof request.app_dir)
        throw Error(Message(NEXTCRM_MSG("app_dir is too long")), sqlstate::invalid_parameter_value);
    strcpy(request.app_dir, app_dir.c_str());

    nextcrm::refuse_sql_ascii_target();
    nextcrm::pg_call([] { SPI_connect(); });
    refuse_if_not_updated();
    refuse_if_running();
    // Refused before a worker starts, with the reason and what to do.
    nextcrm::check_server_requirements(profile);
    nextcrm::check_run_profile(profile.name(), restart && !*collection);
    if (*collection)
        nextcrm::check_references_complete(mapping, collection);
    std::string message;
    std::string status = run_status(&message);
    if (retry && status == "running")
        throw Error(Message(NEXTCRM_MSG("the migration is still running")),
                    sqlstate::object_in_use);
    if (retry && status != "done")
        throw Error(Message(NEXTCRM_MSG("retry the errors after the migration is complete")),
                    sqlstate::invalid_parameter_value, {},
                    "Run nextcrm_migrate_all() to its end first.");
    if (status == "done" && !restart && !retry) {
        nextcrm::pg_call([] {
            ereport(NOTICE, (errmsg("the migration is complete; nothing to do"),
                             errhint("restart => true starts over.")));
        });
    } else {
        TimestampTz launched = GetCurrentTimestamp();
        nextcrm::WorkerChannel channel = nextcrm::launch_worker(request, server);
        ErrorData *worker_error = nextcrm::relay_worker(channel);
        nextcrm::close_channel(channel);
        status = run_outcome(launched, &message);
        // A worker that was stopped (pg_cancel_backend or pg_terminate_backend
        // on its pid, a shutdown) records its run as stopped; whatever error
        // the stop ended its batch with is no failure.
        if (worker_error && worker_error->sqlerrcode == ERRCODE_QUERY_CANCELED &&
            status == "running")
            status = "stopped";
        if (worker_error && status != "stopped") {
            // The worker's own error, with its SQLSTATE, detail and hint.
            if (!worker_error->hint)
                worker_error->hint = nextcrm::pg_call([] {
                    return pstrdup("Fix the cause and run it again; it resumes from the last "
                                   "committed batch.");
                });
            worker_error->context = nextcrm::pg_call([worker_error] {
                return worker_error->context
                           ? psprintf("%s\nnextcrm migration worker", worker_error->context)
                           : pstrdup("nextcrm migration worker");
            });
            // Raised through ThrowErrorData() so that it is reported (to the
            // client and the log) as an error of this session's own.
            nextcrm::pg_call([worker_error] { ThrowErrorData(worker_error); });
        }

        // Collections the worker recorded as failed (a damaged dump file)
        // or skipped: every collection that could run did, and the rows say
        // the rest.
        if (status == "failed" && warn_failed_collections())
            status = "done";
        if (status == "stopped" && *collection && message.empty() &&
            selection_done(mapping, collection, restart))
            status = "done";
        if (status == "failed")
            throw Error(Message(NEXTCRM_MSG("the migration failed: %s"), message),
                        sqlstate::fdw_error, {},
                        "Fix the cause and run it again; it resumes from the last committed "
                        "batch.");
        if (status == "stopped")
            // Someone else stopped the worker: not complete.
            throw Error(Message(NEXTCRM_MSG("the migration was stopped before its end")),
                        sqlstate::query_canceled,
                        message.empty() ? "" : "The worker reported: " + message + ".",
                        "Run it again; it resumes from the last committed batch.");
        if (status != "done")
            // It died before it could record why (killed, out of memory while
            // recording): the queue's detach says it is gone.
            throw Error(Message(NEXTCRM_MSG("the migration's worker ended without recording its "
                                            "outcome")),
                        sqlstate::internal_error, {},
                        "The server log says why, for example out of memory. Run it again; it "
                        "resumes from the last committed batch.");
    }
    return_summary(fcinfo, collection);
    nextcrm::pg_call([] { SPI_finish(); });
    return (Datum)0;
}

} // namespace

// nextcrm_migrate_all(server, restart, profile, app_dir)
NEXTCRM_PG_FUNCTION(nextcrm_migrate_all) {
    return migrate(fcinfo, "", false, PG_GETARG_BOOL(1), nextcrm::profile_arg(fcinfo, 2),
                   nextcrm::app_dir_arg(fcinfo, 3));
}

// nextcrm_retry_errors(server, profile, app_dir)
NEXTCRM_PG_FUNCTION(nextcrm_retry_errors) {
    return migrate(fcinfo, "", true, false, nextcrm::profile_arg(fcinfo, 1),
                   nextcrm::app_dir_arg(fcinfo, 2));
}

NEXTCRM_PG_FUNCTION(nextcrm_migrate_table) {
    text *arg = PG_GETARG_TEXT_PP(1);
    std::string collection(VARDATA_ANY(arg), VARSIZE_ANY_EXHDR(arg));
    if (collection.empty())
        throw Error(Message(NEXTCRM_MSG("collection must not be empty")),
                    sqlstate::invalid_parameter_value);
    // nextcrm_migrate_table(server, collection, restart, profile, app_dir)
    return migrate(fcinfo, collection.c_str(), false, PG_GETARG_BOOL(2),
                   nextcrm::profile_arg(fcinfo, 3), nextcrm::app_dir_arg(fcinfo, 4));
}
