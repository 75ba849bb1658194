#!/usr/bin/env bash
# The caller and the worker live and die together, and a hostile session
# changes nothing: functions and operators planted earlier on the caller's
# search_path (the reference run), then, one after another in one database,
# each resumed from the last, the worker's error relayed whole to the caller,
# pg_terminate_backend on the caller, pg_cancel_backend on the worker and a
# statement_timeout while the worker waits for a lock, and two databases
# migrating at the same time.  The server-log crash check of
# scripts/test runs after this suite like after every other.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
N=20000
"$BUILD_DIR/nextcrm_gen" --docs $N --seed 9 --dump-dir "$work/dump" 2>/dev/null
chmod -R a+rX "$work/dump"
dump_opts="dump_dir '$work/dump'"

# Waits until no worker runs in database $1; fails if one stays 30 s.
workers_gone() { # db
    wait_in_server "NOT EXISTS (SELECT FROM pg_stat_activity
                                 WHERE backend_type = 'nextcrm migration' AND datname = '$1')" 30 \
        >/dev/null 2>&1
}
caller_pid() { # db
    q -c "SELECT pid FROM pg_stat_activity WHERE datname = '$1'
            AND query LIKE '%nextcrm_migrate_all%' AND backend_type = 'client backend'
            AND pid <> pg_backend_pid()"
}
batches() { # db: batches committed so far
    q -d "$1" -c "SELECT count(*) FROM nextcrm_migration.batch_log"
}

# 1. A hostile search_path: a non-superuser plants, in a schema the victim
# puts first on its path, functions and operators that shadow what the
# extension's SQL calls; the victim migrates and validates.  Nothing planted
# runs.  This uninterrupted run is the reference every interrupted one is
# compared with below: a plant that changed its result would make those
# comparisons fail too.
make_target life_base "$dump_opts"
q -d life_base >/dev/null <<'SQL'
DROP ROLE IF EXISTS mallory;
CREATE ROLE mallory LOGIN;
CREATE SCHEMA mallory AUTHORIZATION mallory;
CREATE TABLE mallory.calls (what text);
GRANT INSERT, SELECT ON mallory.calls TO PUBLIC;
SQL
q -d life_base -U mallory >/dev/null <<'SQL'
CREATE FUNCTION mallory.trap(what text) RETURNS void LANGUAGE sql
  AS $$ INSERT INTO mallory.calls VALUES (what) $$;
CREATE FUNCTION mallory.format(text, text, integer, bigint, bigint, numeric, numeric,
                               double precision, text) RETURNS text LANGUAGE sql
  AS $$ SELECT mallory.trap('format9'); SELECT 'planted' $$;
CREATE FUNCTION mallory.format(text, text) RETURNS text LANGUAGE sql
  AS $$ SELECT mallory.trap('format2'); SELECT 'planted' $$;
CREATE FUNCTION mallory.format(text, text, text) RETURNS text LANGUAGE sql
  AS $$ SELECT mallory.trap('format3'); SELECT 'planted' $$;
CREATE FUNCTION mallory.to_regclass(text) RETURNS regclass LANGUAGE sql
  AS $$ SELECT mallory.trap('to_regclass'); SELECT NULL::regclass $$;
CREATE FUNCTION mallory.eq(text, varchar) RETURNS boolean LANGUAGE sql
  AS $$ SELECT mallory.trap('='); SELECT $1 = $2::text $$;
CREATE OPERATOR mallory.= (LEFTARG = text, RIGHTARG = varchar, FUNCTION = mallory.eq);
CREATE FUNCTION mallory.eq_name(name, text) RETURNS boolean LANGUAGE sql
  AS $$ SELECT mallory.trap('name='); SELECT $1::text = $2 $$;
CREATE OPERATOR mallory.= (LEFTARG = name, RIGHTARG = text, FUNCTION = mallory.eq_name);
CREATE FUNCTION mallory.gt(bigint, integer) RETURNS boolean LANGUAGE sql
  AS $$ SELECT mallory.trap('>'); SELECT $1 > $2::bigint $$;
