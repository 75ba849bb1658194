#!/usr/bin/env bash
# The worker's final error reaches the caller with every field (its context,
# schema, table and constraint names, not only message, detail and hint), and
# an error a document caused at a batch's commit quotes no document value in
# the caller's error or the server log: a deferred unique constraint a user
# added to a target table is checked at COMMIT, after the row-by-row fallback
# had its chance, and PostgreSQL's detail ("Key (name)=(...) already
# exists") names the value.  A worker that fails before it records its run
# is reported by its error, not by the last run's outcome.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
"$BUILD_DIR/nextcrm_gen" --docs 20000 --seed 9 --dump-dir "$work/dump" 2>/dev/null
chmod -R a+rX "$work/dump"

make_target worker_error "dump_dir '$work/dump'"
q -d worker_error -c "SELECT * FROM nextcrm_migrate_table('src', 'Users')" >/dev/null 2>&1
# The names users share: the canaries that must not appear in any message.
q -d worker_error -c 'SELECT name FROM "Users" WHERE name IS NOT NULL
                      GROUP BY name HAVING count(*) > 1' >"$work/canaries"
holds "$(wc -l <"$work/canaries") > 0" "the generated users share names (the canaries)"

# 1. A deferred unique constraint: the batch's COMMIT fails.
q -d worker_error >/dev/null <<'SQL'
SET client_min_messages = warning;
TRUNCATE "Users" CASCADE;
ALTER TABLE "Users" ADD CONSTRAINT users_name_once UNIQUE (name) DEFERRABLE INITIALLY DEFERRED;
SQL
log_from=$(($(wc -l <"$PG_LOG") + 1))
q -d worker_error -v ON_ERROR_STOP=0 -v VERBOSITY=verbose >"$work/unique.out" 2>&1 <<'SQL'
SELECT * FROM nextcrm_migrate_table('src', 'Users', restart => true);
SELECT 'session goes on';
SQL
out=$(cat "$work/unique.out")
like "$out" "ERROR:  23505: duplicate key value violates unique constraint \"users_name_once\"" \
    "the deferred violation reaches the caller with its SQLSTATE and message"
like "$out" "CONSTRAINT NAME:  users_name_once" "with the constraint's name"
like "$out" "TABLE NAME:  Users" "and the table's"
like "$out" "session goes on" "the session goes on"
fails "$(grep -qF -f "$work/canaries" "$work/unique.out"; echo $?)" \
    "the caller's error does not quote the duplicated value"
fails "$(tail -n +"$log_from" "$PG_LOG" | grep -qF -f "$work/canaries"; echo $?)" \
    "the server log does not quote it"
is "$(q -d worker_error -c "SELECT status FROM nextcrm_migration.run")" failed \
    "the run is recorded as failed"

# 2. A trigger's own error (not a document's fault): its PL/pgSQL context
# reaches the caller too.
q -d worker_error >/dev/null <<'SQL'
ALTER TABLE "Users" DROP CONSTRAINT users_name_once;
CREATE FUNCTION refuse_users() RETURNS trigger LANGUAGE plpgsql
    AS $$BEGIN RAISE EXCEPTION 'users are refused here'; END$$;
CREATE TRIGGER refuse_users BEFORE INSERT ON "Users" FOR EACH ROW EXECUTE FUNCTION refuse_users();
SQL
out=$(q -d worker_error -v ON_ERROR_STOP=0 -v VERBOSITY=verbose 2>&1 \
    -c "SELECT * FROM nextcrm_migrate_table('src', 'Users', restart => true)")
like "$out" "ERROR:  P0001: users are refused here" "the trigger's error reaches the caller"
like "$out" "PL/pgSQL function public.refuse_users\(\) line 1 at RAISE" "with the trigger's context"
like "$out" "nextcrm migration worker" "and the worker named as its origin"

# 3. A worker that fails before it records anything (it may not log in as
# the calling role) leaves the run table with the last run's outcome: its own
# error is reported, not that outcome.  The last run is a complete
# nextcrm_migrate_table(), recorded as stopped (the migration as a whole is
# not complete).
q -d worker_error -c 'DROP TRIGGER refuse_users ON "Users"' \
    -c "SELECT * FROM nextcrm_migrate_table('src', 'Users', restart => true)" >/dev/null 2>&1
is "$(q -d worker_error -c "SELECT status FROM nextcrm_migration.run")" stopped \
    "a migration of one collection is recorded as stopped"
q -c "DROP ROLE IF EXISTS worker_nologin" -c "CREATE ROLE worker_nologin SUPERUSER NOLOGIN" >/dev/null
out=$(q -d worker_error -v ON_ERROR_STOP=0 -v VERBOSITY=verbose 2>&1 -c "SET ROLE worker_nologin" \
    -c "SELECT * FROM nextcrm_migrate_table('src', 'Users')")
like "$out" "ERROR:  28000: role \"worker_nologin\" is not permitted to log in" \
    "a worker that cannot log in: its error reaches the caller"
q -c "DROP ROLE worker_nologin" >/dev/null
# A database whose transactions are read-only by default: the worker cannot
# even record its run.  Its error arrives with its source location intact
# (the worker keeps a copy that outlives the aborted transaction).
q -c "ALTER DATABASE worker_error SET default_transaction_read_only = on" >/dev/null
out=$(q -d worker_error -v ON_ERROR_STOP=0 -v VERBOSITY=verbose 2>&1 \
    -c "SELECT * FROM nextcrm_migrate_table('src', 'Users')")
like "$out" "ERROR:  25006: cannot execute INSERT in a read-only transaction" \
    "a worker that cannot record its run: its error reaches the caller"
like "$out" "LOCATION:  PreventCommandIfReadOnly, utility.c" "with the location it was raised at"
q -c "ALTER DATABASE worker_error RESET default_transaction_read_only" >/dev/null

is "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nextcrm migration'")" 0 \
    "no worker is left"
q -c 'DROP DATABASE worker_error' >/dev/null
done_testing
