#!/usr/bin/env bash
# One document never stops a run, and no value changes or vanishes on the
# way: documents libbson cannot walk whole (a malformed element after a valid
# length prefix, keys that are not UTF-8, nesting past 100 levels, keys given
# twice), NUL characters, doubles inside Json and a time given as a string
# (tools/nextcrm_fixture --documents), appended to a generated dump.  Each is
# migrated exactly or is an error row naming collection, _id and key path
# with its exact BSON kept; validation completes and names them; a plain
# SELECT on the foreign table is an ERROR naming them, never a crash.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
"$BUILD_DIR/nextcrm_gen" --docs 300 --seed 3 --quirks off --dump-dir "$work/dump" 2>/dev/null
ok $? "generated a clean dump"
mkdir "$work/kinds" && "$BUILD_DIR/nextcrm_fixture" --documents "$work/kinds"
ok $? "wrote the awkward documents"
for f in "$work"/kinds/*.bson; do
    cat "$f" >>"$work/dump/$(basename "$f")"
done
chmod -R a+rX "$work"

db=documents_test
make_target $db "dump_dir '$work/dump'"
out=$(q -d $db -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
ok $? "the migration runs to its end"
is "$(q -d $db -c "SELECT status FROM nextcrm_migration.run")" done "and is complete"
is "$(q -d $db -c "SELECT count(*) FROM nextcrm_migration.checkpoint WHERE phase <> 'done'")" 0 \
    "every collection is done"

# collection|_id|field (LIKE pattern)|SQLSTATE
while IFS='|' read -r coll id field state; do
    is "$(q -d $db -c "SELECT count(*) FROM nextcrm_migration.errors
                       WHERE collection = '$coll' AND source_id = '$id'
                         AND field LIKE '$field' AND sqlstate = '$state'")" 1 \
        "$coll $id is one error row on $field ($state)"
done <<'LIST'
crm_Accounts|65a1f0c2e4b0a1b2c3d4a001|description|22P02
crm_Accounts|65a1f0c2e4b0a1b2c3d4a031|name|22030
crm_Accounts|65a1f0c2e4b0a1b2c3d4a032|_id|22030
crm_Accounts|65a1f0c2e4b0a1b2c3d4a033|legacy.list.0.x|22030
crm_Accounts|65a1f0c2e4b0a1b2c3d4a034|legacy_note|22P02
crm_Accounts|65a1f0c2e4b0a1b2c3d4a036|(document)|XX001
crm_Leads|65a1f0c2e4b0a1b2c3d4a002|legacy_\\xff|22021
crm_Leads|65a1f0c2e4b0a1b2c3d4a003|legacy\_notes.0.k\\xfe|22021
Tasks|65a1f0c2e4b0a1b2c3d4a011|tags.d.d.%|54000
Tasks|65a1f0c2e4b0a1b2c3d4a012|tags.d.d.%|54000
Tasks|65a1f0c2e4b0a1b2c3d4a013|tags.d.d.%|54000
Tasks|65a1f0c2e4b0a1b2c3d4a014|tags.d.d.%|54000
Tasks|65a1f0c2e4b0a1b2c3d4a015|legacy\_history.0.d.%|54000
LIST
is "$(q -d $db -c "SELECT count(*) FROM nextcrm_migration.errors")" 13 \
    "no other document is an error"

# A repeated key: the message names the key, never its values (README,
# "Secrets"); the record's document holds them.
like "$(q -d $db -c "SELECT message FROM nextcrm_migration.errors WHERE source_id = '65a1f0c2e4b0a1b2c3d4a031'")" \
    '^document cannot be migrated: the key "name" appears more than once; it occurs 2 times$' \
    "the repeated name is named with its count, not its values"
like "$(q -d $db -c "SELECT message FROM nextcrm_migration.errors WHERE source_id = '65a1f0c2e4b0a1b2c3d4a032'")" \
    '"_id" appears more than once; it occurs 2 times$' "so is the repeated _id"
is "$(q -d $db -c "SELECT count(*) FROM nextcrm_migration.errors
                   WHERE source_id IN ('65a1f0c2e4b0a1b2c3d4a031', '65a1f0c2e4b0a1b2c3d4a033')
                     AND message !~ 'Value|1\.5|2\.5'")" 2 \
    "no value in the messages of repeated keys"
is "$(q -d $db -c "SELECT position(convert_to('Changed Value', 'UTF8') IN
                                   decode(document->>'bson_base64', 'base64')) > 0
                     FROM nextcrm_migration.errors WHERE source_id = '65a1f0c2e4b0a1b2c3d4a031'")" t \
    "the record's document keeps both values"
like "$(q -d $db -c "SELECT message FROM nextcrm_migration.errors WHERE source_id = '65a1f0c2e4b0a1b2c3d4a002'")" \
    'legacy_\\xff' "the key that is not UTF-8 is shown escaped"

# The exact BSON is kept for each document with no faithful JSON form: the
# decoded bytes are the fixture's document, byte for byte.
python3 - "$work/kinds" >"$work/digests" <<'PY'
import hashlib, os, struct, sys
for name in sorted(os.listdir(sys.argv[1])):
    data = open(os.path.join(sys.argv[1], name), 'rb').read()
    pos = 0
    while pos < len(data):
        n = struct.unpack_from('<i', data, pos)[0]
        doc = data[pos:pos + n]
        pos += n
        oid = doc.find(b'\x07_id\x00')
        print(doc[oid + 5:oid + 17].hex(), hashlib.sha256(doc).hexdigest())
PY
for id in 65a1f0c2e4b0a1b2c3d4a031 65a1f0c2e4b0a1b2c3d4a032 65a1f0c2e4b0a1b2c3d4a033 \
    65a1f0c2e4b0a1b2c3d4a036 65a1f0c2e4b0a1b2c3d4a002 65a1f0c2e4b0a1b2c3d4a003 \
    65a1f0c2e4b0a1b2c3d4a012 65a1f0c2e4b0a1b2c3d4a014; do
    is "$(q -d $db -c "SELECT encode(sha256(decode(document->>'bson_base64', 'base64')), 'hex')
                       FROM nextcrm_migration.errors WHERE source_id = '$id'")" \
        "$(awk -v id=$id '$1 == id {print $2}' "$work/digests")" "document $id is kept as its exact BSON"
done

# What migrated is exact.
is "$(q -d $db -c "SELECT name FROM \"crm_Accounts\" WHERE id = nextcrm_map_oid('65a1f0c2e4b0a1b2c3d4a037')")" \
    "After The Damage" "the document after the damaged one migrates"
is "$(q -d $db -c "SELECT content IS NULL FROM \"Tasks\" WHERE id = nextcrm_map_oid('65a1f0c2e4b0a1b2c3d4a016')")" \
    t "BSON undefined migrates as NULL"
is "$(q -d $db -c "SELECT keys->>'legacy_path' FROM nextcrm_migration.extra_keys WHERE source_id = '65a1f0c2e4b0a1b2c3d4a017'")" \
    'C:\u0000dir' "a backslash followed by u0000 is kept as text (it stopped the whole run)"
is "$(q -d $db -c "SELECT f.source_id #>> '{}' FROM nextcrm_migration.foreign_ids f JOIN \"Tasks\" t ON t.id = f.id
                   WHERE t.title = 'nul in _id'")" 'nul\u0000id' "an _id holding a NUL migrates, the NUL shown as \\u0000"
path=$(printf 'd,%.0s' $(seq 99))
is "$(q -d $db -c "SELECT tags #>> '{${path}leaf}' FROM \"Tasks\" WHERE id = nextcrm_map_oid('65a1f0c2e4b0a1b2c3d4a010')")" \
    bottom "100 levels of nesting migrate whole"
is "$(q -d $db -c "SELECT concat_ws(' ', i->'unit_price', i->'vat', i->'qty', i->'third', i->'big', i->'exact',
                                     i->'neg_zero', i->'inf', (i->>'tiny')::float8 = 1e-7,
                                     i->'unit_price' = '19.99'::jsonb, i->'vat' = '0.21')
                   FROM \"Invoices\", jsonb_array_elements(invoice_items) i
                   WHERE id = nextcrm_map_oid('65a1f0c2e4b0a1b2c3d4a051')")" \
    '19.99 0.21 3.0 0.30000000000000004 9007199254740993 {"$numberDecimal": "0.1000000000000000000000000000000001"} {"$numberDouble": "-0.0"} {"$numberDouble": "Infinity"} t t t' \
    "doubles in Json keep their shortest exact form; integers, decimals, -0.0 and Infinity stay exact"
# A Symbol is the string it holds in text, text[] and Json, with no repair.
is "$(q -d $db -c "SELECT c.last_name || ' ' || c.tags::text || ' ' || (i->'unit')::text
                   FROM \"crm_Contacts\" c, \"Invoices\" v, jsonb_array_elements(v.invoice_items) i
                   WHERE c.id = nextcrm_map_oid('65a1f0c2e4b0a1b2c3d4a061')
                     AND v.id = nextcrm_map_oid('65a1f0c2e4b0a1b2c3d4a051')")" \
    'Novák {vip,alpha} "pcs"' "Symbols are their strings in text, text[] and Json"
is "$(q -d $db -c "SELECT count(*) FROM nextcrm_migration.repairs
                   WHERE field IN ('last_name', 'tags.1', 'invoice_items', 'invoice_items.0.unit')")" 0 \
    "and no repair row records them"

# jsonb has no -0: each -0.0 stays typed and is a repair row at its path.
is "$(q -d $db -c "SELECT string_agg(field || ' ' || original || ' ' || replacement, '|' ORDER BY field)
                   FROM nextcrm_migration.repairs
                   WHERE collection = 'Invoices' AND source_id = '65a1f0c2e4b0a1b2c3d4a051'
                     AND kind = 'negative_zero'")" \
    'invoice_items.0.neg_zero -0.0 {"$numberDouble": "-0.0"}|invoice_items.0.part.discount -0.0 {"$numberDouble": "-0.0"}' \
    "each -0.0 in a Json field is a repair row naming its path"
is "$(q -d $db -c "SELECT count(*) FROM nextcrm_migration.repairs WHERE kind = 'negative_zero'")" 2 \
    "and no other document has one"
is "$(q -d $db -c "SELECT r.replacement || ' ' || (r.replacement::timestamp = a.\"createdAt\")
                   FROM nextcrm_migration.repairs r JOIN \"crm_Accounts\" a
                     ON a.id = nextcrm_map_oid(r.source_id)
                   WHERE r.source_id = '65a1f0c2e4b0a1b2c3d4a035' AND r.field = 'createdAt'")" \
    "2024-01-13 02:09:06.123 true" "a repaired time reads as a timestamp literal"
like "$(q -d $db -c "SELECT string_agg(DISTINCT replacement, ',') FROM nextcrm_migration.repairs
                     WHERE kind = 'default_applied' AND field = 'createdAt'")" \
    '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}' "times filled in from the ObjectId read as timestamps too"

# Validation survives every document the migration survived and names them.
report=$(q -d $db -c "SELECT status || ' ' || \"table\" || ' ' || \"check\" || ': ' || coalesce(details, '')
                      FROM nextcrm_validate('src', 1, 100000) WHERE status <> 'pass'" 2>&1)
ok $? "validation completes"
is "$(grep -c '^fail' <<<"$report")" 0 "no check fails"
like "$report" 'warn crm_Accounts awkward documents: .*65a1f0c2e4b0a1b2c3d4a001 \(the document holds a NUL character in "description"' \
    "validation names the document with a NUL character"
like "$report" 'warn crm_Leads awkward documents: .*legacy_\\xff' "and the key that is not UTF-8"
like "$report" 'warn Tasks awkward documents: .*deeper than 100 levels' "and the deep documents"
like "$report" 'warn crm_Accounts awkward documents: .*appears more than once' "and the repeated keys"

# Numbers compared as numbers: the same double written with 20 digits is
# equal; one unit in the last place off is not.
q -d $db -c "UPDATE \"Invoices\" SET invoice_items = jsonb_set(invoice_items, '{0,unit_price}', '19.989999999999998437')
             WHERE id = nextcrm_map_oid('65a1f0c2e4b0a1b2c3d4a051')" >/dev/null
is "$(q -d $db -c "SELECT status FROM nextcrm_validate('src', 1, 100000) WHERE \"table\" = 'Invoices' AND \"check\" = 'jsonb'")" \
    pass "the same double in another spelling passes"
q -d $db -c "UPDATE \"Invoices\" SET invoice_items = jsonb_set(invoice_items, '{0,unit_price}', '19.990000000000002')
             WHERE id = nextcrm_map_oid('65a1f0c2e4b0a1b2c3d4a051')" >/dev/null
is "$(q -d $db -c "SELECT status FROM nextcrm_validate('src', 1, 100000) WHERE \"table\" = 'Invoices' AND \"check\" = 'jsonb'")" \
    fail "a double one unit in the last place off fails"
q -d $db -c "UPDATE \"Invoices\" SET invoice_items = jsonb_set(jsonb_set(invoice_items, '{0,unit_price}', '19.99'),
                                                            '{0,neg_zero}', '0.0')
             WHERE id = nextcrm_map_oid('65a1f0c2e4b0a1b2c3d4a051')" >/dev/null
is "$(q -d $db -c "SELECT status FROM nextcrm_validate('src', 1, 100000) WHERE \"table\" = 'Invoices' AND \"check\" = 'jsonb'")" \
    fail "-0.0 stored as 0.0 fails"

# A plain SELECT on the foreign table: an ERROR naming collection, _id and
# field for each kind, never a signal.  One document per server, so each
# depth is reached.
python3 - "$work/kinds" "$work/one" <<'PY'
import os, struct, sys
src, out = sys.argv[1], sys.argv[2]
for name in sorted(os.listdir(src)):
    data = open(os.path.join(src, name), 'rb').read()
    pos = 0
    while pos < len(data):
        n = struct.unpack_from('<i', data, pos)[0]
        doc = data[pos:pos + n]
        pos += n
        oid = doc.find(b'\x07_id\x00')
        d = os.path.join(out, doc[oid + 5:oid + 17].hex())
        os.makedirs(d)
        open(os.path.join(d, name), 'wb').write(doc)
PY
chmod -R a+rX "$work/one"
while IFS='|' read -r coll id column pattern; do
    q -d $db -c "DROP SERVER IF EXISTS one CASCADE;
                 CREATE SERVER one FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (dump_dir '$work/one/$id');
                 CREATE USER MAPPING FOR CURRENT_USER SERVER one;
                 CREATE FOREIGN TABLE one_t (_id text, $column) SERVER one OPTIONS (collection '$coll')" >/dev/null
    err=$(q -d $db -c "SELECT * FROM one_t" 2>&1)
    like "$err" "ERROR: .*field \"$pattern\" of document _id \\{ \"\\\$oid\" : \"$id\" \\} in collection \"$coll\"" \
        "SELECT on $coll $id: an ERROR naming field, _id and collection"
done <<'LIST'
Tasks|65a1f0c2e4b0a1b2c3d4a011|tags jsonb|tags\.d\.d\..*
Tasks|65a1f0c2e4b0a1b2c3d4a012|tags jsonb|tags\.d\.d\..*
Tasks|65a1f0c2e4b0a1b2c3d4a013|tags jsonb|tags\.d\.d\..*
Tasks|65a1f0c2e4b0a1b2c3d4a014|tags jsonb|tags\.d\.d\..*
Tasks|65a1f0c2e4b0a1b2c3d4a014|doc jsonb OPTIONS (document 'true')|tags\.d\.d\..*
crm_Leads|65a1f0c2e4b0a1b2c3d4a002|"lastName" text|legacy_\\xff
crm_Accounts|65a1f0c2e4b0a1b2c3d4a031|name text|name
crm_Accounts|65a1f0c2e4b0a1b2c3d4a036|name text|\(document\)
crm_Accounts|65a1f0c2e4b0a1b2c3d4a001|description jsonb|description
crm_Accounts|65a1f0c2e4b0a1b2c3d4a034|doc jsonb OPTIONS (document 'true')|legacy_note
LIST
is "$(q -d $db -c "SELECT 1")" 1 "the server is still up"
q -d $db -c "DROP SERVER one CASCADE" >/dev/null

q -c "DROP DATABASE $db" >/dev/null
done_testing
