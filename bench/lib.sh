# Helpers of the benchmarks under bench/; sourced after scripts/lib/rig.sh's
# rig_start, with $work set to a folder the postgres user can read.

psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }
# Seconds since the epoch, with nanoseconds.
now() { date +%s.%N; }
# Seconds (two decimals) since $1, a now().
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# $1 / $2, two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# Migrates a new database $1 from a server with options $2 (SQL text, e.g.
# "dump_dir '/x'") with nextcrm_migrate_all(); $3, when given, is a setting
# for the database (ALTER DATABASE ... SET).  Prints "seconds peak_rss_kB":
# the wall time and the worker's peak private resident memory (RssAnon,
# sampled every 0.2 s).  A database of that name is dropped first.
bench_migrate() { # db server-options [setting]
    PGOPTIONS='-c client_min_messages=warning' psql -c "DROP DATABASE IF EXISTS $1"
    psql -c "CREATE DATABASE $1"
    [[ -n "${3:-}" ]] && psql -c "ALTER DATABASE $1 SET $3"
    psql -d "$1" <<SQL
CREATE EXTENSION nextcrm_mongo_fdw;
CREATE SERVER src FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS ($2);
CREATE USER MAPPING FOR CURRENT_USER SERVER src;
SQL
    local t0 peak=0 pid hwm caller
    t0=$(now)
    psql -d "$1" -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>"$work/$1.notices" &
    caller=$!
    while kill -0 $caller 2>/dev/null; do
        pid=$(psql -At -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'nextcrm migration'" 2>/dev/null)
        if [[ -n "$pid" ]]; then
            hwm=$(awk '/RssAnon/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
            [[ -n "$hwm" ]] && ((hwm > peak)) && peak=$hwm
        fi
        sleep 0.2
    done
    wait $caller || die "migration of $1 failed: $(tail -3 "$work/$1.notices")"
    echo "$(elapsed "$t0") $peak"
}

# Migrates a new database $1 from a server with options $2 (and database
# setting $3, if any) like bench_migrate, and prints where the worker's time went: "phase seconds"
# lines, one per phase the worker reports in pg_stat_activity (counting,
# batches, indexes, fkeys, junctions, restore; setup for the rest), sampled every 0.1 s, then
# "total seconds" (wall time), "rss kB" (the worker's peak private resident
# memory, RssAnon, sampled with the phases; "rss.PHASE kB" the same within
# each phase), "wal bytes" (the WAL the cluster
# wrote meanwhile: the migration's, the rig being otherwise idle), then the worker's own figures (w.setup,
# w.read, w.convert, w.check, w.load, w.commit, w.indexes, w.fkeys, w.finish,
# w.total: the
# stages nextcrm_migration.checkpoint and .run record).
bench_phases() { # db server-options [setting]
    PGOPTIONS='-c client_min_messages=warning' psql -c "DROP DATABASE IF EXISTS $1"
    psql -c "CREATE DATABASE $1"
    [[ -n "${3:-}" ]] && psql -c "ALTER DATABASE $1 SET $3"
    psql -d "$1" <<SQL
CREATE EXTENSION nextcrm_mongo_fdw;
CREATE SERVER src FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS ($2);
CREATE USER MAPPING FOR CURRENT_USER SERVER src;
SQL
    local t0 caller activity phase last t pid rss peak=0 lsn0
    declare -A spent=() phase_peak=()
    lsn0=$(psql -At -c "SELECT pg_current_wal_lsn()")
    t0=$(now)
    last=$t0
    psql -d "$1" -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>"$work/$1.notices" &
    caller=$!
    while kill -0 $caller 2>/dev/null; do
        IFS='|' read -r pid activity < <(psql -At -c "SELECT pid, query FROM pg_stat_activity
            WHERE backend_type = 'nextcrm migration'" 2>/dev/null)
        rss=
        if [[ -n "$pid" ]]; then
            rss=$(awk '/RssAnon/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
            [[ -n "$rss" ]] && ((rss > peak)) && peak=$rss
        fi
        case $activity in
        counting*) phase=counting ;;
        migrating* | retrying*) phase=batches ;;
        "building indexes"*) phase=indexes ;;
        "adding foreign keys"*) phase=fkeys ;;
        building*) phase=junctions ;;
        "restoring references"*) phase=restore ;;
        *) phase=setup ;;
        esac
        [[ -n "$rss" ]] && ((rss > ${phase_peak[$phase]:-0})) && phase_peak[$phase]=$rss
        t=$(now)
        spent[$phase]=$(awk -v s="${spent[$phase]:-0}" -v a="$last" -v b="$t" 'BEGIN { printf "%.3f", s + b - a }')
        last=$t
        sleep 0.1
    done
    wait $caller || die "migration of $1 failed: $(tail -3 "$work/$1.notices")"
    for phase in counting batches indexes fkeys junctions restore setup; do
        echo "$phase ${spent[$phase]:-0}"
    done
    echo "total $(elapsed "$t0")"
    echo "rss $peak"
    for phase in counting batches indexes fkeys junctions restore setup; do
        echo "rss.$phase ${phase_peak[$phase]:-0}"
    done
    echo "wal $(psql -At -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn0')::bigint")"
    # The worker's own accounting (monotonic clock, per batch): its stages
    # summed over the collections, its setup and finish.
    psql -d "$1" -At -F ' ' -c "
        SELECT s.stage, round(s.seconds::numeric, 3)
          FROM (SELECT sum(read_seconds) AS read, sum(convert_seconds) AS convert,
                       sum(check_seconds) AS check_refs, sum(load_seconds) AS load,
                       sum(commit_seconds) AS commit FROM nextcrm_migration.checkpoint) c,
               nextcrm_migration.run r,
               LATERAL (VALUES ('w.setup', r.setup_seconds), ('w.read', c.read),
                               ('w.indexes', r.index_seconds), ('w.fkeys', r.foreign_key_seconds),
                               ('w.convert', c.convert), ('w.check', c.check_refs),
                               ('w.load', c.load), ('w.commit', c.commit),
                               ('w.finish', r.finish_seconds), ('w.total', r.seconds)) s(stage, seconds)"
}