CREATE OPERATOR mallory.> (LEFTARG = bigint, RIGHTARG = integer, FUNCTION = mallory.gt);
CREATE FUNCTION mallory.nextcrm_validate(name, double precision, int, text)
  RETURNS TABLE (family text, "table" text, "check" text, status text,
                 expected text, actual text, details text) LANGUAGE sql
  AS $$ SELECT mallory.trap('nextcrm_validate');
        SELECT 'summary', NULL, NULL, 'pass', NULL, NULL, NULL $$;
SQL
ok $? "a non-superuser planted functions and operators in its schema"
q -d life_base -c "SET search_path = mallory, public" -c "SELECT format('%s', 'x'::text)" >/dev/null
is "$(q -d life_base -c "SELECT count(*) FROM mallory.calls")" 1 \
    "the plant works: a plain query on that path calls it"
q -d life_base -c "TRUNCATE mallory.calls"
out=$(q -d life_base -c "SET search_path = mallory, public" \
    -c "SELECT count(*) FROM nextcrm_migrate_all('src')" 2>"$work/hostile.err")
is "$out" 29 "the migration runs to its end under the hostile search_path"
is "$(q -d life_base -c "SELECT status FROM nextcrm_migration.run")" done \
    "an uninterrupted run of $N documents completes"
# One validation (each reads every collection again): the strict one runs
# nextcrm_validate itself, which sets its own search_path whoever calls it,
# and fails on any failed check.
out=$(q -d life_base -F ' ' -c "SET search_path = mallory, public" \
    -c "SELECT count(*) FILTER (WHERE status = 'fail'), count(*) > 1 FROM nextcrm_validate_strict('src')" 2>&1)
is "${out% *}" 0 "validation passes under the hostile search_path"
is "${out#* }" t "the strict validation runs the extension's own checks under the hostile search_path"
is "$(q -d life_base -c "SELECT coalesce(string_agg(DISTINCT what, ', '), 'nothing') FROM mallory.calls")" nothing \
    "nothing planted ran"
q -d life_base -c "DROP SCHEMA mallory CASCADE" >/dev/null
base=$(digest life_base)
base_errors=$(q -d life_base -c "SELECT count(*) FROM nextcrm_migration.errors")

# 2-5 interrupt one migration of one database again and again, each time
# resuming where the last interruption left it (every interruption leaves
# the run resumable, which is what the final comparisons check), and end
# with a complete run equal to the reference.
make_target life_run "$dump_opts"

# 2. The worker's own error reaches the caller whole, through the channel:
# with the database's lock_timeout (which the worker, connecting to it, takes
# on), the worker's write to batch_log times out behind a third session's
# lock.  The caller's ERROR has the worker's SQLSTATE (55P03) and message and
# says where it came from; the session goes on and the worker is gone.  The
# caller itself reads no table while it waits, so that lock cannot touch it.
q -c "ALTER DATABASE life_run SET lock_timeout = '500ms'" >/dev/null
coproc LOCKER { q -d life_run; }
q -d life_run -v ON_ERROR_STOP=0 -v VERBOSITY=verbose >"$work/loop.out" 2>&1 <<'SQL' &
SELECT count(*) FROM nextcrm_migrate_all('src');
SELECT 'session goes on';
SQL
caller=$!
wait_for_batches life_run 2
echo "BEGIN; LOCK TABLE nextcrm_migration.batch_log IN ACCESS EXCLUSIVE MODE; SELECT 'locked';" >&"${LOCKER[1]}"
read -r locked <&"${LOCKER[0]}"
is "$locked" locked "a third session holds batch_log"
wait $caller
like "$(cat "$work/loop.out")" "ERROR:  55P03: canceling statement due to lock timeout" \
    "the worker's error reaches the caller as an ERROR with its SQLSTATE"
