#!/usr/bin/env bash
# A mongodump archive is read once (issue 22, requirement 4): the worker's
# first walk over it spools each collection's documents into PostgreSQL's
# temporary files, which the collections are then read from.  The spools
# are the worker's own temporary files while it runs and are gone when the
# run ends, is stopped, or its worker is killed; temp_file_limit reached
# during the walk fails the run with PostgreSQL's own error; and a run
# interrupted inside a collection resumes from the spool to the same
# result as an uninterrupted one.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
N=6000
"$BUILD_DIR/nextcrm_gen" --docs $N --seed 5 --dump-dir "$work/dump" 2>/dev/null
"$BUILD_DIR/nextcrm_archive" "$work/dump" "$work/n.archive" &&
    "$BUILD_DIR/nextcrm_archive" "$work/dump" "$work/n.archive.gz" --gzip
ok $? "the dump is written as a plain and a gzip archive"
chmod -R a+rX "$work"

migrate() { q -d "$1" -c "SELECT * FROM nextcrm_migrate_all('src')"; }
status() { q -d "$1" -c "SELECT status FROM nextcrm_migration.run"; }
# Temporary files in the cluster's temporary directories (pg_ls_tmpdir:
# the default tablespace's base/pgsql_tmp), and those of one process.
tmp_files() { q -c "SELECT count(*) FROM pg_ls_tmpdir()"; }
tmp_files_of() { q -c "SELECT count(*) FROM pg_ls_tmpdir() WHERE name LIKE 'pgsql_tmp$1.%'"; }
tasks_checkpoint() {
    q -d "$1" -c "SELECT phase, processed FROM nextcrm_migration.checkpoint WHERE collection = 'Tasks'"
}

make_target spool_dir "dump_dir '$work/dump'"
migrate spool_dir >/dev/null 2>&1
is "$(status spool_dir)" done "the folder migrates"
base=$(digest spool_dir)

for shape in n.archive n.archive.gz; do
    make_target spool_base "archive '$work/$shape'"
    migrate spool_base >/dev/null 2>&1
    is "$(status spool_base)" done "$shape: the archive migrates"
    is "$(digest spool_base)" "$base" "$shape: every table equals the folder's migration"
    is "$(tmp_files)" 0 "$shape: no temporary file is left after the run"
done
is "$(q -d spool_base -c "SELECT string_agg(documents::text, ',' ORDER BY batch)
                          FROM nextcrm_migration.batch_log WHERE collection = 'Tasks'")" 1000,191 \
    "Tasks takes two batches, 1000 and 191 documents"
tasks2=$(batch_id spool_base Tasks 2)

# Stopped (Ctrl+C in the calling session) while Tasks' first batch waits
# to commit (its second is held too, as migrate_resume.sh does, so the run
# stops after the first whenever the stop reaches the worker): the spools
# exist then, as the worker's temporary files, and are gone once it has
# stopped.  The resumed run reads Tasks from its 1001st document.
tasks1=$(batch_id spool_base Tasks 1)
make_target spool_cancel "archive '$work/n.archive'"
hold_start spool_cancel "$(hold_batch_sql "$tasks2") SAVEPOINT first; $(hold_batch_sql "$tasks1")"
migrate spool_cancel >"$work/cancel.out" 2>&1 &
caller=$!
IFS='|' read -r worker activity < <(wait_for_blocked_worker spool_cancel "$HOLDER")
is "$activity" "migrating Tasks, batch 1" "the worker waits inside Tasks' first batch"
holds "$(tmp_files_of "$worker") > 0" "its collections are spooled in its own temporary files"
q -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity
      WHERE datname = 'spool_cancel' AND query LIKE '%nextcrm_migrate_all%' AND pid <> pg_backend_pid()
        AND backend_type = 'client backend'" >/dev/null
hold_send "ROLLBACK TO SAVEPOINT first;"
wait $caller
fails $? "the cancelled call ends with an error"
is "$(wait_for_no_worker spool_cancel)" 0 "no worker is left running"
hold_end
is "$(status spool_cancel)" stopped "the worker recorded that it stopped"
is "$(tmp_files)" 0 "no temporary file is left after the worker stopped"
is "$(tasks_checkpoint spool_cancel)" "running|1000" "the stopped run ended inside Tasks"
migrate spool_cancel >/dev/null 2>&1
is "$(status spool_cancel)" done "the resumed run completes"
is "$(digest spool_cancel)" "$base" "resumed inside Tasks from the archive, every table equals the folder's"
is "$(tmp_files)" 0 "no temporary file is left after the resumed run"

# kill -9 of the worker with its spools open: the postmaster's restart
# removes them (remove_temp_files_after_crash), and the run resumes.
make_target spool_kill "archive '$work/n.archive.gz'"
hold_start spool_kill "$(hold_batch_sql "$tasks2")"
migrate spool_kill >/dev/null 2>&1 &
caller=$!
IFS='|' read -r worker activity < <(wait_for_blocked_worker spool_kill "$HOLDER")
is "$activity" "migrating Tasks, batch 2" "the worker waits inside Tasks' second batch"
holds "$(tmp_files_of "$worker") > 0" "its collections are spooled in its own temporary files"
expect_kill "$worker"
kill -9 "$worker"
wait $caller
wait_for_server
ok $? "the server is back after kill -9 of the worker ($worker)"
hold_end
is "$(tmp_files)" 0 "no temporary file is left after the worker was killed"
migrate spool_kill >/dev/null 2>&1
is "$(status spool_kill)" done "the resumed run completes"
is "$(digest spool_kill)" "$base" "after kill -9 and resume, every table equals the folder's"

# temp_file_limit (the database's setting, which the worker reads) smaller
# than the archive's documents: the walk fails with PostgreSQL's error, the
# run fails saying so, and no temporary file is left.
make_target spool_limit "archive '$work/n.archive'"
q -c "ALTER DATABASE spool_limit SET temp_file_limit = '256kB'" >/dev/null
out=$(migrate spool_limit 2>&1)
fails $? "the run fails when the spools exceed temp_file_limit"
# (18 quotes the setting's name.)
like "$out" 'temporary file size exceeds "?temp_file_limit"? \(256kB\)' "the caller sees PostgreSQL's error"
is "$(status spool_limit)" failed "the failure is recorded"
like "$(q -d spool_limit -c "SELECT message FROM nextcrm_migration.run")" "temp_file_limit" \
    "the run's record names the limit"
is "$(tmp_files)" 0 "no temporary file is left after the failed run"
q -c "ALTER DATABASE spool_limit RESET temp_file_limit" >/dev/null
migrate spool_limit >/dev/null 2>&1
is "$(status spool_limit)|$(digest spool_limit)" "done|$base" "without the limit, the same run completes"

for d in spool_dir spool_base spool_cancel spool_kill spool_limit; do
    q -c "DROP DATABASE $d" >/dev/null
done
done_testing