# Seconds pg_restore -j1 takes to build migrated database $1's target again
# from its own dump (pg_dump -Fc of schema public, its tables, types,
# functions, indexes, constraints and data, less _prisma_migrations) into a
# new database $1_restore whose public schema was dropped first: how fast
# PostgreSQL builds the same database itself (COPY, then the indexes, then
# the foreign keys added and validated).  The dump is not timed.
restore_baseline() { # db
    local dst=$1_restore t0
    "$PG_BIN/pg_dump" -h "$PGHOST" -p "$PGPORT" -U postgres -d "$1" -Fc -n public \
        -T public._prisma_migrations -f "$work/$1.pgdump" || die "pg_dump of $1 failed"
    PGOPTIONS='-c client_min_messages=warning' psql -c "DROP DATABASE IF EXISTS $dst"
    psql -c "CREATE DATABASE $dst"
    psql -d "$dst" -c "DROP SCHEMA public"
    t0=$(now)
    "$PG_BIN/pg_restore" -h "$PGHOST" -p "$PGPORT" -U postgres -j1 --exit-on-error -d "$dst" \
        "$work/$1.pgdump" || die "pg_restore of $1 failed"
    elapsed "$t0"
    rm -f "$work/$1.pgdump"
}

# Validates migrated database $1 against its server src comparing every
# document field by field: nextcrm_validate() with a sample as large as the
# largest collection (the checkpoint's source_total), seed 0.5.  Prints
# "total seconds", then "step seconds" for each step the function reports at
# DEBUG (the time since it started when the step ended), and fails when a
# check failed: a benchmark that timed a failing validation would say
# nothing about one that passes.
bench_validate() { # db
    local size t0 out status
    size=$(psql -d "$1" -At -c "SELECT max(source_total) FROM nextcrm_migration.checkpoint")
    t0=$(now)
    out=$(PGOPTIONS='-c client_min_messages=debug1' psql -d "$1" -At \
        -c "SELECT count(*) FILTER (WHERE status = 'fail') FROM nextcrm_validate('src', 0.5, $size)" 2>&1) ||
        die "validation of $1 failed: $(tail -3 <<<"$out")"
    t0=$(elapsed "$t0")
    status=$(tail -1 <<<"$out")
    [[ "$status" == 0 ]] || die "validation of $1 reported $status failed checks"
    echo "total $t0"
    # "DEBUG:  nextcrm_validate: counts after 00:00:01.234": seconds since the start.
    sed -n 's/^DEBUG:  nextcrm_validate: \(.*\) after \([0-9]*\):\([0-9]*\):\([0-9.]*\)$/\1|\2|\3|\4/p' <<<"$out" |
        awk -F'|' '{ gsub(/ /, "_", $1); printf "%s %.2f\n", $1, $2 * 3600 + $3 * 60 + $4 }'
}