like "$(cat "$work/loop.out")" "nextcrm migration worker" "and says it came from the worker"
like "$(cat "$work/loop.out")" "NOTICE:  00000: [A-Za-z_]+: batch 1, " \
    "the worker's progress NOTICEs reached the caller before it"
like "$(cat "$work/loop.out")" "session goes on" "the calling session goes on after it"
workers_gone life_run
ok $? "the worker is gone while the lock is still held"
echo "COMMIT;" >&"${LOCKER[1]}"
exec {LOCKER[1]}>&-
wait "$LOCKER_PID" 2>/dev/null
is "$(q -d life_run -c "SELECT status FROM nextcrm_migration.run")" failed "the run is recorded as failed"
q -c "ALTER DATABASE life_run RESET lock_timeout" >/dev/null

# 3. pg_terminate_backend on the caller of the resumed run: the worker stops
# after its batch.
done_batches=$(batches life_run)
q -d life_run -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1 &
caller=$!
wait_for_batches life_run $((done_batches + 2))
pid=$(caller_pid life_run)
q -c "SELECT pg_terminate_backend($pid)" >/dev/null
wait $caller
workers_gone life_run
ok $? "the worker stops once its caller is terminated"
is "$(q -d life_run -c "SELECT status FROM nextcrm_migration.run")" stopped "the run is recorded as stopped"
processed=$(q -d life_run -c "SELECT sum(processed) FROM nextcrm_migration.checkpoint")
holds "processed < N" "the worker did not run on to the end ($processed of $N documents)"

# 4. pg_cancel_backend on the worker of the run resumed again: a cancel, not
# a document's failure.
done_batches=$(batches life_run)
q -d life_run -c "SELECT * FROM nextcrm_migrate_all('src')" >"$work/wcancel.out" 2>&1 &
caller=$!
wait_for_batches life_run $((done_batches + 2))
worker=$(q -d life_run -c "SELECT worker_pid FROM nextcrm_migration.run")
q -c "SELECT pg_cancel_backend($worker)" >/dev/null
wait $caller
fails $? "the caller ends with an error when its worker is cancelled"
like "$(cat "$work/wcancel.out")" "stopped before its end" "the caller says the migration did not finish"
is "$(q -d life_run -c "SELECT status FROM nextcrm_migration.run")" stopped "the run is recorded as stopped"
is "$(q -d life_run -c "SELECT count(*) FROM nextcrm_migration.errors WHERE sqlstate = '57014'")" 0 \
    "no document is recorded as failed by the cancel"
processed=$(q -d life_run -c "SELECT sum(processed) FROM nextcrm_migration.checkpoint")
holds "processed < N" "the worker did not run on to the end ($processed of $N documents)"

# Resumed after the worker's error, the terminated caller and the cancelled
# worker, the run ends where the uninterrupted one did.
q -d life_run -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1
is "$(q -d life_run -c "SELECT status FROM nextcrm_migration.run")" done "resumed, the run completes"
is "$(q -d life_run -c "SELECT count(*) FROM nextcrm_migration.errors")" "$base_errors" \
    "resumed, the error table holds exactly the uninterrupted run's errors"
is "$(digest life_run)" "$base" "resumed, every table equals the uninterrupted run"

# 5. statement_timeout on the caller of a restart of that finished migration
# while the worker waits for a lock a third session holds (and a fourth
# session queues behind it): the caller returns, the worker's wait is
# cancelled, nothing is left running.
coproc LOCKER2 { q -d life_run; }
echo "BEGIN; LOCK TABLE nextcrm_migration.checkpoint IN ACCESS EXCLUSIVE MODE; SELECT 'locked';" >&"${LOCKER2[1]}"
read -r locked <&"${LOCKER2[0]}"
is "$locked" locked "a third session holds checkpoint"
q -d life_run -c "BEGIN" -c "LOCK TABLE nextcrm_migration.checkpoint" -c "COMMIT" >/dev/null 2>&1 &
waiter=$!
q -d life_run -v ON_ERROR_STOP=0 >"$work/lock.out" 2>&1 <<'SQL'
SET statement_timeout = '1s';
SELECT count(*) FROM nextcrm_migrate_all('src', restart => true);
SELECT 'session goes on';
SQL
like "$(cat "$work/lock.out")" "canceling statement due to statement timeout" \
    "statement_timeout ends the call while the worker waits for a lock"
