#!/usr/bin/env bash
# Full validation against the migration, measured in the same run (issue 22,
# requirement 7).  It prints figures; it is not a test and asserts nothing
# beyond every validation check passing.
#
#   bench/validate.sh [N ...]      default: 100000
#
# For each N, from a mongodump directory of N generated NextCRM documents
# (nextcrm_gen --seed 3):
#   migrate      SELECT nextcrm_migrate_all(), one worker, wall time
#   validate     SELECT nextcrm_validate() with sample_size the largest
#                collection's document count, so every document is compared
#                field by field, wall time (goal: validate <= 2 x migrate),
#                and the time since the start when each of its steps ended
#                (its DEBUG timings; a step is the difference from the one
#                before)
# The server runs with fsync on, as in production (the test rig turns it off).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib/common.sh"
. "$here/scripts/lib/rig.sh"

(($#)) || set -- 100000
. "$here/bench/start.sh"

declare -A secs=()
steps=()
for n in "$@"; do
    log "generating and migrating $n documents"
    "$BUILD_DIR/nextcrm_gen" --docs "$n" --seed 3 --dump-dir "$work/dump$n" 2>/dev/null ||
        die "nextcrm_gen failed"
    chmod -R a+rX "$work"
    read -r secs[$n.migrate] _ < <(bench_migrate "m$n" "dump_dir '$work/dump$n'")
    log "validating every document of the $n-document migration"
    while read -r step s; do
        secs[$n.$step]=$s
        [[ " ${steps[*]} " == *" $step "* ]] || steps+=("$step")
    done < <(bench_validate "m$n")
    [[ -n "${secs[$n.total]:-}" ]] || die "validation of $n documents failed"
    PGOPTIONS='-c client_min_messages=warning' psql -c "DROP DATABASE m$n"
    rm -rf "$work/dump$n"
done
echo
echo "== full validation: seconds since its start at the end of each step"
printf '%-28s' step
for n in "$@"; do printf '%14s' "$n docs"; done
echo
for step in "${steps[@]}"; do
    [[ $step == total ]] && continue
    printf '%-28s' "$step"
    for n in "$@"; do printf '%12s s' "${secs[$n.$step]:-}"; done
    echo
done
echo
echo "== full validation against the one-worker migration (same run)"
for n in "$@"; do
    printf '%-10s migration %8s s   full validation %8s s   full validation / migration = %s (goal <= 2)\n' \
        "$n" "${secs[$n.migrate]}" "${secs[$n.total]}" "$(ratio "${secs[$n.total]}" "${secs[$n.migrate]}")"
done
