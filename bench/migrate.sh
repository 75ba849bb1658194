#!/usr/bin/env bash
# Migration speed, as ratios against baselines measured in the same run.  It
# prints figures; it is not a test and asserts nothing.
#
#   bench/migrate.sh [N] [N_FERRETDB]      defaults: 1000000 and 100000
#
# From a mongodump directory of N generated NextCRM documents (nextcrm_gen):
#   migrate      SELECT nextcrm_migrate_all(), wall time
#   copy         a bare COPY of the same final rows into the same schema (same
#                indexes and constraints), tables in the migration's order
#   restore      pg_restore -j1 of the migrated database's own pg_dump -Fc
#                (schema public: tables, types, functions, indexes,
#                constraints, data) into an empty database, the restore
#                limit of issue 22 (goal: migrate <= 1.2 x restore)
#   row_insert   the same rows as one INSERT statement each, autocommit
#                (pg_dump --inserts replayed by psql); measured on the
#                100k-document set, against the migration of that set
#   fk checks    the 100k migration again with session_replication_role =
#                replica set on its database (foreign-key triggers skipped):
#                what PostgreSQL's own per-row checks cost
#   worker RSS   the migration worker's peak private resident memory (RssAnon,
#                sampled every 0.2 s; shared buffers excluded) at 100k and at N
#                documents
#   validate     nextcrm_validate() comparing every document field by field
#                (sample_size = the largest collection), at 100k and at N
#                documents, against the migration of the same set (goal: at
#                most 2x; bench/validate.sh measures it alone, with its steps)
#   archives     the 100k set as a plain and a gzip mongodump archive
#                (tools/nextcrm_archive), against the folder (goal: at most
#                1.15x; bench/dump_shapes.sh measures it alone)
# The server runs with fsync on, as in production (the test rig turns it off).
# From FerretDB holding N_FERRETDB generated documents:
#   migrate      the same function against the live server
#   drain        a raw libmongoc cursor over the same 29 collections
#                (tools/nextcrm_bench drain-mongo), nothing converted (goal:
#                migrate at most 1.3x the drain)
# On the migrated N-document database: ten typical NextCRM queries, p95 of 200
# executions each (server side), with the plan's scan nodes.
#
#   bench/migrate.sh --phases N [N ...]
#
# instead migrates a generated dump of each size N and prints, per phase of
# the worker (counting, batches, indexes, junctions, restore, setup: what it
# reports in pg_stat_activity, sampled every 0.1 s), seconds and seconds per
# 100000 documents: a phase whose cost grows faster than the documents shows
# as a growing per-100k figure; then the same migration with
# nextcrm_mongo_fdw.defer_indexes off (every batch maintains the non-unique
# indexes, as before issue 22) against the default (built after the load),
# and with nextcrm_mongo_fdw.defer_foreign_keys off (PostgreSQL checks every
# row's keys as it is inserted) against the default (added after the load);
# then each size's migration against pg_restore -j1 of its own result (as
# below).  The rows w.* are the worker's own accounting
# (nextcrm_migration.checkpoint and .run): setup, each batch stage summed
# over the collections (read, convert, check references, load, commit),
# building the deferred indexes, adding the deferred foreign keys (w.fkeys),
# finish (junction tables, restored
# references) and its total; the worker's peak private resident memory
# (RssAnon) in the default migration of each size; and the WAL it wrote, in
# all and per document.
#
#   bench/migrate.sh --memory N [N ...]
#
# instead migrates a generated dump of each size N once (the default
# settings) and prints its wall time and the worker's peak private resident
# memory (RssAnon, sampled every 0.1 s), in all and within each phase, and
# that peak's growth against the first size's: requirement 5 of issue 22
# (flat with the documents) at sizes the --phases comparisons would take too
# long for (3M documents).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib/common.sh"
. "$here/scripts/lib/rig.sh"

