# Helpers for the migration tests; sourced after tap.sh.

# Creates database $1 with the extension and a server "src" with the given
# server options (a string for OPTIONS (...)).
make_target() { # db options
    q -c "DROP DATABASE IF EXISTS \"$1\"" >/dev/null
    q -c "CREATE DATABASE \"$1\"" >/dev/null
    q -d "$1" >/dev/null <<SQL
CREATE EXTENSION nextcrm_mongo_fdw;
CREATE SERVER src FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS ($2);
CREATE USER MAPPING FOR CURRENT_USER SERVER src;
SQL
}

# The tables the migration writes, as quoted identifiers.
target_tables() {
    q -d "$1" -c "SELECT quote_ident(relname) FROM pg_class
                  WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'
                    AND relname <> '_prisma_migrations' ORDER BY relname"
}

# One digest of everything a migration leaves behind: every target row, the
# target's indexes and constraints (each with whether PostgreSQL validated
# it), and the error, repair and extra-key records (without their serial
# ids, batch numbers and times, which legitimately differ between runs).
digest() { # db
    local db=$1 t sql=""
    for t in $(target_tables "$db"); do
        sql+="SELECT '$t', md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) FROM $t x UNION ALL "
    done
    sql+="SELECT 'errors', md5(coalesce(string_agg(concat_ws('|', collection, source_id, field, sqlstate, message, document::text), E'\\n' ORDER BY collection, source_id, message), '')) FROM nextcrm_migration.errors UNION ALL "
    sql+="SELECT 'repairs', md5(coalesce(string_agg(concat_ws('|', collection, source_id, field, kind, original, replacement), E'\\n' ORDER BY collection, source_id, field, kind, original), '')) FROM nextcrm_migration.repairs UNION ALL "
    sql+="SELECT 'indexes', md5(coalesce(string_agg(pg_get_indexdef(i.indexrelid), E'\\n' ORDER BY pg_get_indexdef(i.indexrelid)), '')) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = 'public'::regnamespace AND c.relname <> '_prisma_migrations' UNION ALL "
    sql+="SELECT 'constraints', md5(coalesce(string_agg(concat_ws('|', conrelid::regclass, conname, pg_get_constraintdef(oid), convalidated), E'\\n' ORDER BY conrelid::regclass::text, conname), '')) FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> '_prisma_migrations' UNION ALL "
    sql+="SELECT 'extra_keys', md5(coalesce(string_agg(concat_ws('|', collection, source_id, keys::text), E'\\n' ORDER BY collection, source_id), '')) FROM nextcrm_migration.extra_keys"
    q -d "$db" -c "SELECT md5(string_agg(d, ',' ORDER BY d)) FROM ($sql) s(t, d0) CROSS JOIN LATERAL (SELECT t || '=' || d0) l(d)"
}

# Waits until database $1 has committed at least $2 batches.
wait_for_batches() { # db n
    local i
    for ((i = 0; i < 600; i++)); do
        [[ $(q -d "$1" -c "SELECT count(*) >= $2 FROM nextcrm_migration.batch_log" 2>/dev/null) == t ]] && return 0
        sleep 0.05
    done
    return 1
}

