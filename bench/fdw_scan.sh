#!/usr/bin/env bash
# Scan throughput: a full scan of N generated documents (default 100000)
# through a foreign table against a raw drain of the same documents, in the
# same run, for a live FerretDB and for a mongodump file.  Prints figures; it
# is not a test and asserts nothing.
#
#   bench/fdw_scan.sh [N]
#
# raw      tools/nextcrm_bench drain-mongo (libmongoc cursor, batches of 1000)
#          or drain-dump (bson_reader), documents read and nothing else
# fdw      SELECT with an aggregate over every column (10 columns converted
#          per document) through the foreign table; psql's \timing
# fdw_id   SELECT count(*): the projection asks for _id only
# Each figure is the best of 3 runs.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/scripts/lib/common.sh"
. "$here/scripts/lib/rig.sh"

n=${1:-100000}
"$here/scripts/install-deps" >/dev/null || die "installing dependencies failed"
"$here/scripts/build" || die "building failed"
rig_start
bench=$BUILD_DIR/nextcrm_bench

log "loading $n documents into FerretDB and into a dump file"
"$bench" load "$MONGO_URI" bench accounts "$n" 2>/dev/null || die "load failed"
mkdir -p "$RIG_DIR/dump" && "$bench" dump "$RIG_DIR/dump" accounts "$n" || die "dump failed"
chmod -R a+rX "$RIG_DIR/dump"

psql -X -q -v ON_ERROR_STOP=1 <<SQL || die "setup failed"
CREATE EXTENSION nextcrm_mongo_fdw;
CREATE SERVER ferret FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri '$MONGO_URI', database 'bench');
CREATE USER MAPPING FOR CURRENT_USER SERVER ferret;
CREATE SERVER dump FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (dump_dir '$RIG_DIR/dump');
CREATE SCHEMA live; CREATE SCHEMA file;
IMPORT FOREIGN SCHEMA bench FROM SERVER ferret INTO live;
IMPORT FOREIGN SCHEMA bench FROM SERVER dump INTO file;
SQL

all_columns='count(*), count(_id), count(name), count(email), count(status), sum(amount), sum(big),
             sum(score), count(*) FILTER (WHERE active), max("createdAt"), count(tags)'

best_raw() { # command...
    local best=""
    for _ in 1 2 3; do
        local secs
        secs=$("$@" 2>/dev/null | awk '{print $2}')
        if [[ -z "$best" ]] || awk -v a="$secs" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$secs; fi
    done
    echo "$best"
}

best_sql() { # sql
    local out
    out=$(psql -X -q -At <<SQL
\\timing on
$1 \\g /dev/null
$1 \\g /dev/null
$1 \\g /dev/null
SQL
)
    grep -o 'Time: [0-9.]*' <<<"$out" | awk '{print $2 / 1000}' | sort -g | head -1
}

rate() { awk -v n="$n" -v s="$1" 'BEGIN { printf "%.0f", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }  # raw s / fdw s = fdw docs/s / raw docs/s

printf '\n%-8s %-7s %10s %14s\n' source kind seconds docs/s
for source in ferretdb dump; do
    if [[ $source == ferretdb ]]; then
        raw=$(best_raw "$bench" drain-mongo "$MONGO_URI" bench accounts)
        schema=live
    else
        raw=$(best_raw "$bench" drain-dump "$RIG_DIR/dump/accounts.bson")
        schema=file
    fi
    fdw=$(best_sql "SELECT $all_columns FROM $schema.accounts;")
    fdw_id=$(best_sql "SELECT count(*) FROM $schema.accounts;")
    printf '%-8s %-7s %10.3f %14s\n' "$source" raw "$raw" "$(rate "$raw")"
    printf '%-8s %-7s %10.3f %14s   ratio %s\n' "$source" fdw "$fdw" "$(rate "$fdw")" "$(ratio "$raw" "$fdw")"
    printf '%-8s %-7s %10.3f %14s   ratio %s\n' "$source" fdw_id "$fdw_id" "$(rate "$fdw_id")" "$(ratio "$raw" "$fdw_id")"
done