like "$(cat "$work/lock.out")" "session goes on" "the calling session goes on after it"
workers_gone life_run
ok $? "the blocked worker is cancelled, not left waiting"
echo "COMMIT;" >&"${LOCKER2[1]}"
exec {LOCKER2[1]}>&-
wait "$LOCKER2_PID" 2>/dev/null
wait $waiter
q -d life_run -c "SELECT * FROM nextcrm_migrate_all('src', restart => true)" >/dev/null 2>&1
is "$(digest life_run)" "$base" "run again, every table equals the uninterrupted run"

# 6. Two runs at once, in two databases: each has its own worker.  A session
# in each database holds nextcrm_migration.foreign_ids, which the worker first
# writes in tasksComments (the small fixture's string _id), so both workers
# wait there at the same time; once the locks go, both runs complete with
# what sql/fixture_migration.sql expects of that fixture (93 rows, 7 errors)
# and equal results.  (A second run in the same database is refused:
# migrate_resume.sh.)
fixture="dump_dir '$NEXTCRM_ROOT/test/fixtures/regress_dump'"
callers=() holders=() holder_pids=()
for db in life_two_a life_two_b; do
    make_target "$db" "$fixture"
    mkfifo "$work/$db.in"
    q -d "$db" <"$work/$db.in" >"$work/$db.holder" 2>&1 &
    holder_pids+=($!)
    exec {holder}>"$work/$db.in"
    holders+=("$holder")
    echo "BEGIN; LOCK TABLE nextcrm_migration.foreign_ids IN SHARE MODE; SELECT 'locked';" >&"$holder"
    wait_for_output locked "$work/$db.holder"
    ok $? "$db: a session holds nextcrm_migration.foreign_ids"
    q -d "$db" -c "SELECT * FROM nextcrm_migrate_all('src')" >"$work/$db.out" 2>&1 &
    callers+=($!)
done
# Both workers wait for the lock at once, one in each database.
waiting=""
for ((i = 0; i < 2400; i++)); do
    waiting=$(q -c "SELECT string_agg(DISTINCT a.datname::text, ' ' ORDER BY a.datname::text)
                      FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                     WHERE NOT l.granted AND a.backend_type = 'nextcrm migration'")
    [[ $waiting == "life_two_a life_two_b" ]] && break
    sleep 0.05
done
is "$waiting" "life_two_a life_two_b" "both databases' workers run at the same time"
for holder in "${holders[@]}"; do
    echo "COMMIT;" >&"$holder"
    exec {holder}>&-
done
wait "${holder_pids[@]}"
for caller in "${callers[@]}"; do
    wait "$caller"
    ok $? "a run of the two ends without an error"
done
for db in life_two_a life_two_b; do
    is "$(q -d "$db" -c "SELECT status FROM nextcrm_migration.run")" done "$db: the run completes"
    is "$(q -d "$db" -c "SELECT sum(migrated) || ' ' || sum(failed) FROM nextcrm_migration.checkpoint")" \
        "93 7" "$db: 93 documents migrated, 7 recorded as errors"
done
is "$(digest life_two_b)" "$(digest life_two_a)" "both databases hold the same result"

for d in life_base life_run life_two_a life_two_b; do
    q -c "DROP DATABASE $d" >/dev/null
done
q -c "DROP ROLE mallory" >/dev/null

done_testing
