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
# How an archive is read: one pass over the archive (the worker's count
# for progress) also writes each collection's documents to PostgreSQL
# temporary files (core/archive_demux.hpp, src/archive_spool.cpp), from
# which each collection is migrated in its turn.  Memory stays one document
# whatever the archive's size; the price is the archive's documents
# written once to temporary files and read back, which the ratios below
# measure.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib/common.sh"
. "$here/scripts/lib/rig.sh"

n=${1:-100000}
"$here/scripts/build" || die "building failed"
rig_start
work=$RIG_DIR/bench_shapes
mkdir -p "$work" && chmod 755 "$work"

. "$here/bench/lib.sh"

log "generating $n documents"
"$BUILD_DIR/nextcrm_gen" --docs "$n" --seed 3 --dump-dir "$work/dump" 2>/dev/null || die "nextcrm_gen failed"
"$BUILD_DIR/nextcrm_archive" "$work/dump" "$work/nextcrm.archive" || die "nextcrm_archive failed"
"$BUILD_DIR/nextcrm_archive" "$work/dump" "$work/nextcrm.archive.gz" --gzip || die "nextcrm_archive failed"
chmod -R a+rX "$work"

read -r dir_s dir_rss <<<"$(bench_migrate shapes_dir "dump_dir '$work/dump'")"
read -r arc_s arc_rss <<<"$(bench_migrate shapes_archive "archive '$work/nextcrm.archive'")"
read -r gz_s gz_rss <<<"$(bench_migrate shapes_archive_gz "archive '$work/nextcrm.archive.gz'")"
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
