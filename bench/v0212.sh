#!/usr/bin/env bash
# A generated MongoDB-era dump into NextCRM v0.21.2 (profile nextcrm-v0.21.2),
# at a size the CI suites do not run.  It is not a test suite; it checks what
# the upgrade promises and exits 1 when a check fails:
#
#   bench/v0212.sh [N] [SEED]       defaults: 100000 and 3
#
# On the PostgreSQL installation PG_CONFIG names (17 or later, with pgvector
# installed into it):
#   1. nextcrm_gen writes a mongodump directory of N documents (quirks on) and
#      its manifest;
#   2. a new database (vector created by the superuser) is migrated with
#      nextcrm_migrate_all(profile => 'nextcrm-v0.21.2', app_dir => the
#      v0.21.2 checkout, NEXTCRM_APP_V0212), wall time measured;
#   3. per collection: the manifest's count, the source count the run read,
#      migrated (and the table's row count), error rows, kept aside whole, and
#      whether migrated + errors + kept aside = source = manifest;
#   4. prisma migrate status (Prisma 6.19.3 with v0.21.2's schema.prisma and
#      migrations, offline) reports the database up to date.
# It prints the per-collection table, the repairs by kind, the seconds, and a
# last line "ok" or "FAILED: ...".
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib/common.sh"
. "$here/scripts/lib/rig.sh"
. "$here/scripts/lib/prisma.sh"

n=${1:-100000}
seed=${2:-3}
[[ "$n" =~ ^[0-9]+$ ]] && ((n >= 100)) || die "usage: bench/v0212.sh [N >= 100] [SEED]"
app=$NEXTCRM_APP_V0212
[[ -d "$app/prisma/migrations" ]] || die "no v0.21.2 checkout at $app (NEXTCRM_APP_V0212)"
[[ -x "$PRISMA_DIR/node_modules/.bin/prisma" ]] ||
    die "no Prisma CLI in $PRISMA_DIR: run npm ci --no-audit --no-fund there first"
. "$here/bench/start.sh"
failures=()
fail() { failures+=("$1"); }