if [[ "${1:-}" == --phases ]]; then
    shift
    (($#)) || die "usage: bench/migrate.sh --phases N [N ...]"
    . "$here/bench/start.sh"
    declare -A secs=()
    for n in "$@"; do
        log "generating and migrating $n documents"
        "$BUILD_DIR/nextcrm_gen" --docs "$n" --seed 3 --dump-dir "$work/dump$n" 2>/dev/null ||
            die "nextcrm_gen failed"
        chmod -R a+rX "$work"
        while read -r phase s; do secs[$n.$phase]=$s; done < <(bench_phases "m$n" "dump_dir '$work/dump$n'")
        log "migrating $n documents again, the indexes maintained by every batch (as before)"
        while read -r phase s; do secs[$n.kept.$phase]=$s; done < <(bench_phases "k$n" "dump_dir '$work/dump$n'" \
            "nextcrm_mongo_fdw.defer_indexes = off")
        PGOPTIONS='-c client_min_messages=warning' psql -c "DROP DATABASE k$n"
        log "migrating $n documents again, the foreign keys checked by every batch (as before)"
        while read -r phase s; do secs[$n.keys.$phase]=$s; done < <(bench_phases "f$n" "dump_dir '$work/dump$n'" \
            "nextcrm_mongo_fdw.defer_foreign_keys = off")
        PGOPTIONS='-c client_min_messages=warning' psql -c "DROP DATABASE f$n"
        rm -rf "$work/dump$n"
        log "pg_restore -j1 of the $n-document database's own dump"
        secs[$n.restore_j1]=$(restore_baseline "m$n")
        PGOPTIONS='-c client_min_messages=warning' psql -c "DROP DATABASE m$n" -c "DROP DATABASE m${n}_restore"
    done
    echo
    echo "== seconds per phase (and per 100000 documents)"
    printf '%-10s' phase
    for n in "$@"; do printf '%24s' "$n docs"; done
    echo
    for phase in counting batches indexes fkeys junctions restore setup total \
        w.setup w.read w.convert w.check w.load w.commit w.indexes w.fkeys w.finish w.total; do
        printf '%-10s' "$phase"
        for n in "$@"; do
            printf '%12s s %7s /100k' "${secs[$n.$phase]}" \
                "$(awk -v s="${secs[$n.$phase]}" -v n="$n" 'BEGIN { printf "%.2f", s * 100000 / n }')"
        done
        echo
    done
    printf '%-10s' rss
    for n in "$@"; do printf '%15s kB %9s' "${secs[$n.rss]}" ''; done
    echo
    printf '%-10s' wal
    for n in "$@"; do
        printf '%12s MB %7s /doc' "$((${secs[$n.wal]} / 1048576))" \
            "$(awk -v b="${secs[$n.wal]}" -v n="$n" 'BEGIN { printf "%.0f", b / n }')"
    done
    echo
    echo
    echo "== indexes built after the load (default) against maintained by every batch (same run)"
    for n in "$@"; do
        # Converting is CPU alone and the same work in both runs: when its
        # two figures differ, the machine's load changed between the runs.
        printf '%-10s deferred %8s s (load %s s, building %s s, convert %s s)   kept %8s s (load %s s, convert %s s)   kept/deferred = %s\n' \
            "$n" "${secs[$n.total]}" "${secs[$n.w.load]}" "${secs[$n.w.indexes]}" "${secs[$n.w.convert]}" \
            "${secs[$n.kept.total]}" "${secs[$n.kept.w.load]}" "${secs[$n.kept.w.convert]}" \
            "$(ratio "${secs[$n.kept.total]}" "${secs[$n.total]}")"
    done
    echo
    echo "== foreign keys added after the load (default) against checked by every batch (same run)"
    for n in "$@"; do
        printf '%-10s deferred %8s s (load %s s, adding %s s, convert %s s)   kept %8s s (load %s s, convert %s s)   kept/deferred = %s\n' \
            "$n" "${secs[$n.total]}" "${secs[$n.w.load]}" "${secs[$n.w.fkeys]}" "${secs[$n.w.convert]}" \
            "${secs[$n.keys.total]}" "${secs[$n.keys.w.load]}" "${secs[$n.keys.w.convert]}" \
            "$(ratio "${secs[$n.keys.total]}" "${secs[$n.total]}")"
    done
    echo
    echo "== the migration against PostgreSQL's own restore of its result (same run)"
    for n in "$@"; do
        printf '%-10s migration %8s s   pg_restore -j1 %8s s   migration/restore = %s (goal <= 1.2; indexes kept: %s; keys kept: %s)\n' \
            "$n" "${secs[$n.total]}" "${secs[$n.restore_j1]}" "$(ratio "${secs[$n.total]}" "${secs[$n.restore_j1]}")" \
            "$(ratio "${secs[$n.kept.total]}" "${secs[$n.restore_j1]}")" "$(ratio "${secs[$n.keys.total]}" "${secs[$n.restore_j1]}")"
    done
    exit 0
fi

if [[ "${1:-}" == --memory ]]; then
    shift
    (($#)) || die "usage: bench/migrate.sh --memory N [N ...]"
    . "$here/bench/start.sh"
    declare -A v=()
    for n in "$@"; do
        log "generating and migrating $n documents"
        "$BUILD_DIR/nextcrm_gen" --docs "$n" --seed 3 --dump-dir "$work/dump$n" 2>/dev/null ||
            die "nextcrm_gen failed"
        chmod -R a+rX "$work"
        while read -r key value; do v[$n.$key]=$value; done < <(bench_phases "m$n" "dump_dir '$work/dump$n'")
        PGOPTIONS='-c client_min_messages=warning' psql -c "DROP DATABASE m$n"
        rm -rf "$work/dump$n"
    done
    echo
    echo "== worker peak private memory (RssAnon, kB) against the documents (goal: flat), in all and per phase"
    # The batches hold one batch at a time; building indexes sorts with up to
    # maintenance_work_mem, the other passes use work_mem and temp_buffers:
    # PostgreSQL's own bounds, reached only once the tables are large enough.
    printf '%-10s %9s %9s %9s %9s %9s %9s %9s %9s\n' docs seconds peak batches indexes fkeys junctions restore ratio
    for n in "$@"; do
        printf '%-10s %9s %9s %9s %9s %9s %9s %9s %9s\n' "$n" "${v[$n.total]}" "${v[$n.rss]}" \
            "${v[$n.rss.batches]}" "${v[$n.rss.indexes]}" "${v[$n.rss.fkeys]}" "${v[$n.rss.junctions]}" \
            "${v[$n.rss.restore]}" "$(ratio "${v[$n.rss]}" "${v[$1.rss]}")"
    done
    printf 'maintenance_work_mem %s, work_mem %s, temp_buffers %s\n' "$(psql -At -c 'SHOW maintenance_work_mem')" \
        "$(psql -At -c 'SHOW work_mem')" "$(psql -At -c 'SHOW temp_buffers')"
    exit 0
fi

n=${1:-1000000}
n_ferret=${2:-100000}
. "$here/bench/start.sh"
gen=$BUILD_DIR/nextcrm_gen

log "generating $n documents (and 100000 for the memory comparison)"
"$gen" --docs "$n" --seed 3 --dump-dir "$work/dump" 2>/dev/null || die "nextcrm_gen failed"
"$gen" --docs 100000 --seed 3 --dump-dir "$work/dump100k" 2>/dev/null || die "nextcrm_gen failed"
chmod -R a+rX "$work"

# A fresh database with the schema the migration creates.
empty_schema() {
    psql -c "CREATE DATABASE $1"
    for f in "$here"/prisma/migrations/*/migration.sql; do psql -d "$1" -f "$f" >/dev/null 2>&1; done
}

# The tables of migrated database $1 in the order the migration filled them.
tables_of() {
    psql -d "$1" -At -c "SELECT quote_ident(collection) FROM nextcrm_migration.checkpoint ORDER BY position"
    psql -d "$1" -At -c "SELECT quote_ident(relname) FROM pg_class
        WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND relname LIKE '\_%'
          AND relname <> '_prisma_migrations' ORDER BY 1"
}

# Seconds to COPY the final rows of migrated database $1 into a fresh schema.
copy_baseline() {
    local src=$1 dst=$1_copy t t0 dir=$work/rows_$1
    mkdir -p "$dir" && chown postgres: "$dir"
    for t in $(tables_of "$src"); do psql -d "$src" -c "COPY $t TO '$dir/${t//\"/}.copy'"; done
    empty_schema "$dst"
    t0=$(now)
    for t in $(tables_of "$src"); do psql -d "$dst" -c "COPY $t FROM '$dir/${t//\"/}.copy'"; done
    elapsed "$t0"
}

# Seconds to INSERT the final rows of migrated database $1 one statement each.
insert_baseline() {
    local src=$1 dst=$1_insert t0
    "$PG_BIN/pg_dump" -h "$PGHOST" -p "$PGPORT" -U postgres -d "$1_copy" --data-only --inserts \
        --rows-per-insert=1 $(for t in $(tables_of "$src"); do printf -- '-t %s ' "$t"; done) |
        grep '^INSERT' >"$work/$1.inserts.sql"
    empty_schema "$dst"
    t0=$(now)
    command psql -X -q -d "$dst" -f "$work/$1.inserts.sql" >/dev/null 2>&1
    elapsed "$t0"
}

log "migrating 100000 documents from a dump, then COPY and INSERT of the same rows"
read -r t_100k rss_100k < <(bench_migrate m100k "dump_dir '$work/dump100k'")
t_validate_100k=$(bench_validate m100k | awk '$1 == "total" { print $2 }')
[[ -n "$t_validate_100k" ]] || die "full validation of 100000 documents failed"
t_copy_100k=$(copy_baseline m100k)
t_restore_100k=$(restore_baseline m100k)
t_insert_100k=$(insert_baseline m100k)
# The same 100k documents as mongodump archives (plain and gzip), against
# the folder just migrated (issue 22, requirement 4).
"$BUILD_DIR/nextcrm_archive" "$work/dump100k" "$work/dump100k.archive" || die "nextcrm_archive failed"
"$BUILD_DIR/nextcrm_archive" "$work/dump100k" "$work/dump100k.archive.gz" --gzip || die "nextcrm_archive failed"
chmod a+r "$work"/dump100k.archive*
read -r t_archive _ < <(bench_migrate m100k_archive "archive '$work/dump100k.archive'")
read -r t_archive_gz _ < <(bench_migrate m100k_archive_gz "archive '$work/dump100k.archive.gz'")
# The foreign keys' row-by-row trigger checks: the same migration with them
# (and every other trigger) switched off, as the worker once did.
read -r t_noreplica _ < <(bench_migrate m100k_replica "dump_dir '$work/dump100k'" "session_replication_role = replica")
log "migrating $n documents from a dump, then COPY of the same rows"
read -r t_migrate rss_n < <(bench_migrate mbig "dump_dir '$work/dump'")
t_validate=$(bench_validate mbig | awk '$1 == "total" { print $2 }')
[[ -n "$t_validate" ]] || die "full validation of $n documents failed"
t_copy=$(copy_baseline mbig)
t_restore=$(restore_baseline mbig)

log "FerretDB: loading $n_ferret documents"
"$gen" --docs "$n_ferret" --seed 3 --uri "$MONGO_URI" --database bench 2>/dev/null || die "load failed"
read -r t_ferret _ < <(bench_migrate mferret "uri '$MONGO_URI', database 'bench'")
t0=$(now)
for c in $(psql -d mferret -At -c "SELECT collection FROM nextcrm_migration.checkpoint"); do
    "$BUILD_DIR/nextcrm_bench" drain-mongo "$MONGO_URI" bench "$c" >/dev/null 2>&1
done
t_drain=$(elapsed "$t0")

log "application queries on the $n-document database"
psql -d mbig -c "ANALYZE"
psql -d mbig >/dev/null <<'SQL'
CREATE TABLE bench_ids AS SELECT
  (SELECT "accountsIDs" FROM "crm_Contacts" WHERE "accountsIDs" IS NOT NULL
     GROUP BY 1 ORDER BY count(*) DESC LIMIT 1) AS account,
  (SELECT "user" FROM "Tasks" WHERE "user" IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1) AS user_id,
  (SELECT board FROM "Sections" GROUP BY 1 ORDER BY count(*) DESC LIMIT 1) AS board,
  (SELECT sales_stage FROM "crm_Opportunities" WHERE sales_stage IS NOT NULL
     GROUP BY 1 ORDER BY count(*) DESC LIMIT 1) AS stage,
  (SELECT task FROM "tasksComments" WHERE task IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1) AS task,
  (SELECT word FROM ts_stat($$SELECT to_tsvector('simple', coalesce(first_name, '') || ' ' || coalesce(last_name, '')) FROM "crm_Contacts" LIMIT 5000$$)
     WHERE ndoc >= 3 ORDER BY ndoc, word LIMIT 1) AS contact_word,
  (SELECT word FROM ts_stat($$SELECT to_tsvector('simple', coalesce(document_name, '')) FROM "Documents" LIMIT 5000$$)
     WHERE ndoc >= 3 ORDER BY ndoc, word LIMIT 1) AS document_word;
CREATE FUNCTION bench_p95(q text, runs int) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; ms numeric[] := '{}';
BEGIN
  FOR i IN 1..runs LOOP
    t0 := clock_timestamp();
    EXECUTE q;
    ms := ms || (extract(epoch FROM clock_timestamp() - t0) * 1000)::numeric;
  END LOOP;
  RETURN (SELECT round(percentile_disc(0.95) WITHIN GROUP (ORDER BY x), 3) FROM unnest(ms) x);
END $$;
SQL
ids() { psql -d mbig -At -c "SELECT $1 FROM bench_ids"; }
account=$(ids account); user_id=$(ids user_id); board=$(ids board); stage=$(ids stage)
task=$(ids task); cword=$(ids contact_word); dword=$(ids document_word)
queries=(
    "record by id|SELECT * FROM \"crm_Accounts\" WHERE id = '$account'"
    "account with contacts, opportunities, documents|SELECT a.name, (SELECT count(*) FROM \"crm_Contacts\" c WHERE c.\"accountsIDs\" = a.id), (SELECT json_agg(o.name) FROM \"crm_Opportunities\" o WHERE o.account = a.id), (SELECT json_agg(d.document_name) FROM \"_DocumentsToAccounts\" j JOIN \"Documents\" d ON d.id = j.\"A\" WHERE j.\"B\" = a.id) FROM \"crm_Accounts\" a WHERE a.id = '$account'"
    "a user's open tasks by due date|SELECT id, title, \"dueDateAt\" FROM \"Tasks\" WHERE \"user\" = '$user_id' AND \"taskStatus\" <> 'COMPLETE' ORDER BY \"dueDateAt\" LIMIT 50"
    "a board with its sections and tasks|SELECT b.title, s.title, t.title FROM \"Boards\" b JOIN \"Sections\" s ON s.board = b.id LEFT JOIN \"Tasks\" t ON t.section = s.id WHERE b.id = '$board'"
    "full-text search over contacts|SELECT id, first_name, last_name FROM \"crm_Contacts\" WHERE to_tsvector('simple', coalesce(\"first_name\", '') || ' ' || coalesce(\"last_name\", '') || ' ' || \"nextcrm_text_array_to_string\"(\"notes\")) @@ to_tsquery('simple', '$cword') LIMIT 50"
    "full-text search over documents|SELECT id, document_name FROM \"Documents\" WHERE to_tsvector('simple', coalesce(\"document_name\", '') || ' ' || coalesce(\"description\", '')) @@ to_tsquery('simple', '$dword') LIMIT 50"
    "opportunities by sales stage and close date|SELECT id, name, close_date FROM \"crm_Opportunities\" WHERE sales_stage = '$stage' AND close_date >= '2024-01-01' ORDER BY close_date LIMIT 50"
    "newest leads of a status|SELECT id, \"lastName\" FROM \"crm_Leads\" WHERE status = 'NEW' ORDER BY \"createdAt\" DESC LIMIT 50"
    "comments of a task|SELECT id, comment FROM \"tasksComments\" WHERE task = '$task' ORDER BY \"createdAt\""
    "a user's recent documents|SELECT id, document_name FROM \"Documents\" WHERE \"createdBy\" = '$user_id' ORDER BY \"createdAt\" DESC LIMIT 20"
)

echo
echo "== migration from a mongodump directory, $n documents"
printf '%-34s %10s s\n' "nextcrm_migrate_all()" "$t_migrate"
printf '%-34s %10s s   migrate/copy = %s (goal <= 1.3)\n' "bare COPY of the same rows" "$t_copy" "$(ratio "$t_migrate" "$t_copy")"
printf '%-34s %10s s   migrate/restore = %s (goal <= 1.2)\n' "pg_restore -j1 of its own dump" "$t_restore" "$(ratio "$t_migrate" "$t_restore")"
printf '%-34s %10s docs/s\n' "throughput" "$(awk -v n="$n" -v t="$t_migrate" 'BEGIN { printf "%.0f", n / t }')"
printf '%-34s %10s s   full validation / migration = %s (goal <= 2)\n' "nextcrm_validate(), every document" "$t_validate" "$(ratio "$t_validate" "$t_migrate")"
echo
echo "== the same at 100000 documents"
printf '%-34s %10s s\n' "nextcrm_migrate_all()" "$t_100k"
printf '%-34s %10s s   migrate/copy = %s (goal <= 1.3)\n' "bare COPY of the same rows" "$t_copy_100k" "$(ratio "$t_100k" "$t_copy_100k")"
printf '%-34s %10s s   migrate/restore = %s (goal <= 1.2)\n' "pg_restore -j1 of its own dump" "$t_restore_100k" "$(ratio "$t_100k" "$t_restore_100k")"
printf '%-34s %10s s   insert/migrate = %s (goal >= 10)\n' "row-at-a-time INSERT" "$t_insert_100k" "$(ratio "$t_insert_100k" "$t_100k")"
printf '%-34s %10s s   migrate/no-FK-checks = %s\n' "same, FK triggers off (replica)" "$t_noreplica" "$(ratio "$t_100k" "$t_noreplica")"
printf '%-34s %10s s   full validation / migration = %s (goal <= 2)\n' "nextcrm_validate(), every document" "$t_validate_100k" "$(ratio "$t_validate_100k" "$t_100k")"
printf '%-34s %10s s   archive/folder = %s (goal <= 1.15)\n' "the same as a plain archive" "$t_archive" "$(ratio "$t_archive" "$t_100k")"
printf '%-34s %10s s   archive/folder = %s (goal <= 1.15)\n' "the same as a gzip archive" "$t_archive_gz" "$(ratio "$t_archive_gz" "$t_100k")"
echo
echo "== worker peak private memory (RssAnon)"
printf '%-34s %10s kB\n' "100000 documents" "$rss_100k" "$n documents" "$rss_n"
echo
echo "== migration from FerretDB, $n_ferret documents"
printf '%-34s %10s s\n' "nextcrm_migrate_all()" "$t_ferret"
printf '%-34s %10s s   migrate/drain = %s (goal <= 1.3)\n' "raw cursor drain" "$t_drain" "$(ratio "$t_ferret" "$t_drain")"
echo
echo "== application queries on the migrated database (p95 of 200 runs, goal < 10 ms)"
for entry in "${queries[@]}"; do
    name=${entry%%|*}
    sql=${entry#*|}
    p95=$(psql -d mbig -At -c "SELECT bench_p95(\$q\$$sql\$q\$, 200)")
    plan=$(psql -d mbig -At -c "EXPLAIN $sql" | grep -oE '(Seq Scan|Index Only Scan|Index Scan( Backward)?|Bitmap Index Scan)( using [^ ]+)? on [^ ]+' | sort -u | paste -sd ';')
    printf '%-48s %8s ms   %s\n' "$name" "$p95" "$plan"
done
