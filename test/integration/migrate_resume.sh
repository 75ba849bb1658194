#!/usr/bin/env bash
# Interrupting a migration loses at most the batch in flight, and resuming it
# neither skips nor doubles a document: after kill -9 of the worker, after
# Ctrl+C in the calling session, and after FerretDB stops answering, a resumed
# run leaves every target table identical to an uninterrupted run.
#
# Each interrupt lands where the test puts it, inside Tasks (1191 of the 6000
# documents: a batch of 1000 and one of 191), so every resume continues in
# the middle of a collection: a session of the test holds the id that
# nextcrm_migration.batch_log will give a chosen batch (an uncommitted row
# with that primary key), the worker's bookkeeping of that batch waits for
# it with all the batch's rows written, and the test acts once the worker
# is seen waiting (pg_blocking_pids).  A fresh run numbers its batches as
# the uninterrupted run did, whose batch_log says the ids.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

work=$(mktemp -d)
chmod 755 "$work"
trap 'kill -CONT "$RIG_FERRETDB_PID" 2>/dev/null; rm -rf "$work"' EXIT
N=6000
"$BUILD_DIR/nextcrm_gen" --docs $N --seed 5 --dump-dir "$work/dump" 2>/dev/null
chmod -R a+rX "$work/dump"

# Every target starts as a copy of one empty database with the extension,
# the dump as server "src" and FerretDB as server "live".
make_target resume_empty "dump_dir '$work/dump'"
q -d resume_empty >/dev/null <<SQL
CREATE SERVER live FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri '$MONGO_URI', database 'resume_live', socket_timeout_ms '5000');
CREATE USER MAPPING FOR CURRENT_USER SERVER live;
SQL
target() { # db
    q -c "DROP DATABASE IF EXISTS \"$1\"" -c "CREATE DATABASE \"$1\" TEMPLATE resume_empty" >/dev/null
}
migrate() { # db [server]
    q -d "$1" -c "SELECT * FROM nextcrm_migrate_all('${2:-src}')"
}
status() { q -d "$1" -c "SELECT status FROM nextcrm_migration.run"; }
tasks_checkpoint() {
    q -d "$1" -c "SELECT phase, processed FROM nextcrm_migration.checkpoint WHERE collection = 'Tasks'"
}

target resume_base
migrate resume_base >/dev/null 2>&1
is "$(status resume_base)" done "an uninterrupted run of $N documents completes"
base=$(digest resume_base)
is "$(q -d resume_base -c "SELECT string_agg(documents::text, ',' ORDER BY batch)
                           FROM nextcrm_migration.batch_log WHERE collection = 'Tasks'")" 1000,191 \
    "Tasks takes two batches, 1000 and 191 documents"
tasks1=$(batch_id resume_base Tasks 1)
tasks2=$(batch_id resume_base Tasks 2)

# kill -9 of the worker while Tasks' second batch waits to commit: the
# postmaster restarts every backend; the run resumes from the last committed
# checkpoint, after Tasks' first batch.
target resume_kill
hold_start resume_kill "$(hold_batch_sql "$tasks2")"
migrate resume_kill >"$work/kill.out" 2>&1 &
caller=$!
IFS='|' read -r worker activity < <(wait_for_blocked_worker resume_kill "$HOLDER")
is "$activity" "migrating Tasks, batch 2" "the worker waits inside Tasks' second batch"
expect_kill "$worker"
kill -9 "$worker"
wait $caller
wait_for_server
ok $? "the server is back after kill -9 of the worker ($worker)"
hold_end
is "$(tasks_checkpoint resume_kill)" "running|1000" "the killed run committed Tasks' first batch, not its second"
done_before=$(q -d resume_kill -c "SELECT sum(processed) FROM nextcrm_migration.checkpoint")
holds "done_before > 1000 && done_before < N" "the killed run had committed part of the data ($done_before documents)"
# The non-unique indexes wait for the end of the load, recorded with their
# definitions (the resumed run builds them: the digests below compare every
# index and constraint too).
is "$(q -d resume_kill -c "SELECT count(*) > 0 AND bool_and(to_regclass(quote_ident(name)) IS NULL)
                           FROM nextcrm_migration.deferred_index")" t \
    "the killed run's deferred indexes are recorded and not built"