# Waits until the server accepts connections again (after a crash restart).
wait_for_server() {
    local i
    for ((i = 0; i < 600; i++)); do
        q -c 'SELECT 1' >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# Records a pid this test kills on purpose, so the crash check of the server
# log does not count it.
expect_kill() { echo "$1" >>"$RIG_DIR/expected_kills"; }

# The manifest (nextcrm_gen --manifest) as a psql variable for queries.
manifest_query() { # manifest-file db sql-using-:'m'
    q -d "$2" -v m="$(cat "$1")" <<<"$3"
}

# Waits, in the server, until the SQL condition $1 holds: one session looks
# every 10 ms (its statistics snapshot cleared each time), instead of a psql
# start per look, for at most $2 seconds (default 120), so that a condition
# that never holds fails instead of hanging the test.  Fails if it never
# holds.
wait_in_server() { # condition [seconds]
    q -c "SET statement_timeout = '${2:-120}s'" -c "DO \$\$ BEGIN
            LOOP
              PERFORM pg_stat_clear_snapshot();
              EXIT WHEN $1;
              PERFORM pg_sleep(0.01);
            END LOOP;
          END \$\$"
}

# A stop point the test fixes: a session on database $1 that runs the SQL $2
# in a transaction it keeps open (say, an INSERT into
# nextcrm_migration.batch_log of the id a given batch will get, which that
# batch's bookkeeping then waits for).  Returns once the SQL has run;
# HOLDER is its backend pid.  hold_send sends it more SQL (ROLLBACK TO
# SAVEPOINT ...), hold_end ends it, rolling the transaction back.
hold_start() { # db sql
    local fifo app=nextcrm_hold_$$_$RANDOM
    fifo=$(mktemp -u "${TMPDIR:-/tmp}/nextcrm-hold.XXXXXX")
    mkfifo "$fifo"
    PGAPPNAME=$app psql -X -q -At -d "$1" <"$fifo" >/dev/null 2>&1 &
    HOLD_PSQL=$!
    exec {HOLD_FD}>"$fifo"
    rm -f "$fifo"
    printf 'BEGIN;\n%s\nSELECT 1 AS held;\n' "$2" >&"$HOLD_FD"
    # Its output is buffered: the server says when it has run the SQL (and
    # whether it failed: then HOLDER is empty).
    HOLDER=
    wait_in_server "EXISTS (SELECT FROM pg_stat_activity WHERE application_name = '$app'
                              AND state LIKE 'idle in transaction%' AND query LIKE 'SELECT 1 AS held%')" &&
        HOLDER=$(q -c "SELECT pid FROM pg_stat_activity
                       WHERE application_name = '$app' AND state = 'idle in transaction'")
}
hold_send() { printf '%s\n' "$1" >&"$HOLD_FD"; }
hold_end() {
    # \q, not only the end of its input: a process started meanwhile (the
    # migration's psql, in the background) holds the FIFO open too.  In a
    # subshell: after a crash restart no one reads it, and SIGPIPE ends only
    # that.
    (printf 'ROLLBACK;\n\\q\n' >&"$HOLD_FD") 2>/dev/null
    exec {HOLD_FD}>&-
    wait "$HOLD_PSQL" 2>/dev/null
}

# The id that batch $3 of collection $2 has in nextcrm_migration.batch_log
# of database $1 (a finished run; a fresh run of the same source in a fresh
# database numbers its batches the same way: one row per batch with
# documents, in the order they commit).
batch_id() { # db collection batch
    q -d "$1" -c "SELECT id FROM nextcrm_migration.batch_log WHERE collection = '$2' AND batch = $3"
}

# SQL that holds batch_log id $1 for hold_start.
hold_batch_sql() { # id
    echo "INSERT INTO nextcrm_migration.batch_log (id, collection, batch, documents, processed, total,
            failed, overall_processed, overall_total, docs_per_second, eta_seconds)
          VALUES ($1, 'held by the test', 0, 0, 0, 0, 0, 0, 0, 0, 0);"
}

# Waits until the migration worker of database $1 waits for a lock that
# backend $2 holds; prints the worker's pid and what it reports doing
# ("migrating Tasks, batch 2"), separated by |.  Checked in the server
# every 10 ms for at most 2 minutes (a bound, so that a worker that never
# gets there fails the test instead of hanging it).
wait_for_blocked_worker() { # db holder-pid
    wait_in_server "EXISTS (SELECT FROM pg_stat_activity
                             WHERE backend_type = 'nextcrm migration' AND datname = '$1'
                               AND $2 = ANY (pg_blocking_pids(pid)))" &&
        q -c "SELECT pid, query FROM pg_stat_activity
              WHERE backend_type = 'nextcrm migration' AND datname = '$1'"
}

# Waits until no migration worker is left in database $1 (at most 2 minutes).
wait_for_no_worker() { # db
    wait_in_server "NOT EXISTS (SELECT FROM pg_stat_activity
                                 WHERE backend_type = 'nextcrm migration' AND datname = '$1')" 2>/dev/null &&
        q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nextcrm migration' AND datname = '$1'"
}
