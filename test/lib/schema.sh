# Helpers for the tests of the target schema; sourced after tap.sh.
#
#   schema_create_db DB   create database DB and apply prisma/migrations/*
#                         in order with psql, as a deployment without the
#                         Prisma CLI would; one TAP line per migration
#   schema_db_url DB      a postgresql:// URL for DB on the rig's server

MIGRATIONS_DIR=$NEXTCRM_ROOT/prisma/migrations
NEXTCRM_DATA=$NEXTCRM_ROOT/profiles/nextcrm

schema_db_url() { printf 'postgresql://%s@127.0.0.1:%s/%s' "$PGUSER" "$PGPORT" "$1"; }

schema_create_db() {
    local db=$1 m
    q -c "CREATE DATABASE $db" >/dev/null
    ok $? "database $db created"
    for m in "$MIGRATIONS_DIR"/*/migration.sql; do
        PGOPTIONS='-c client_min_messages=warning' q -d "$db" -f "$m" >/dev/null
        ok $? "migration $(basename "$(dirname "$m")") applies"
    done
}
