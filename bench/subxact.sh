#!/usr/bin/env bash
# What isolating refused rows costs a concurrent reader (issue 19 item 13).
# A mongodump of N users, BAD of them (spread evenly, so each batch of 1000
# gets its share) with an e-mail another user of their batch already has
# (Users.email is unique: the batch's INSERT fails and the loader isolates
# the refused rows), is migrated again and again for SECONDS while pgbench
# runs a read-only SELECT workload (-S) on another database of the same
# cluster.  Per BAD it prints the reader's TPS, the migrations done, and the
# most subtransactions the worker held at once (pg_stat_get_backend_subxact,
# sampled every 10 ms by a session of its own: the count PGPROC caches, at
# most 64; "overflowed" when the worker passed that, which makes every
# snapshot in the cluster overflow while its transaction is open), and the
# most subtransactions one batch opened to isolate its refused rows (the
# loader's DEBUG1 line, with how many of them it committed where the line
# says; code older than the bisection logs none and opens one per row), and
# what loading Users took in the last migration (its checkpoint's
# load_seconds: the INSERTs, isolation included).  BAD = 0 is the baseline
# of the same run.  With --before
# COMMIT the same is measured with the extension built from COMMIT (git
# archive into the rig's folder, installed into PG_CONFIG's installation:
# give PG_CONFIG of your own copy of PostgreSQL) and with this tree's,
# alternately, ROUNDS times (default 1); this tree's is installed again at
# the end.  The reader's TPS moves with everything else the machine runs:
# compare it within a round.  Prints figures, asserts nothing; PostgreSQL 16
# or later (pg_stat_get_backend_subxact).
#
#   [ROUNDS=R] bench/subxact.sh [--before COMMIT] [N] [SECONDS] [BAD ...]
#                                 defaults: 5000 20 0 5 50
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib/common.sh"
. "$here/scripts/lib/rig.sh"
before=
if [[ "${1:-}" == --before ]]; then
    before=$2
    shift 2