# The foreign keys the batches' reference check decides are added back after
# the load too.  A row written into a target table between two runs that
# breaks one (here a task naming no user) ends the resumed run with
# PostgreSQL's error naming the key, which stays recorded; once the row is
# gone, the next run adds it.
stray=00000000-0000-4000-8000-000000000022
q -d resume_kill -c "INSERT INTO \"Tasks\" SELECT (jsonb_populate_record(NULL::\"Tasks\", to_jsonb(t)
    || jsonb_build_object('id', '$stray', 'user', gen_random_uuid()))).* FROM \"Tasks\" t LIMIT 1" >/dev/null
out=$(migrate resume_kill 2>&1)
fails $? "the resumed run fails when a row breaks a deferred foreign key"
like "$out" 'ERROR:  insert or update on table "Tasks" violates foreign key constraint "Tasks_user_fkey".*HINT:  Delete or correct the rows of table "Tasks" that break its key "Tasks_user_fkey" \(FOREIGN KEY \("user"\) REFERENCES public."Users"\(id\)' \
    "the caller sees PostgreSQL's error naming the key, and what to do"
is "$(status resume_kill)|$(q -d resume_kill -c "SELECT message FROM nextcrm_migration.run")" \
    'failed|insert or update on table "Tasks" violates foreign key constraint "Tasks_user_fkey"' "the failure is recorded with that message"
is "$(q -d resume_kill -c "SELECT string_agg(table_name || '.' || name, ',') FROM nextcrm_migration.deferred_constraint")" \
    Tasks.Tasks_user_fkey "that key stays recorded, every other one is added back"
q -d resume_kill -c "DELETE FROM \"Tasks\" WHERE id = '$stray'" >/dev/null
migrate resume_kill >/dev/null 2>&1
is "$(status resume_kill)" done "the resumed run completes"
is "$(digest resume_kill)" "$base" "after kill -9 and resume, every table equals the uninterrupted run"

# Ctrl+C in the calling session while Tasks' first batch waits to commit:
# the worker stops after that batch.  Its bookkeeping goes on once the test
# lets it; the second batch's is held too, so the run stops after the first
# batch whether the stop request (SIGTERM) reaches the worker before that
# batch ends (it stops then) or after (the second batch waits until the
# caller cancels it, SIGINT, 5 s after its request).
target resume_cancel
hold_start resume_cancel "$(hold_batch_sql "$tasks2") SAVEPOINT first; $(hold_batch_sql "$tasks1")"
migrate resume_cancel >"$work/cancel.out" 2>&1 &
caller=$!
IFS='|' read -r worker activity < <(wait_for_blocked_worker resume_cancel "$HOLDER")
is "$activity" "migrating Tasks, batch 1" "the worker waits inside Tasks' first batch"
q -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity
      WHERE datname = 'resume_cancel' AND query LIKE '%nextcrm_migrate_all%' AND pid <> pg_backend_pid()
        AND backend_type = 'client backend'" >/dev/null
hold_send "ROLLBACK TO SAVEPOINT first;"
wait $caller
fails $? "the cancelled call ends with an error"
like "$(cat "$work/cancel.out")" "canceling statement due to user request" "the user sees the cancel"
is "$(wait_for_no_worker resume_cancel)" 0 "no worker is left running"
hold_end
is "$(status resume_cancel)" stopped "the worker recorded that it stopped"
is "$(tasks_checkpoint resume_cancel)" "running|1000" "after Tasks' first batch"
is "$(q -d resume_cancel -c "SELECT count(*) > 0 FROM nextcrm_migration.deferred_index")" t \
    "the stopped run left its deferred indexes for the next one"
is "$(q -d resume_cancel -c "SELECT count(*) > 0 AND bool_and(NOT EXISTS (SELECT FROM pg_constraint k
                               WHERE k.conname = d.name AND k.conrelid = to_regclass(quote_ident(d.table_name))))
                             FROM nextcrm_migration.deferred_constraint d")" t \
    "the stopped run's deferred foreign keys are recorded and absent"
