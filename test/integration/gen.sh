#!/usr/bin/env bash
# nextcrm_gen against the rig's FerretDB: 2000 documents in all 29
# collections, counted by the extension and compared with the manifest.
. "$(dirname "$0")/../lib/tap.sh"

gen=$BUILD_DIR/nextcrm_gen
manifest=$RIG_DIR/gen-manifest.json
"$gen" --docs 2000 --seed 2024 --uri "$MONGO_URI" --database gen_test \
    --manifest "$manifest" 2>"$RIG_DIR/gen.err"
ok $? "nextcrm_gen loads 2000 documents into FerretDB database gen_test"

db=gen_test_$$
q -c "CREATE DATABASE $db" >/dev/null
q -d "$db" <<SQL >/dev/null
CREATE EXTENSION nextcrm_mongo_fdw;
CREATE SERVER gen FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri '$MONGO_URI', database 'gen_test');
CREATE USER MAPPING FOR CURRENT_USER SERVER gen;
SQL
ok $? "extension and server created"

m() { q -d "$db" -v m="$(cat "$1")" <<<"$2"; }

is "$(m "$manifest" "SELECT count(*) || ' ' || sum((value->>'documents')::int)
                      FROM jsonb_each(:'m'::jsonb->'collections')")" "29 2000" \
    "the manifest lists 29 collections holding 2000 documents"

is "$(q -d "$db" -c "SELECT count(*) FROM nextcrm_mongo_collections('gen')")" 29 \
    "FerretDB holds 29 collections"

while IFS='|' read -r coll expected; do
    got=$(q -d "$db" -c "SELECT documents FROM nextcrm_mongo_collections('gen')
                         WHERE collection = '$coll'")
    is "$got" "$expected" "$coll: $expected documents, as the manifest says"
done < <(m "$manifest" "SELECT key, value->>'documents'
                        FROM jsonb_each(:'m'::jsonb->'collections') ORDER BY key")

errors=$(m "$manifest" "SELECT (:'m'::jsonb->>'error_documents')::int")
holds "errors >= 10" "the manifest names at least 10 error documents ($errors)"

# A second load drops the collections first and writes the same documents.
"$gen" --docs 2000 --seed 2024 --uri "$MONGO_URI" --database gen_test \
    --manifest "$manifest.2" 2>>"$RIG_DIR/gen.err"
ok $? "a second load succeeds"
cmp -s "$manifest" "$manifest.2"
ok $? "the same seed gives the same manifest"
is "$(q -d "$db" -c "SELECT sum(documents) FROM nextcrm_mongo_collections('gen')")" 2000 \
    "the second load replaced the first (2000 documents, not 4000)"

# Dump mode adds only shapes FerretDB cannot store, on documents already kept
# apart, so the junction unions agree with the server run.
"$gen" --docs 2000 --seed 2024 --dump-dir "$RIG_DIR/gen-dump" \
    --manifest "$manifest.dump" 2>>"$RIG_DIR/gen.err"
ok $? "the same data as a mongodump directory"
is "$(q -d "$db" -v a="$(cat "$manifest")" -v b="$(cat "$manifest.dump")" <<<"
    SELECT count(*) FROM jsonb_each(:'a'::jsonb->'junctions') j
    WHERE j.value->'pair_list' = (:'b'::jsonb->'junctions'->j.key->'pair_list')")" 10 \
    "all 10 junction unions equal in server and dump mode"

q -c "DROP DATABASE $db" >/dev/null
done_testing