[[ $(psql -At -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'") == 1 ]] ||
    die "pgvector is not installed into $("$PG_CONFIG" --bindir)/.. (v0.21.2 needs it)"

log "generating $n documents (seed $seed)"
t0=$(now)
"$BUILD_DIR/nextcrm_gen" --docs "$n" --seed "$seed" --dump-dir "$work/dump" \
    --manifest "$work/manifest.json" 2>/dev/null || die "nextcrm_gen failed"
gen_seconds=$(elapsed "$t0")
chmod -R a+rX "$work"

db=v0212_bench
PGOPTIONS='-c client_min_messages=warning' psql -c "DROP DATABASE IF EXISTS $db"
psql -c "CREATE DATABASE $db"
psql -d "$db" <<SQL || die "preparing $db failed"
CREATE EXTENSION nextcrm_mongo_fdw;
CREATE EXTENSION vector;
CREATE SERVER src FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (dump_dir '$work/dump');
CREATE USER MAPPING FOR CURRENT_USER SERVER src;
SQL
log "migrating into v0.21.2 ($("$PG_CONFIG" --version))"
t0=$(now)
psql -d "$db" -c "SET client_min_messages = warning" \
    -c "SELECT * FROM nextcrm_migrate_all('src', profile => 'nextcrm-v0.21.2', app_dir => '$app')" \
    >"$work/result" 2>&1 || die "the migration failed: $(tail -5 "$work/result")"
migrate_seconds=$(elapsed "$t0")

# The manifest's per-collection counts, as collection|documents|errors rows
# (errors: what the generator planted for the default profile to refuse,
# shown beside the run's error documents, not checked).
jq -r '.collections | to_entries[] | "\(.key)|\(.value.documents)|\(.value.errors)"' "$work/manifest.json" \
    >"$work/manifest.rows" || die "reading the manifest failed"
psql -d "$db" -c "CREATE TEMP TABLE manifest (collection text, documents bigint, errors bigint)" \
    -c "\\copy manifest FROM '$work/manifest.rows' (FORMAT csv, DELIMITER '|')" \
    -At -F '|' -c "
SELECT m.collection, m.documents, c.source_total, c.migrated, t.n, e.n, k.n,
       CASE WHEN m.documents = c.source_total AND c.migrated = t.n
                 AND c.source_total = c.migrated + e.n + k.n THEN 'yes' ELSE 'NO' END,
       m.errors
  FROM manifest m
  LEFT JOIN nextcrm_migration.checkpoint c ON c.collection = m.collection
  CROSS JOIN LATERAL (SELECT count(DISTINCT source_id) AS n FROM nextcrm_migration.errors e
                       WHERE e.collection = m.collection) e
  CROSS JOIN LATERAL (SELECT count(*) AS n FROM nextcrm_migration.kept_aside k
                       WHERE k.collection = m.collection AND k.field IS NULL) k
  CROSS JOIN LATERAL (SELECT coalesce((SELECT (xpath('/row/n/text()', query_to_xml(
             format('SELECT count(*) AS n FROM public.%I', m.collection), false, true, '')))[1]::text::bigint
             WHERE to_regclass(format('public.%I', m.collection)) IS NOT NULL), 0) AS n) t
 ORDER BY c.position NULLS LAST, m.collection" >"$work/accounting" || die "counting failed"
[[ $(wc -l <"$work/accounting") -eq $(wc -l <"$work/manifest.rows") ]] || fail "collections missing from the table"
# A collection of the run that the manifest lacks would be a document the
# generator did not write.
extra=$(psql -d "$db" -At -c "SELECT collection FROM nextcrm_migration.checkpoint" | grep -vxF -f <(cut -d'|' -f1 "$work/manifest.rows"))
[[ -z "$extra" ]] || fail "the run read collections the generator did not write: $extra"
awk -F'|' '$8 != "yes" { bad = bad " " $1 } END { exit bad != "" }' "$work/accounting" ||
    fail "documents unaccounted for in:$(awk -F'|' '$8 != "yes" { printf " %s", $1 }' "$work/accounting")"

# Prisma's view, from a folder with v0.21.2's schema.prisma and migrations.
p6=$work/prisma6
mkdir -p "$p6" && cp "$PRISMA_DIR/prisma.config.ts" "$PRISMA_DIR/package.json" "$p6/" &&
    ln -s "$PRISMA_DIR/node_modules" "$p6/node_modules" && cp -R "$app/prisma/migrations" "$p6/" &&
    sed 's/^\(\s*provider\s*=\s*"postgresql"\)$/\1\n  url      = env("DATABASE_URL")/' \
        "$app/prisma/schema.prisma" >"$p6/schema.prisma" || die "preparing the Prisma folder failed"
status=$(cd "$p6" && DATABASE_URL="postgresql://$PGUSER@127.0.0.1:$PGPORT/$db" \
    ./node_modules/.bin/prisma migrate status 2>&1)
st=$?
((st == 0)) && grep -q "Database schema is up to date!" <<<"$status" ||
    fail "prisma migrate status (exit $st): $(tail -2 <<<"$status" | tr '\n' ' ')"

echo
echo "== $n generated documents (seed $seed) into NextCRM v0.21.2, $("$PG_CONFIG" --version)"
{
    echo "collection|manifest|source|migrated|table rows|error docs|kept aside|accounted|gen errors"
    cat "$work/accounting"
    awk -F'|' '{ for (i = 2; i <= 9; i++) s[i] += $i } END {
        printf "total|%d|%d|%d|%d|%d|%d||%d\n", s[2], s[3], s[4], s[5], s[6], s[7], s[9] }' "$work/accounting"
} | column -t -s '|'
echo
echo "== repairs by kind"
psql -d "$db" -At -F ' ' -c "SELECT kind, count(*) FROM nextcrm_migration.repairs GROUP BY kind ORDER BY kind" |
    column -t
echo
echo "== prisma migrate status: $(grep -E 'up to date|migrations found|not yet been applied' <<<"$status" | tr '\n' ' ')"
echo "== seconds: generate $gen_seconds, migrate $migrate_seconds" \
    "($(awk -v n="$n" -v s="$migrate_seconds" 'BEGIN { printf "%.0f", n / s }') documents/s)"
PGOPTIONS='-c client_min_messages=warning' psql -c "DROP DATABASE $db"
rm -rf "$work/dump"
if ((${#failures[@]})); then
    printf 'FAILED: %s\n' "${failures[@]}"
    exit 1
fi
echo ok