fi
n=${1:-5000}
seconds=${2:-20}
shift $(($# < 2 ? $# : 2))
bads=("$@")
((${#bads[@]})) || bads=(0 5 50)
"$here/scripts/build" || die "building failed"
RIG_FSYNC=on rig_start
work=$RIG_DIR/bench
mkdir -p "$work" && chmod 755 "$work"
. "$here/bench/lib.sh"
((${PG_VERSION_NUM:-$(psql -At -c "SHOW server_version_num")} >= 160000)) ||
    die "pg_stat_get_backend_subxact needs PostgreSQL 16 or later"

"$BUILD_DIR/nextcrm_gen" --docs 300 --seed 3 --quirks off --dump-dir "$work/base" 2>/dev/null ||
    die "nextcrm_gen failed"
for bad in "${bads[@]}"; do
    cp -r "$work/base" "$work/dump_$bad"
    python3 "$here/tools/load_fixture.py" dupes "$work/dump_$bad" "$n" "$bad" ||
        die "load_fixture.py failed"
done
chmod -R a+rX "$work"
psql -c "CREATE DATABASE reader"
"$PG_BIN/pgbench" -q -i -s 10 reader >/dev/null 2>&1 || die "pgbench -i failed"

# The sampler: until $1 seconds have passed, the largest subxact_count of a
# migration worker and whether one overflowed, as "count overflowed".
sample_sql() {
    cat <<SQL
DO \$\$
DECLARE
  deadline timestamptz := clock_timestamp() + interval '$1 seconds';
  c int;
  o boolean;
  top int := 0;
  over boolean := false;
BEGIN
  WHILE clock_timestamp() < deadline LOOP
    PERFORM pg_stat_clear_snapshot();
    SELECT max(x.subxact_count), bool_or(x.subxact_overflowed) INTO c, o
      FROM pg_stat_get_backend_idset() b(id)
      CROSS JOIN LATERAL pg_stat_get_backend_subxact(b.id) x
      JOIN pg_stat_activity a ON a.pid = pg_stat_get_backend_pid(b.id)
     WHERE a.backend_type = 'nextcrm migration';
    top := greatest(top, coalesce(c, 0));
    over := over OR coalesce(o, false);
    PERFORM pg_sleep(0.01);
  END LOOP;
  RAISE NOTICE 'subxact % %', top, CASE WHEN over THEN 'overflowed' ELSE 'cached' END;
END
\$\$;
SQL
}

# One row of figures per BAD for the extension installed now, labelled $1.
measure() { # label
    local label=$1 bad reader sampler runs t0 lines tps sub failed opened
    for bad in "${bads[@]}"; do
        lines=$(wc -l <"$PG_LOG")
        "$PG_BIN/pgbench" -n -S -c 1 -j 1 -T "$seconds" reader >"$work/pgbench_$bad.out" 2>&1 &
        reader=$!
        psql -c "$(sample_sql "$seconds")" 2>"$work/sampler_$bad.out" &
        sampler=$!
        runs=0
        t0=$(now)
        while kill -0 $reader 2>/dev/null; do
            bench_migrate "subxact_$bad" "dump_dir '$work/dump_$bad'" "log_min_messages = debug1" \
                >/dev/null || die "migration failed"
            runs=$((runs + 1))
        done
        wait $reader || die "pgbench failed: $(tail -3 "$work/pgbench_$bad.out")"
        wait $sampler || die "the sampler failed: $(cat "$work/sampler_$bad.out")"
        tps=$(sed -nE 's/^tps = ([0-9.]+).*/\1/p' "$work/pgbench_$bad.out" | head -1)
        sub=$(sed -nE 's/.*subxact ([0-9]+ [a-z]+).*/\1/p' "$work/sampler_$bad.out")
        failed=$(psql -At -d "subxact_$bad" -c "SELECT count(*) FROM nextcrm_migration.errors
                                                 WHERE collection = 'Users' AND sqlstate = '23505'")
        loading=$(psql -At -d "subxact_$bad" -c "SELECT round(load_seconds::numeric, 2)
                                                  FROM nextcrm_migration.checkpoint WHERE collection = 'Users'")
        # Per batch: opened, and committed where the line says (since the
        # probes are rolled back); the batch that opened most.
        opened=$(tail -n +"$((lines + 1))" "$PG_LOG" |
            sed -nE 's/.*Users batch [0-9]+: [0-9]+ refused rows of [0-9]+ isolated with ([0-9]+) subtransactions( \(([0-9]+) committed)?.*/\1 \3/p' |
            sort -n | tail -1)
        read -r opened committed <<<"$opened"
        printf '%-8s bad %3d (%3d error rows): reader %7.1f tps, %2d migrations in %6s s, subxacts held at most %s, opened by one batch at most %s%s, Users loading %s s\n' \
            "$label" "$bad" "$failed" "$tps" "$runs" "$(elapsed "$t0")" "$sub" "${opened:-(not logged)}" \
            "${committed:+ ($committed committed)}" "$loading"
    done
}

if [[ -n "$before" ]]; then
    mkdir -p "$work/before"
    git -C "$here" archive "$before" | tar -x -C "$work/before" || die "git archive $before failed"
    log "building $before"
    make -s -C "$work/before" -j"$(nproc)" >/dev/null || die "$before does not build"
fi
for ((r = 1; r <= ${ROUNDS:-1}; r++)); do
    if [[ -n "$before" ]]; then
        make -s -C "$work/before" install >/dev/null || die "installing $before failed"
        measure "$(git -C "$here" rev-parse --short "$before")"
        (cd "$here" && make -s install >/dev/null) || die "installing this tree again failed"
    fi
    measure now
done
echo "$n users per migration, reader: pgbench -S -c 1 on a scale-10 database, $seconds s per row"
