#!/usr/bin/env bash
# Migration speed from a mongodump archive against the same documents as a
# mongodump directory, as ratios against that baseline measured in the same
# run.  It prints figures; it is not a test and asserts nothing.
#
#   bench/dump_shapes.sh [N]      default 100000
#
# N generated NextCRM documents (nextcrm_gen --dump-dir) are written as a
# database folder and, by tools/nextcrm_archive, as a plain and a gzip
# archive (four collections interleaved in 64 KiB blocks, as mongodump
# writes them).  Each is migrated with nextcrm_migrate_all() into its own
# database; the figures are wall time and the worker's peak private resident
# memory (RssAnon, sampled every 0.2 s).
#
# How an archive is read: one sequential scan of the archive per collection
# (other collections' blocks are read past, the scan stops at the
# collection's end-of-data header), plus one pass that counts every
# collection for progress.  Nothing is spilled, so memory stays one document
# whatever the archive's size; the price is re-reading the archive, which
# the ratios below measure.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib/common.sh"
. "$here/scripts/lib/rig.sh"

n=${1:-100000}
"$here/scripts/build" || die "building failed"
rig_start
work=$RIG_DIR/bench_shapes
mkdir -p "$work" && chmod 755 "$work"

psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# Migrates database $1 from server options $2; prints "seconds peak_rss_kB".
migrate() {
    psql -c "CREATE DATABASE $1"
    psql -d "$1" <<SQL
CREATE EXTENSION nextcrm_mongo_fdw;
CREATE SERVER src FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS ($2);
SQL
    local t0 peak=0 pid hwm
    t0=$(now)
    psql -d "$1" -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>"$work/$1.notices" &
    local caller=$!
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

log "generating $n documents"
"$BUILD_DIR/nextcrm_gen" --docs "$n" --seed 3 --dump-dir "$work/dump" 2>/dev/null || die "nextcrm_gen failed"
"$BUILD_DIR/nextcrm_archive" "$work/dump" "$work/nextcrm.archive" || die "nextcrm_archive failed"
"$BUILD_DIR/nextcrm_archive" "$work/dump" "$work/nextcrm.archive.gz" --gzip || die "nextcrm_archive failed"
chmod -R a+rX "$work"

read -r dir_s dir_rss <<<"$(migrate shapes_dir "dump_dir '$work/dump'")"
read -r arc_s arc_rss <<<"$(migrate shapes_archive "archive '$work/nextcrm.archive'")"
read -r gz_s gz_rss <<<"$(migrate shapes_archive_gz "archive '$work/nextcrm.archive.gz'")"
same=$(psql -At -d shapes_dir -c "SELECT sum(migrated) || '/' || sum(failed) FROM nextcrm_migration.checkpoint")
for db in shapes_archive shapes_archive_gz; do
    other=$(psql -At -d $db -c "SELECT sum(migrated) || '/' || sum(failed) FROM nextcrm_migration.checkpoint")
    [[ $other == "$same" ]] || log "warning: $db migrated/failed $other, the folder $same"
done

printf '\n%s documents (%s MB folder, %s MB archive, %s MB gzip archive)\n' "$n" \
    "$(du -sm "$work/dump" | cut -f1)" "$(du -m "$work/nextcrm.archive" | cut -f1)" \
    "$(du -m "$work/nextcrm.archive.gz" | cut -f1)"
printf '%-22s %9s %9s %12s\n' source seconds ratio "peak RSS kB"
printf '%-22s %9s %9s %12s\n' "folder (baseline)" "$dir_s" 1.00 "$dir_rss"
printf '%-22s %9s %9s %12s\n' archive "$arc_s" "$(ratio "$arc_s" "$dir_s")" "$arc_rss"
printf '%-22s %9s %9s %12s\n' "archive --gzip" "$gz_s" "$(ratio "$gz_s" "$dir_s")" "$gz_rss"
rig_stop
