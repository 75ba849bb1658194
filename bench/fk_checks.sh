#!/usr/bin/env bash
# What PostgreSQL's own foreign-key checks cost the migration: the same
# mongodump migrated with the foreign keys' row-by-row triggers firing (what
# the worker does) and with them off (session_replication_role = replica on
# the database, what the worker did before), alternately, ROUNDS times each.
# Then what checking them after the load would cost instead, as pg_restore
# does: on the database loaded without the triggers, every foreign key is
# dropped and added again (ALTER TABLE ... ADD CONSTRAINT, which validates
# the whole table in one query), timed, and checked to be convalidated.
# Prints figures (wall times and the worker's load stage,
# nextcrm_migration.checkpoint.load_seconds), asserts nothing.
#
#   bench/fk_checks.sh [N] [ROUNDS]       defaults: 100000 and 2
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

migrate() { # db [setting] → seconds load_seconds
    local out
    out=$(bench_migrate "$1" "dump_dir '$work/dump'" "${2:-}") || return 1
    echo "${out%% *} $(psql -d "$1" -At -c "SELECT round(sum(load_seconds)::numeric, 2)
                                            FROM nextcrm_migration.checkpoint")"
}

with=0 without=0 load_with=0 load_without=0
for ((r = 1; r <= rounds; r++)); do
    read -r a la < <(migrate fk_on) || exit 1
    read -r b lb < <(migrate fk_off "session_replication_role = replica") || exit 1
    printf 'round %d: FK triggers on %8s s (load %s s)   off %8s s (load %s s)\n' "$r" "$a" "$la" "$b" "$lb"
    with=$(awk -v x="$with" -v y="$a" 'BEGIN { print x + y }')
    without=$(awk -v x="$without" -v y="$b" 'BEGIN { print x + y }')
    load_with=$(awk -v x="$load_with" -v y="$la" 'BEGIN { print x + y }')
    load_without=$(awk -v x="$load_without" -v y="$lb" 'BEGIN { print x + y }')
done
invalid=$(psql -At -d fk_on -c "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated")
printf '%d documents, %d rounds: on %.2f s, off %.2f s, on/off = %.2f; load stage on %.2f s, off %.2f s; FKs not validated after the run: %s\n' \
    "$n" "$rounds" "$(awk -v x="$with" -v r="$rounds" 'BEGIN { print x / r }')" \
    "$(awk -v x="$without" -v r="$rounds" 'BEGIN { print x / r }')" \
    "$(awk -v a="$with" -v b="$without" 'BEGIN { print a / b }')" \
    "$(awk -v x="$load_with" -v r="$rounds" 'BEGIN { print x / r }')" \
    "$(awk -v x="$load_without" -v r="$rounds" 'BEGIN { print x / r }')" "$invalid"

# The keys checked after the load instead: dropped and added again on the
# database loaded without the triggers, in one transaction.
psql -d fk_off -At >"$work/fk.sql" <<'SQL'
SELECT 'BEGIN;'
UNION ALL (SELECT format('ALTER TABLE %s DROP CONSTRAINT %I;', conrelid::regclass, conname)
             FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace ORDER BY oid)
UNION ALL (SELECT format('ALTER TABLE %s ADD CONSTRAINT %I %s;', conrelid::regclass, conname,
                         pg_get_constraintdef(oid))
             FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace ORDER BY oid)
UNION ALL SELECT 'COMMIT;'
SQL
keys=$(grep -c 'ADD CONSTRAINT' "$work/fk.sql")
t0=$(now)
psql -d fk_off -f "$work/fk.sql" >/dev/null || die "adding the foreign keys again failed"
t_add=$(elapsed "$t0")
invalid=$(psql -At -d fk_off -c "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated")
printf 'the %d foreign keys dropped and added (validated) after the load: %s s; not validated: %s\n' \
    "$keys" "$t_add" "$invalid"
printf 'potential of checking the keys after the load: on %.2f s -> off + add %.2f s (%.2f x)\n' \
    "$(awk -v x="$with" -v r="$rounds" 'BEGIN { print x / r }')" \
    "$(awk -v x="$without" -v r="$rounds" -v t="$t_add" 'BEGIN { print x / r + t }')" \
    "$(awk -v x="$with" -v y="$without" -v r="$rounds" -v t="$t_add" 'BEGIN { print (x / r) / (y / r + t) }')"
