#!/usr/bin/env bash
# What enforcing the 23 loose references with triggers
# (prisma/migrations/*_loose_reference_triggers) costs the migration, against
# the foreign keys they replace: the same mongodump migrated into a schema made
# by the migrations before it (init + full-text search: the 23 foreign keys)
# and into one made by all of them (the 23 references as triggers),
# alternately, ROUNDS times each.  Both schemas are created with psql before
# the run, so only the loading differs.  Then, on each database,
# one DELETE of every user (the ON DELETE SET NULL of every reference to them
# fires) inside a rolled-back transaction.  Prints figures, asserts nothing.
#
#   bench/loose_refs.sh [N] [ROUNDS]       defaults: 100000 and 2
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib/common.sh"
. "$here/scripts/lib/rig.sh"
n=${1:-100000}
rounds=${2:-2}
"$here/scripts/build" || die "building failed"
RIG_FSYNC=on rig_start
work=$RIG_DIR/bench
mkdir -p "$work" && chmod 755 "$work"
. "$here/bench/lib.sh"
"$BUILD_DIR/nextcrm_gen" --docs "$n" --seed 3 --dump-dir "$work/dump" 2>/dev/null || die "nextcrm_gen failed"
chmod -R a+rX "$work"
all=("$here"/prisma/migrations/*/migration.sql)
before=()
for m in "${all[@]}"; do [[ $m == *_loose_reference_triggers/* ]] || before+=("$m"); done

migrate() { # db migration.sql...
    local db=$1 m t0
    shift
    psql -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    for m in "$@"; do PGOPTIONS='-c client_min_messages=warning' psql -d "$db" -f "$m" >/dev/null || return 1; done
    psql -d "$db" -c "CREATE EXTENSION nextcrm_mongo_fdw" \
        -c "CREATE SERVER src FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (dump_dir '$work/dump')" \
        -c "CREATE USER MAPPING FOR CURRENT_USER SERVER src"
    t0=$(now)
    psql -d "$db" -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1 || { echo "migration of $db failed" >&2; return 1; }
    elapsed "$t0"
}
delete_users() { # db: ms for one DELETE of every user, inside a rolled-back transaction
    # First what references users with ON DELETE RESTRICT (Boards.user,
    # tasksComments.user, secondBrain_notions.user, openAi_keys.user), and
    # what depends on boards; then, timed, the users: every optional reference
    # to them (the loose ones among them) is set NULL.
    psql -d "$1" <<'SQL' | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
BEGIN;
DELETE FROM "tasksComments";
DELETE FROM "secondBrain_notions";
DELETE FROM "openAi_keys";
DELETE FROM "Tasks";
DELETE FROM "Sections";
DELETE FROM "Boards";
\timing on
DELETE FROM "Users";
\timing off
ROLLBACK;
SQL
}

fk=0 trig=0
for ((r = 1; r <= rounds; r++)); do
    a=$(migrate lr_fkeys "${before[@]}") || exit 1
    b=$(migrate lr_triggers "${all[@]}") || exit 1
    printf 'round %d: foreign keys %8s s   triggers %8s s\n' "$r" "$a" "$b"
    fk=$(awk -v x="$fk" -v y="$a" 'BEGIN { print x + y }')
    trig=$(awk -v x="$trig" -v y="$b" 'BEGIN { print x + y }')
done
for db in lr_fkeys lr_triggers; do
    printf '%s: %s rows, %s with a loose reference set; errors %s\n' "$db" \
        "$(psql -At -d $db -c "SELECT sum(n_live_tup) FROM pg_stat_user_tables WHERE schemaname = 'public'")" \
        "$(psql -At -d $db -c "SELECT (SELECT count(*) FROM \"crm_Contacts\" WHERE \"createdBy\" IS NOT NULL)
                                  + (SELECT count(*) FROM \"Tasks\" WHERE \"createdBy\" IS NOT NULL)") (contacts + tasks)" \
        "$(psql -At -d $db -c "SELECT count(*) FROM nextcrm_migration.errors")"
done
d1=$(delete_users lr_fkeys)
d2=$(delete_users lr_triggers)
printf '%d documents, %d rounds: migration with foreign keys %.2f s, with triggers %.2f s, triggers/keys = %.2f\n' \
    "$n" "$rounds" "$(awk -v x="$fk" -v r="$rounds" 'BEGIN { print x / r }')" \
    "$(awk -v x="$trig" -v r="$rounds" 'BEGIN { print x / r }')" \
    "$(awk -v a="$trig" -v b="$fk" 'BEGIN { print a / b }')"
printf 'one DELETE of all %s users (their references set NULL; rolled back): keys %s ms, triggers %s ms\n' \
    "$(psql -At -d lr_triggers -c 'SELECT count(*) FROM "Users"')" "$d1" "$d2"
