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
