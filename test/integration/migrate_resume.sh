#!/usr/bin/env bash
# Interrupting a migration loses at most the batch in flight, and resuming it
# neither skips nor doubles a document: after kill -9 of the worker, after
# Ctrl+C in the calling session, and after FerretDB stops answering, a resumed
# run leaves every target table identical to an uninterrupted run.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

work=$(mktemp -d)
chmod 755 "$work"
trap 'kill -CONT "$RIG_FERRETDB_PID" 2>/dev/null; rm -rf "$work"' EXIT
N=20000
"$BUILD_DIR/nextcrm_gen" --docs $N --seed 5 --dump-dir "$work/dump" 2>/dev/null
chmod -R a+rX "$work/dump"
dump_opts="dump_dir '$work/dump'"

make_target resume_base "$dump_opts"
q -d resume_base -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1
is "$(q -d resume_base -c "SELECT status FROM nextcrm_migration.run")" done \
    "an uninterrupted run of $N documents completes"
base=$(digest resume_base)

# kill -9 of the worker between batches' commits: the postmaster restarts
# every backend; the run resumes from the last committed checkpoint.
make_target resume_kill "$dump_opts"
q -d resume_kill -c "SELECT * FROM nextcrm_migrate_all('src')" >"$work/kill.out" 2>&1 &
caller=$!
wait_for_batches resume_kill 4
worker=$(q -d resume_kill -c "SELECT worker_pid FROM nextcrm_migration.run")
expect_kill "$worker"
kill -9 "$worker"
wait $caller
wait_for_server
ok $? "the server is back after kill -9 of the worker ($worker)"
done_before=$(q -d resume_kill -c "SELECT sum(processed) FROM nextcrm_migration.checkpoint")
holds "done_before > 0 && done_before < N" "the killed run had committed part of the data ($done_before documents)"
# The non-unique indexes wait for the end of the load, recorded with their
# definitions (the resumed run builds them: the digests below compare every
# index and constraint too).
is "$(q -d resume_kill -c "SELECT count(*) > 0 AND bool_and(to_regclass(quote_ident(name)) IS NULL)
                           FROM nextcrm_migration.deferred_index")" t \
    "the killed run's deferred indexes are recorded and not built"
q -d resume_kill -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1
is "$(q -d resume_kill -c "SELECT status FROM nextcrm_migration.run")" done "the resumed run completes"
is "$(digest resume_kill)" "$base" "after kill -9 and resume, every table equals the uninterrupted run"

# Ctrl+C in the calling session: the worker stops after its current batch.
make_target resume_cancel "$dump_opts"
q -d resume_cancel -c "SELECT * FROM nextcrm_migrate_all('src')" >"$work/cancel.out" 2>&1 &
caller=$!
wait_for_batches resume_cancel 4
q -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity
      WHERE datname = 'resume_cancel' AND query LIKE '%nextcrm_migrate_all%' AND pid <> pg_backend_pid()
        AND backend_type = 'client backend'" >/dev/null
wait $caller
fails $? "the cancelled call ends with an error"
like "$(cat "$work/cancel.out")" "canceling statement due to user request" "the user sees the cancel"
is "$(q -d resume_cancel -c "SELECT status FROM nextcrm_migration.run")" stopped \
    "the worker recorded that it stopped"
is "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nextcrm migration'")" 0 \
    "no worker is left running"
is "$(q -d resume_cancel -c "SELECT count(*) > 0 FROM nextcrm_migration.deferred_index")" t \
    "the stopped run left its deferred indexes for the next one"
q -d resume_cancel -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1
is "$(digest resume_cancel)" "$base" "after Ctrl+C and resume, every table equals the uninterrupted run"
is "$(q -d resume_cancel -c "SELECT count(*) FROM nextcrm_migration.deferred_index")" 0 \
    "the resumed run built every deferred index"

# A second call while one runs is refused with a clear error.
make_target resume_twice "$dump_opts"
q -d resume_twice -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1 &
caller=$!
wait_for_batches resume_twice 1
out=$(q -d resume_twice -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
like "$out" "already running" "a second migration of the same database is refused"
wait $caller
is "$(q -d resume_twice -c "SELECT status FROM nextcrm_migration.run")" done \
    "the first one finishes undisturbed"

# restart => true starts over and arrives at the same result.
q -d resume_twice -c "SELECT * FROM nextcrm_migrate_all('src', restart => true)" >/dev/null 2>&1
is "$(digest resume_twice)" "$base" "restart => true starts over to the same result"

# nextcrm_mongo_fdw.defer_indexes = off, the database's setting (the worker
# reads it, not the caller's session): every batch maintains the indexes,
# none is dropped, and the result is the same.
make_target resume_keep "$dump_opts"
q -c "ALTER DATABASE resume_keep SET nextcrm_mongo_fdw.defer_indexes = off" >/dev/null
nonunique="SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
            WHERE c.relnamespace = 'public'::regnamespace AND NOT i.indisunique"
q -d resume_keep -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1 &
caller=$!
wait_for_batches resume_keep 2
is "$(q -d resume_keep -c "SELECT count(*) FROM nextcrm_migration.deferred_index")|$(q -d resume_keep -c "$nonunique")" \
    "0|$(q -d resume_base -c "$nonunique")" "with defer_indexes off, no index is dropped during the load"
wait $caller
is "$(digest resume_keep)" "$base" "and the result equals the default run's"

# FerretDB stops answering mid-run: the run fails with the driver's error,
# and resumes once the server is back.
"$BUILD_DIR/nextcrm_gen" --docs $N --seed 5 --uri "$MONGO_URI" --database resume_live 2>/dev/null
live_opts="uri '$MONGO_URI', database 'resume_live', socket_timeout_ms '5000'"
make_target resume_live_base "$live_opts"
q -d resume_live_base -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1
is "$(q -d resume_live_base -c "SELECT status FROM nextcrm_migration.run")" done \
    "the uninterrupted live run completes"
live_base=$(digest resume_live_base)
make_target resume_live "$live_opts"
q -d resume_live -c "SELECT * FROM nextcrm_migrate_all('src')" >"$work/live.out" 2>&1 &
caller=$!
wait_for_batches resume_live 3
kill -STOP "$RIG_FERRETDB_PID"
wait $caller
status=$?
kill -CONT "$RIG_FERRETDB_PID"
holds "status != 0" "the run fails while FerretDB does not answer"
like "$(cat "$work/live.out")" "ERROR: .*CONTEXT: .*nextcrm migration worker" \
    "the caller is told why: the worker's own error, relayed"
is "$(q -d resume_live -c "SELECT status FROM nextcrm_migration.run")" failed "the failure is recorded"
q -d resume_live -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1
is "$(q -d resume_live -c "SELECT status FROM nextcrm_migration.run")" done \
    "the run resumes once FerretDB answers again"
is "$(digest resume_live)" "$live_base" "after the outage, every table equals the uninterrupted run"

for d in resume_base resume_kill resume_cancel resume_twice resume_keep resume_live_base resume_live; do
    q -c "DROP DATABASE $d" >/dev/null
done
done_testing
