#!/usr/bin/env bash
# What PostgreSQL's own foreign-key checks cost the migration: the same
# mongodump migrated with the foreign keys' row-by-row triggers firing (what
# the worker does) and with them off (session_replication_role = replica on
# the database, what the worker did before), alternately, ROUNDS times each.
# Prints figures, asserts nothing.
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

migrate() { # db [setting] → seconds
    local out
    out=$(bench_migrate "$1" "dump_dir '$work/dump'" "${2:-}") || return 1
    echo "${out%% *}"
}

with=0 without=0
for ((r = 1; r <= rounds; r++)); do
    a=$(migrate fk_on) || exit 1
    b=$(migrate fk_off "session_replication_role = replica") || exit 1
    printf 'round %d: FK triggers on %8s s   off %8s s\n' "$r" "$a" "$b"
    with=$(awk -v x="$with" -v y="$a" 'BEGIN { print x + y }')
    without=$(awk -v x="$without" -v y="$b" 'BEGIN { print x + y }')
done
invalid=$(psql -At -d fk_on -c "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated")
printf '%d documents, %d rounds: on %.2f s, off %.2f s, on/off = %.2f; FKs not validated after the run: %s\n' \
    "$n" "$rounds" "$(awk -v x="$with" -v r="$rounds" 'BEGIN { print x / r }')" \
    "$(awk -v x="$without" -v r="$rounds" 'BEGIN { print x / r }')" \
    "$(awk -v a="$with" -v b="$without" 'BEGIN { print a / b }')" "$invalid"
