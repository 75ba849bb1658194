#!/usr/bin/env bash
# Real mongodump output (test/fixtures/mongodump: mongodump 100.18.0 of one
# generated NextCRM database) in its four shapes — whole-server folder,
# --gzip folder, --archive, --archive --gzip — migrates to targets identical
# table by table to one another and to a migration of the same documents
# loaded into FerretDB.  Each shape lists, imports, scans and validates;
# damaged archives and folders fail with the file, byte offset and documents
# read; a missing dump_dir and a collection in both .bson and .bson.gz are
# errors naming the paths.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
cp -r "$NEXTCRM_ROOT/test/fixtures/mongodump" "$work/fx"
chmod -R u+w,a+rX "$work/fx"
fx=$work/fx
manifest=$fx/manifest.json

# The same documents, loaded into FerretDB from the folder shape's files.
args=()
for f in "$fx"/dir/nextcrm/*.bson; do
    c=$(basename "$f" .bson)
    args+=("$c=$f")
done
"$BUILD_DIR/nextcrm_load" "$MONGO_URI" shapes_live "${args[@]}" >/dev/null
ok $? "the folder shape's .bson files loaded into FerretDB"

# Per target table: name=md5 of its rows, and of the migration's records.
table_digests() { # db
    local db=$1 t sql=""
    for t in $(target_tables "$db"); do
        sql+="SELECT '$t' || '=' || md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) FROM $t x UNION ALL "
    done
    sql+="SELECT 'errors=' || md5(coalesce(string_agg(concat_ws('|', collection, source_id, field, sqlstate, message, document::text), E'\\n' ORDER BY collection, source_id, message), '')) FROM nextcrm_migration.errors UNION ALL "
    sql+="SELECT 'repairs=' || md5(coalesce(string_agg(concat_ws('|', collection, source_id, field, kind, original, replacement), E'\\n' ORDER BY collection, source_id, field, kind, original), '')) FROM nextcrm_migration.repairs"
    q -d "$db" -c "SELECT * FROM ($sql) s(d) ORDER BY d"
}

declare -A shape_options=(
    [live]="uri '$MONGO_URI', database 'shapes_live'"
    [dir]="dump_dir '$fx/dir', database 'nextcrm'"
    [gzip]="dump_dir '$fx/gzip'"
    [archive]="archive '$fx/nextcrm.archive'"
    [archive_gz]="archive '$fx/nextcrm.archive.gz', database 'nextcrm'"
)
expected_total=$(python3 -c "import json,sys; print(sum(v['documents'] for v in json.load(open(sys.argv[1]))['collections'].values()))" "$manifest")

for shape in live dir gzip archive archive_gz; do
    db=shapes_$shape
    make_target "$db" "${shape_options[$shape]}"
    out=$(q -d "$db" -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
    ok $? "$shape: nextcrm_migrate_all() succeeds"
    is "$(q -d "$db" -c "SELECT status FROM nextcrm_migration.run")" done "$shape: the run is complete"
    bad=$(manifest_query "$manifest" "$db" "
        SELECT string_agg(format('%s: source %s, manifest %s', c.collection, c.source_total,
                                 m.value->>'documents'), '; ')
          FROM nextcrm_migration.checkpoint c
          JOIN json_each(:'m'::json->'collections') m ON m.key = c.collection
         WHERE c.source_total <> (m.value->>'documents')::bigint
            OR c.migrated + c.failed <> c.source_total")
    is "$bad" "" "$shape: every collection read in full, each document migrated or an error"
    is "$(q -d "$db" -c "SELECT sum(source_total) FROM nextcrm_migration.checkpoint")" \
        "$expected_total" "$shape: $expected_total documents read"
    table_digests "$db" >"$work/$shape.digest"
    ok $? "$shape: target digested"

    # The listing, the foreign tables and validation work on the shape.
    is "$(q -d "$db" -c "SELECT count(*) || '/' || sum(documents) FROM nextcrm_mongo_collections('src')")" \
        "29/$expected_total" "$shape: nextcrm_mongo_collections() lists 29 collections"
    q -d "$db" -c "CREATE SCHEMA fx; IMPORT FOREIGN SCHEMA nextcrm FROM SERVER src INTO fx" >/dev/null
    ok $? "$shape: IMPORT FOREIGN SCHEMA nextcrm"
    is "$(q -d "$db" -c "SELECT count(*) FROM fx.\"crm_Accounts\"")|$(q -d "$db" -c "SELECT count(*) FROM fx.\"Tasks\"")" \
        "237|$(q -d "$db" -c "SELECT source_total FROM nextcrm_migration.checkpoint WHERE collection = 'Tasks'")" \
        "$shape: the foreign tables read the documents"
    # One validation, every document sampled, through the pgTAP suite: a
    # check that fails is a failing test of the suite (each validation costs
    # seconds, most of them whatever the sample).
    if command -v pg_prove >/dev/null; then
        pg_prove -v -d "$db" --set server=src --set seed=1 --set sample_size=100000 \
            "$($PG_CONFIG --sharedir)/extension/nextcrm_mongo_fdw_validate.sql" >"$work/$shape.prove" 2>&1
        ok $? "$shape: nextcrm_validate() passes, through the pgTAP validation suite"
        grep '^not ok' "$work/$shape.prove" | sed 's/^/# /'
    else
        ok 1 "$shape: pg_prove is installed"
    fi
done

for shape in dir gzip archive archive_gz; do
    is "$(diff "$work/live.digest" "$work/$shape.digest")" "" \
        "$shape: every target table identical to the FerretDB migration's ($(wc -l <"$work/$shape.digest") checksums)"
done

# What a backup holds that is not NextCRM data is named, never migrated.
mkdir -p "$work/extra/nextcrm"
cp "$fx"/dir/nextcrm/* "$work/extra/nextcrm/"
cp "$fx/dir/prelude.json" "$work/extra/"
rm "$work/extra/nextcrm/"crm_Leads.*
rm "$work/extra/nextcrm/Tasks.bson"
cp "$fx/dir/nextcrm/Boards.bson" "$work/extra/nextcrm/legacy_notes.bson"
cp "$fx/dir/nextcrm/Boards.bson" "$work/extra/nextcrm/system.profile.bson"
printf '%s' '{"collectionName":"open_tasks","type":"view","options":{"viewOn":"Tasks"}}' \
    >"$work/extra/nextcrm/open_tasks.metadata.json"
chmod -R a+rX "$work/extra"
make_target shapes_extra "dump_dir '$work/extra', database 'nextcrm'"
out=$(q -d shapes_extra -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
like "$out" 'NOTICE:  1 NextCRM collections are absent from the dump .*
DETAIL:  Absent \(not empty\): crm_Leads\.' "absent collections are named as absent"
like "$out" 'NOTICE:  1 collections in the dump are not NextCRM collections and are not migrated
DETAIL:  Not migrated: legacy_notes\.' "a .bson file that is not a NextCRM collection is named"
like "$out" 'NOTICE:  collection "open_tasks" in the dump is skipped
DETAIL:  It is a view\.' "a view is skipped and named"
like "$out" 'NOTICE:  collection "system.profile" in the dump is skipped
DETAIL:  It is a system collection\.' "a system collection is skipped and named"
like "$out" 'NOTICE:  collection "Tasks" cannot be read from the dump
DETAIL:  Its metadata file is in the dump but its documents \(Tasks.bson or Tasks.bson.gz\) are not\.' \
    "a collection whose documents are missing is reported"

# A dump_dir that is not there: CREATE SERVER does not look (file_fdw's
# rule; a restored pg_dump must bring its server back), and reading it is an
# ERROR naming the path, before any run starts.
q -c "DROP DATABASE IF EXISTS shapes_missing" >/dev/null
q -c "CREATE DATABASE shapes_missing" >/dev/null
q -d shapes_missing -c "CREATE EXTENSION nextcrm_mongo_fdw" >/dev/null
q -d shapes_missing -c "CREATE SERVER m FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (dump_dir '$work/nope')" >/dev/null 2>&1
ok $? "CREATE SERVER with a missing dump_dir succeeds"
out=$(q -d shapes_missing -c "SELECT * FROM nextcrm_migrate_all('m')" 2>&1)
like "$out" "ERROR:  dump directory \"$work/nope\" does not exist" "a run from a missing dump_dir fails naming it"
q -d shapes_missing -c "CREATE SERVER a FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (archive '$fx/dir')" >/dev/null 2>&1
ok $? "CREATE SERVER with a directory as archive succeeds"
out=$(q -d shapes_missing -c "SELECT * FROM nextcrm_mongo_collections('a')" 2>&1)
like "$out" "ERROR:  archive \"$fx/dir\" is a directory, not a file" "reading a directory as archive fails naming it"
q -d shapes_missing -c "DROP SERVER m; DROP SERVER a" >/dev/null
mkdir "$work/gone"
chmod a+rx "$work/gone"
q -d shapes_missing -c "CREATE SERVER m FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (dump_dir '$work/gone')" >/dev/null
rmdir "$work/gone"
out=$(q -d shapes_missing -c "SELECT * FROM nextcrm_migrate_all('m')" 2>&1)
like "$out" "ERROR:  dump directory \"$work/gone\" does not exist" "a dump_dir removed after CREATE SERVER fails the run before it starts"
is "$(q -d shapes_missing -c "SELECT count(*) FROM nextcrm_migration.run" 2>&1)" 0 "no run was started"

# The bson-and-gz case of shared/cases: an error naming both files.
python3 /work/shared/cases/edges.py "$work/edges" >/dev/null 2>&1
if [[ -d $work/edges/bson-and-gz ]]; then
    chmod -R a+rX "$work/edges"
    make_target shapes_both "dump_dir '$work/edges/bson-and-gz'"
    out=$(q -d shapes_both -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
    like "$out" "ERROR:  collection \"crm_Accounts\" has two dump files in \"$work/edges/bson-and-gz\"
DETAIL:  Both \"$work/edges/bson-and-gz/crm_Accounts.bson\" and \"$work/edges/bson-and-gz/crm_Accounts.bson.gz\" exist" \
        "bson-and-gz: an error naming both files"
    out=$(q -d shapes_both -c "CREATE FOREIGN TABLE acc (_id text) SERVER src OPTIONS (collection 'crm_Accounts'); SELECT count(*) FROM acc" 2>&1)
    like "$out" 'has two dump files' "bson-and-gz: the foreign table refuses too"
else
    ok 1 "edges.py wrote the bson-and-gz case"
fi

# Damaged archives and files: the documents before the damage are read,
# the error names the file, the byte offset and the documents read.
size=$(stat -c %s "$fx/nextcrm.archive")
head -c $((size / 2)) "$fx/nextcrm.archive" >"$work/cut.archive"
head -c $((size / 2)) "$fx/nextcrm.archive" | gzip >"$work/cut.archive.gz"
head -c 100000 "$fx/dir/nextcrm/crm_Contacts.bson" >"$work/cut_contacts.bson"
mkdir -p "$work/cutdir"
cp "$work/cut_contacts.bson" "$work/cutdir/crm_Contacts.bson"
gzip -c "$work/cut_contacts.bson" >"$work/cutdir/crm_Accounts.bson.gz"
chmod -R a+rX "$work"
for damaged in "archive '$work/cut.archive'" "archive '$work/cut.archive.gz'"; do
    make_target shapes_cut "$damaged"
    out=$(q -d shapes_cut -c "SELECT count(*) FROM nextcrm_mongo_collections('src')" 2>&1)
    like "$out" 'ERROR:  archive ".*cut.archive(.gz)?" is truncated or corrupt at byte [0-9]+: .*
DETAIL:  Collection "[A-Za-z_]+": [0-9]+ documents were read before the damage\.' \
        "$damaged: listing fails naming file, byte offset and documents read"
    out=$(q -d shapes_cut -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
    like "$out" 'archive ".*" is truncated or corrupt at byte [0-9]+' "$damaged: the migration names the damage"
done
make_target shapes_cutdir "dump_dir '$work/cutdir'"
q -d shapes_cutdir -c "CREATE FOREIGN TABLE c (_id text) SERVER src OPTIONS (collection 'crm_Contacts')" >/dev/null
out=$(q -d shapes_cutdir -c "SELECT count(*) FROM c" 2>&1)
like "$out" "ERROR:  dump file \"$work/cutdir/crm_Contacts.bson\" is truncated or corrupt after [0-9]+ documents" \
    "a truncated .bson names the file and the documents read"

# Same answer from either source: the conditions a live server evaluates are
# evaluated on a dump's documents before their columns are converted, so a
# document the condition excludes cannot fail the query.
mkdir -p "$work/same"
python3 - "$work/same/pairs.bson" <<'PY'
import struct, sys
def s(k, v): b = v.encode() + b"\0"; return b"\x02" + k.encode() + b"\0" + struct.pack("<i", len(b)) + b
def i(k, v): return b"\x10" + k.encode() + b"\0" + struct.pack("<i", v)
def doc(*els): body = b"".join(els) + b"\0"; return struct.pack("<i", len(body) + 4) + body
open(sys.argv[1], "wb").write(doc(i("_id", 1), s("k", "x"), i("s", 7)) + doc(i("_id", 2), s("k", "y"), s("s", "seven")))
PY
chmod -R a+rX "$work/same"
"$BUILD_DIR/nextcrm_load" "$MONGO_URI" shapes_same pairs="$work/same/pairs.bson" >/dev/null
q -d shapes_missing >/dev/null <<SQL
CREATE SERVER same_dump FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (dump_dir '$work/same');
CREATE SERVER same_live FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (uri '$MONGO_URI', database 'shapes_same');
CREATE USER MAPPING FOR CURRENT_USER SERVER same_live;
CREATE FOREIGN TABLE pairs_dump (k text, s int4) SERVER same_dump OPTIONS (collection 'pairs');
CREATE FOREIGN TABLE pairs_live (k text, s int4) SERVER same_live OPTIONS (collection 'pairs');
SQL
is "$(q -d shapes_missing -c "SELECT s FROM pairs_dump WHERE k = 'x'" 2>&1)" \
    "$(q -d shapes_missing -c "SELECT s FROM pairs_live WHERE k = 'x'" 2>&1)" \
    "a dump answers WHERE k = 'x' as the live server does"
is "$(q -d shapes_missing -c "SELECT s FROM pairs_dump WHERE k = 'x'" 2>&1)" 7 "... which is the one matching row"
out=$(q -d shapes_missing -c "SELECT s FROM pairs_dump WHERE k = 'y'" 2>&1)
like "$out" 'cannot convert field "s" of document _id \(BSON int, uuid [0-9a-f-]{36}\) in collection "pairs": BSON string to column "s" of type integer' \
    "the document the condition selects still fails with its reason"
is "$(q -d shapes_missing -c "SELECT s FROM pairs_dump WHERE k <> 'nothing'" 2>&1 | head -1)" \
    "$(q -d shapes_missing -c "SELECT s FROM pairs_live WHERE k <> 'nothing'" 2>&1 | head -1)" \
    "a condition that selects the unconvertible document fails on both sources alike"

# Reading files of the server's host is a privilege (file_fdw's rule).
q -d shapes_missing >/dev/null 2>&1 <<SQL
DROP ROLE IF EXISTS shapes_user;
CREATE ROLE shapes_user;
GRANT USAGE ON FOREIGN DATA WRAPPER nextcrm_mongo_fdw TO shapes_user;
SQL
for opt in "archive '$fx/nextcrm.archive'" "dump_dir '$fx/gzip'"; do
    out=$(q -d shapes_missing -c "SET ROLE shapes_user; CREATE SERVER u FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS ($opt)" 2>&1)
    like "$out" "ERROR:  only superuser or a role with privileges of the pg_read_server_files role may specify the \"${opt%% *}\" option" \
        "a plain role cannot set ${opt%% *}"
done
q -d shapes_missing -c "GRANT pg_read_server_files TO shapes_user" >/dev/null
q -d shapes_missing -c "SET ROLE shapes_user; CREATE SERVER u FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (archive '$fx/nextcrm.archive')" >/dev/null 2>&1
ok $? "a member of pg_read_server_files can"
q -d shapes_missing -c "DROP SERVER u; DROP OWNED BY shapes_user; DROP ROLE shapes_user" >/dev/null 2>&1

done_testing
