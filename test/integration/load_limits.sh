#!/usr/bin/env bash
# The load path's limits: a list of many thousands of dangling ids put back
# whole when its targets arrive (restore_references, linear in the list's
# length).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

fixture=$NEXTCRM_ROOT/tools/load_fixture.py
work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
"$BUILD_DIR/nextcrm_gen" --docs 300 --seed 3 --quirks off --dump-dir "$work/base" 2>/dev/null
ok $? "generated a clean dump"
owner=$(python3 - "$work/base/Users.bson" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
# The first document's _id: its first element (type 7, key "_id").
assert b[4:9] == b"\x07_id\x00"
print(b[9:21].hex())
PY
)
like "$owner" '^[0-9a-f]{24}$' "a generated user owns the board ($owner)"

# --- one board sharing with many users that arrive only on retry ----------
n=${NEXTCRM_DANGLING_N:-5000}
for lang in xx en; do
    cp -r "$work/base" "$work/list_$lang"
    python3 "$fixture" users "$work/list_$lang" "$n" $lang &&
        python3 "$fixture" board "$work/list_$lang" "$n" "$owner"
    ok $? "wrote $n users (userLanguage $lang) and a board sharing with all of them"
done
chmod -R a+rX "$work"
db=load_list
make_target $db "dump_dir '$work/list_xx'"
q -d $db -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1
ok $? "the migration runs"
is "$(q -d $db -c "SELECT count(*) FROM nextcrm_migration.errors WHERE collection = 'Users'")" "$n" \
    "the $n users are errors (userLanguage 'xx')"
is "$(q -d $db -c "SELECT count(*) FROM nextcrm_migration.repairs
                   WHERE collection = 'Boards' AND field LIKE 'sharedWith.%'
                     AND kind = 'dangling_ref' AND replacement = '(dropped)' AND resolved_at IS NULL")" \
    "$n" "each of the board's $n list elements is a dangling-reference repair"
is "$(q -d $db -c "SELECT cardinality(\"sharedWith\") FROM \"Boards\"
                   WHERE id = nextcrm_map_oid('66b000000000000000000001')")" 0 \
    "the board is migrated with an empty list"
q -d $db -c "ALTER SERVER src OPTIONS (SET dump_dir '$work/list_en')" >/dev/null
t0=$(date +%s.%N)
q -d $db -c "SELECT * FROM nextcrm_retry_errors('src')" >/dev/null 2>&1
ok $? "nextcrm_retry_errors() succeeds once the users are fixed"
t1=$(date +%s.%N)
echo "# retry with a list of $n dangling ids: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
is "$(q -d $db -c "SELECT count(*) FROM nextcrm_migration.errors")" 0 "no error is left"
is "$(q -d $db -c "SELECT count(*) FROM nextcrm_migration.repairs
                   WHERE collection = 'Boards' AND field LIKE 'sharedWith.%' AND resolved_at IS NOT NULL")" \
    "$n" "every one of the $n repair rows is marked resolved"
is "$(q -d $db -c "SELECT \"sharedWith\" = ARRAY(SELECT nextcrm_map_oid(lpad(to_hex(i), 24, '66a0' || repeat('0', 20)))
                                              FROM generate_series(0, $n - 1) i ORDER BY i)
                   FROM \"Boards\" WHERE id = nextcrm_map_oid('66b000000000000000000001')")" t \
    "the board's list is the source list, every element at its source index"
q -c "DROP DATABASE $db" >/dev/null

done_testing