# nextcrm_validate's "references enforced" fails for the tables whose keys
# are missing, and passes once they are back.
enforced="SELECT count(*) FILTER (WHERE status <> 'pass') > 0 FROM nextcrm_validate('src', 1, 10)
            WHERE \"check\" = 'references enforced'"
is "$(q -d resume_cancel -c "$enforced" 2>&1)" t "validation fails references enforced while keys are dropped"
# pg_dump and pg_restore of the stopped target: the restored one resumes to
# the same result (its record's ids continue; restored at 1, they collided
# with the restored errors and repairs and the resumed run failed).
pg_dump -Fc -d resume_cancel -f "$work/stopped.dump"
q -c "DROP DATABASE IF EXISTS resume_restored" -c "CREATE DATABASE resume_restored" >/dev/null
pg_restore -d resume_restored "$work/stopped.dump"
ok $? "a stopped target dumps and restores"
migrate resume_restored >/dev/null 2>&1
is "$(status resume_restored)|$(digest resume_restored)" "done|$base" \
    "the restored stopped target resumes to the uninterrupted run's result, its keys added back"
# A recorded key added back by hand while the run is stopped is the key
# itself: the resumed run records it again and drops it (the digest below),
# or, with defer_foreign_keys off (a copy), only forgets it; it used to fail
# every run, restart => true included ("duplicate key", "already exists").
# One added back with another definition is the user's to settle, as the
# error's hint says.
readd='ALTER TABLE "Tasks" DROP CONSTRAINT IF EXISTS "Tasks_user_fkey",
         ADD CONSTRAINT "Tasks_user_fkey" FOREIGN KEY ("user") REFERENCES "Users"(id) ON UPDATE CASCADE'
q -d resume_cancel -c "$readd ON DELETE SET NULL" >/dev/null
q -c "CREATE DATABASE resume_cancel_keep TEMPLATE resume_cancel" \
    -c "ALTER DATABASE resume_cancel_keep SET nextcrm_mongo_fdw.defer_foreign_keys = off" >/dev/null
q -d resume_cancel_keep -c "$readd ON DELETE CASCADE" >/dev/null
out=$(migrate resume_cancel_keep 2>&1)
like "$out" 'ERROR:  constraint "Tasks_user_fkey" for relation "Tasks" already exists.*HINT:  Drop constraint "Tasks_user_fkey" of table "Tasks" to have the migration add its key back \(FOREIGN KEY \("user"\) REFERENCES public."Users"\(id\) ON UPDATE CASCADE ON DELETE SET NULL\), or delete that key.s row from nextcrm_migration.deferred_constraint' \
    "a key added back by hand with another definition ends the run, saying how to settle it"
q -d resume_cancel_keep -c "$readd ON DELETE SET NULL" >/dev/null
migrate resume_cancel_keep >/dev/null 2>&1
is "$(status resume_cancel_keep)|$(digest resume_cancel_keep)" "done|$base" \
    "with defer_foreign_keys off, a resumed run forgets a recorded key that is there again, as it was"
migrate resume_cancel >/dev/null 2>&1
is "$(digest resume_cancel)" "$base" "after Ctrl+C and resume, every table equals the uninterrupted run"
is "$(q -d resume_cancel -c "SELECT count(*) FROM nextcrm_migration.deferred_index")|$(q -d resume_cancel -c "SELECT count(*) FROM nextcrm_migration.deferred_constraint")" \
    "0|0" "the resumed run built every deferred index and added every deferred key"
is "$(q -d resume_cancel -c "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated")|$(q -d resume_cancel -c "$enforced")" \
    "0|f" "every key is validated, and validation passes references enforced"

