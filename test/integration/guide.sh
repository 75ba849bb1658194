#!/usr/bin/env bash
# docs/MIGRATING.md cannot rot: its blocks tagged "sql run" and "sh run" are
# run in order against the rig, as an operator would (psql on database
# nextcrm with -v dump_dir=..., bash for the shell blocks), with a generated
# mongodump directory as the source.  Every block must succeed.
. "$(dirname "$0")/../lib/tap.sh"

work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
guide=$NEXTCRM_ROOT/docs/MIGRATING.md
# The guide's pg_config is the one the extension was installed with.
PATH=$(dirname "${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"):$PATH

"$BUILD_DIR/nextcrm_gen" --docs 2000 --seed 5 --dump-dir "$work/dump" \
    --manifest "$work/manifest.json" 2>/dev/null
ok $? "generated a mongodump directory"
chmod -R a+rX "$work/dump"
q -c "DROP DATABASE IF EXISTS nextcrm" >/dev/null 2>&1

# Each tagged block into its own file: NNN.sql or NNN.sh, in document order.
mkdir "$work/blocks"
awk -v dir="$work/blocks" '
    /^```(sql|sh) run$/ { n++; split($0, t, /[` ]+/); file = sprintf("%s/%03d.%s", dir, n, t[2]); next }
    /^```/ && file != "" { close(file); file = ""; next }
    file != "" { print > file }
' "$guide"
blocks=("$work"/blocks/*)
holds "${#blocks[@]} >= 10" "the guide has runnable blocks (${#blocks[@]})"

for block in "${blocks[@]}"; do
    first=$(grep -m1 -v '^\s*$' "$block")
    if [[ $block == *.sql ]]; then
        out=$(psql -X -v ON_ERROR_STOP=1 -d nextcrm -v dump_dir="$work/dump" -f "$block" 2>&1)
    else
        out=$(bash -euo pipefail "$block" 2>&1)
    fi
    status=$?
    ok $status "guide block $(basename "$block"): $first"
    ((status == 0)) || printf '#   %s\n' "${out//$'\n'/$'\n'#   }" | tail -20
done

# What the guide promises along the way.
is "$(q -d nextcrm -c "SELECT status FROM nextcrm_migration.run")" done \
    "the guide's migration completed"
is "$(q -d nextcrm -c "SELECT status FROM nextcrm_validate('nextcrm_mongo') WHERE family = 'summary'")" \
    pass "the guide's migration validates"
is "$(q -d nextcrm -c "SELECT count(*) FROM _prisma_migrations WHERE finished_at IS NOT NULL")" \
    "$(ls -d "$NEXTCRM_ROOT"/prisma/migrations/*/ | wc -l)" \
    "_prisma_migrations lists every bundled migration as applied"
q -c "DROP DATABASE nextcrm" >/dev/null 2>&1

done_testing