# nextcrm_mongo_fdw.defer_indexes and .defer_foreign_keys = off, the
# database's settings (the worker reads them, not the caller's session):
# every batch maintains the indexes and PostgreSQL checks the keys row by row,
# none is dropped, and the result is the same (the digest compares every
# key's definition and validation with the default run, whose keys were
# dropped and added back).  While that run waits inside
# Tasks, a second call is refused with a clear error.
target resume_keep
q -c "ALTER DATABASE resume_keep SET nextcrm_mongo_fdw.defer_indexes = off" >/dev/null
q -c "ALTER DATABASE resume_keep SET nextcrm_mongo_fdw.defer_foreign_keys = off" >/dev/null
fkeys="SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace"
nonunique="SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
            WHERE c.relnamespace = 'public'::regnamespace AND NOT i.indisunique"
hold_start resume_keep "$(hold_batch_sql "$tasks1")"
migrate resume_keep >/dev/null 2>&1 &
caller=$!
IFS='|' read -r worker activity < <(wait_for_blocked_worker resume_keep "$HOLDER")
is "$activity" "migrating Tasks, batch 1" "the worker waits inside Tasks"
out=$(migrate resume_keep 2>&1)
like "$out" "already running.*DETAIL:  Its worker's process ID is $worker\\." "a second migration of the same database is refused, naming the running worker"
is "$(q -d resume_keep -c "SELECT count(*) FROM nextcrm_migration.deferred_index")|$(q -d resume_keep -c "$nonunique")" \
    "0|$(q -d resume_base -c "$nonunique")" "with defer_indexes off, no index is dropped during the load"
is "$(q -d resume_keep -c "SELECT count(*) FROM nextcrm_migration.deferred_constraint")|$(q -d resume_keep -c "$fkeys")" \
    "0|$(q -d resume_base -c "$fkeys")" "with defer_foreign_keys off, no foreign key is dropped during the load"
hold_end
wait $caller
is "$(status resume_keep)" done "the first one finishes undisturbed"
is "$(digest resume_keep)" "$base" "and the result equals the default run's"

# restart => true (indexes deferred again) starts over and arrives at the
# same result.
q -c "ALTER DATABASE resume_keep RESET nextcrm_mongo_fdw.defer_indexes" >/dev/null
q -c "ALTER DATABASE resume_keep RESET nextcrm_mongo_fdw.defer_foreign_keys" >/dev/null
q -d resume_keep -c "SELECT * FROM nextcrm_migrate_all('src', restart => true)" >/dev/null 2>&1
is "$(status resume_keep)|$(digest resume_keep)" "done|$base" "restart => true starts over to the same result"

# FerretDB stops answering mid-run: the run fails with the driver's error,
# and resumes once the server is back.  It stops while Tasks' first batch
# waits to commit: that batch's documents are read; the second batch's
# read is the first to wait for the server.
"$BUILD_DIR/nextcrm_gen" --docs $N --seed 5 --uri "$MONGO_URI" --database resume_live 2>/dev/null
target resume_live_base
migrate resume_live_base live >/dev/null 2>&1
is "$(status resume_live_base)" done "the uninterrupted live run completes"
live_base=$(digest resume_live_base)
target resume_live
hold_start resume_live "$(hold_batch_sql "$(batch_id resume_live_base Tasks 1)")"
migrate resume_live live >"$work/live.out" 2>&1 &
caller=$!
IFS='|' read -r worker activity < <(wait_for_blocked_worker resume_live "$HOLDER")
is "$activity" "migrating Tasks, batch 1" "the live run waits inside Tasks"
kill -STOP "$RIG_FERRETDB_PID"
hold_end
wait $caller
status=$?
kill -CONT "$RIG_FERRETDB_PID"
holds "status != 0" "the run fails while FerretDB does not answer"
like "$(cat "$work/live.out")" "ERROR: .*CONTEXT: .*nextcrm migration worker" \
    "the caller is told why: the worker's own error, relayed"
is "$(status resume_live)" failed "the failure is recorded"
is "$(tasks_checkpoint resume_live)" "running|1000" "after Tasks' first batch"
migrate resume_live live >/dev/null 2>&1
is "$(status resume_live)" done "the run resumes once FerretDB answers again"
is "$(digest resume_live)" "$live_base" "after the outage, every table equals the uninterrupted run"

for d in resume_base resume_kill resume_cancel resume_keep resume_live_base resume_live resume_empty; do
    q -c "DROP DATABASE $d" >/dev/null
done
done_testing
