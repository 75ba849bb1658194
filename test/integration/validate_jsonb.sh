#!/usr/bin/env bash
# nextcrm_validation_source() builds each sampled document's jsonb from its
# BSON (src/validate_jsonb.cpp) instead of writing canonical Extended JSON
# and parsing it with jsonb_in (issue 22, requirement 7).  The text path is
# kept as the reference (nextcrm_debug_validation_source_text, the same
# function with the text path): for a dump holding every BSON type, in a
# UTF8 and a LATIN1 database, every row of the two is the same, each sampled
# document byte for byte (record image equality), a document with a
# character LATIN1 lacks is null in both, and the builder made every sample
# (none went through the text).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"
export PGCLIENTENCODING=UTF8

work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
"$BUILD_DIR/nextcrm_gen" --docs 300 --seed 5 --quirks off --dump-dir "$work/dump" 2>/dev/null
ok $? "generated a clean dump"

# 66a...01: every BSON type, in every spelling canonical Extended JSON has
# for it (core/extended_json.cpp), with characters LATIN1 lacks.
# 66a...02: text LATIN1 holds beyond ASCII, in keys, strings, a symbol, a
# regular expression, code and a DBPointer's collection.
# 66a...03: only ASCII.
cat >"$work/every.jsonl" <<'JSON'
{"_id": {"$oid": "66a000000000000000000001"}, "str": "plain", "esc": "q\"b\\s/\b\f\n\r\t\u0001\u001f end", "uni": "é ü 中文 😀 \u2028", "emptys": "", "t": true, "f": false, "nul": null, "i32": {"$numberInt": "-2147483648"}, "i32max": {"$numberInt": "2147483647"}, "i64": {"$numberLong": "-9223372036854775808"}, "i64b": {"$numberLong": "9007199254740993"}, "d": {"$numberDouble": "1.5"}, "dint": {"$numberDouble": "42.0"}, "dtiny": {"$numberDouble": "5e-324"}, "dbig": {"$numberDouble": "1.7976931348623157e+308"}, "dexp": {"$numberDouble": "1e-7"}, "d1e21": {"$numberDouble": "1e+21"}, "dneg": {"$numberDouble": "-123456.789"}, "dtenth": {"$numberDouble": "0.1"}, "nan": {"$numberDouble": "NaN"}, "pinf": {"$numberDouble": "Infinity"}, "ninf": {"$numberDouble": "-Infinity"}, "nzero": {"$numberDouble": "-0.0"}, "zero": {"$numberDouble": "0.0"}, "dec": {"$numberDecimal": "12345678901234567890.123456789"}, "dechuge": {"$numberDecimal": "1E+6000"}, "dectiny": {"$numberDecimal": "-1.0E-6100"}, "decnan": {"$numberDecimal": "NaN"}, "decninf": {"$numberDecimal": "-Infinity"}, "decnz": {"$numberDecimal": "-0"}, "date": {"$date": {"$numberLong": "1700000000123"}}, "dateneg": {"$date": {"$numberLong": "-62135596800000"}}, "datefar": {"$date": {"$numberLong": "253402300800000"}}, "oid": {"$oid": "0123456789abcdef01234567"}, "bin": {"$binary": {"base64": "AAECAwQF/w==", "subType": "00"}}, "bin1": {"$binary": {"base64": "AQ==", "subType": "80"}}, "bin2": {"$binary": {"base64": "AQI=", "subType": "04"}}, "binempty": {"$binary": {"base64": "", "subType": "05"}}, "undef": {"$undefined": true}, "re": {"$regularExpression": {"pattern": "^a\"b\\\\d+é$", "options": "imsux"}}, "dbp": {"$dbPointer": {"$ref": "crm_Leads", "$id": {"$oid": "66a000000000000000000009"}}}, "code": {"$code": "function () { return \"x\"; }"}, "cws": {"$code": "f(x)", "$scope": {"x": {"$numberInt": "1"}, "y": [1, "two", {"$minKey": 1}]}}, "sym": {"$symbol": "a symbol é"}, "ts": {"$timestamp": {"t": 4294967295, "i": 1}}, "ts0": {"$timestamp": {"t": 0, "i": 0}}, "min": {"$minKey": 1}, "max": {"$maxKey": 1}, "nested": {"a": {"b": [1, [2, [3, {"c": null}]], {}, [], {"$date": {"$numberLong": "0"}}]}}, "emptyo": {}, "emptya": [], "key with \"quote\" and é": 2, "": "empty key", "zz": 1, "a": 2}
{"_id": {"$oid": "66a000000000000000000002"}, "café": "crème brûlée ÿ", "sym": {"$symbol": "é"}, "re": {"$regularExpression": {"pattern": "ü+", "options": ""}}, "code": {"$code": "'à'"}, "dbp": {"$dbPointer": {"$ref": "côté", "$id": {"$oid": "66a000000000000000000009"}}}, "list": ["ä", {"ö": "ß"}]}
{"_id": {"$oid": "66a000000000000000000003"}, "name": "ascii only", "n": {"$numberInt": "7"}}
JSON
mkdir "$work/every" && "$BUILD_DIR/nextcrm_fixture" --json "$work/every" crm_Accounts "$work/every.jsonl" &&
    cat "$work/every/crm_Accounts.bson" >>"$work/dump/crm_Accounts.bson"
ok $? "appended the documents of every type to the dump"
chmod -R a+rX "$work"

ALL=100000 # above every collection's count: every document is sampled
# Rule rows (a 'rule' row per document: these keys' values) are built too.
RULES="ARRAY['crm_Accounts.str', 'crm_Accounts.uni', 'crm_Accounts.nzero', 'crm_Accounts.ts',
             'crm_Accounts.cws', 'crm_Accounts.dbp', 'crm_Accounts.café', 'crm_Accounts.name',
             'crm_Accounts.nested', 'crm_Contacts.email', 'crm_Leads.status']"
for encoding in UTF8 LATIN1; do
    db=vjsonb_${encoding,,}
    q -c "DROP DATABASE IF EXISTS $db" \
        -c "CREATE DATABASE $db ENCODING '$encoding' LOCALE 'C' TEMPLATE template0" >/dev/null
    q -d $db >/dev/null <<SQL
CREATE EXTENSION nextcrm_mongo_fdw;
CREATE SERVER src FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (dump_dir '$work/dump');
CREATE USER MAPPING FOR CURRENT_USER SERVER src;
CREATE SCHEMA t;
CREATE TYPE t.image AS (doc jsonb, id uuid);
CREATE FUNCTION t.text_source(server name, seed double precision, sample_size int,
                              profile text DEFAULT NULL, rule_keys text[] DEFAULT NULL)
    RETURNS TABLE (collection text, kind text, source_id text, id uuid, a uuid, b uuid,
                   documents bigint, doc jsonb)
    AS 'nextcrm_mongo_fdw', 'nextcrm_debug_validation_source_text' LANGUAGE C;
SQL
    ok $? "$encoding: created the target and the text path's function"
    out=$(q -d $db -c "SET client_min_messages = debug1" \
        -c "CREATE TABLE t.built AS SELECT * FROM nextcrm_validation_source('src', 1, $ALL, NULL, $RULES)" 2>&1)
    ok $? "$encoding: nextcrm_validation_source() runs"
    like "$out" "nextcrm_validation_source: [1-9][0-9]* documents built from BSON, 0 read through their JSON text" \
        "$encoding: the builder made every sample and rule row, none went through the text"
    q -d $db -c "CREATE TABLE t.text AS SELECT * FROM t.text_source('src', 1, $ALL, NULL, $RULES)" >/dev/null
    ok $? "$encoding: the text path runs"

    is "$(q -d $db -c "SELECT (SELECT count(*) FROM t.built WHERE kind = 'sample') > 300,
                              (SELECT count(*) FROM t.built WHERE kind = 'rule') > 30,
                              (SELECT count(*) FROM t.built) = (SELECT count(*) FROM t.text)")" "t|t|t" \
        "$encoding: as many rows from both, every document sampled, its rule values read"
    # Each sample's jsonb the same bytes (*=, record image equality: a
    # numeric's scale or a key's order would differ there even where = says
    # equal), a null where the other has one.
    is "$(q -d $db -c "SELECT count(*) FROM t.built b FULL JOIN t.text x
                         ON b.kind IN ('sample', 'rule') AND x.kind = b.kind
                        AND b.collection = x.collection AND b.source_id = x.source_id
                      WHERE (b.kind IN ('sample', 'rule') OR x.kind IN ('sample', 'rule'))
                        AND NOT (ROW(b.doc, b.id)::t.image OPERATOR(pg_catalog.*=) ROW(x.doc, x.id)::t.image)")" 0 \
        "$encoding: every sample and rule row is the text path's jsonb, byte for byte"
    is "$(q -d $db -c "SELECT count(*) FROM (SELECT collection, kind, source_id, id, a, b, documents, doc::text
                                               FROM t.built WHERE kind NOT IN ('sample', 'rule')
                                             EXCEPT ALL
                                             SELECT collection, kind, source_id, id, a, b, documents, doc::text
                                               FROM t.text WHERE kind NOT IN ('sample', 'rule')) d")" 0 \
        "$encoding: and every other row the same"
done

# The fixture holds what it says: each canonical wrapper, and the typed
# spellings the builder writes itself.
keys='$oid $date $numberLong $numberInt $numberDouble $numberDecimal $binary $undefined
      $regularExpression $dbPointer $code $scope $symbol $timestamp $minKey $maxKey'
is "$(q -d vjsonb_utf8 -c "SELECT coalesce(string_agg(k, ' ' ORDER BY k), 'none missing')
          FROM unnest(string_to_array(regexp_replace('$keys', '\s+', ' ', 'g'), ' ')) k
          WHERE coalesce(position('\"' || k || '\"' IN (SELECT doc::text FROM t.built
              WHERE kind = 'sample' AND source_id = '66a000000000000000000001')), 0) = 0")" \
    "none missing" "the document of every type holds every canonical wrapper"
is "$(q -d vjsonb_utf8 -c "SELECT concat_ws(' ', doc->'nzero', doc->'nan', doc->'dexp', doc->'ts', doc->'date')
                           FROM t.built WHERE kind = 'sample' AND source_id = '66a000000000000000000001'")" \
    '{"$numberDouble": "-0.0"} {"$numberDouble": "NaN"} {"$numberDouble": "1e-7"} {"$timestamp": {"i": 1, "t": 4294967295}} {"$date": {"$numberLong": "1700000000123"}}' \
    "its values are canonical Extended JSON"

is "$(q -d vjsonb_utf8 -c "SELECT doc ?& ARRAY['str', 'uni', 'nzero', 'ts', 'cws', 'dbp', 'nested']
                           FROM t.built WHERE kind = 'rule' AND source_id = '66a000000000000000000001'")" t \
    "its rule row holds the rule keys of several types"

# LATIN1 lacks 中文 and the emoji: that document is null in both; the one
# with only Latin-1 text is converted, not null.
is "$(q -d vjsonb_latin1 -c "SELECT string_agg(right(source_id, 2) || ' ' || (doc IS NULL), ', ' ORDER BY source_id)
                             FROM t.built WHERE kind = 'sample' AND source_id LIKE '66a00000000000000000000_'")" \
    "01 true, 02 false, 03 false" "LATIN1: the document with characters LATIN1 lacks is null, the others are not"
is "$(q -d vjsonb_latin1 -c "SELECT doc->>'café' || ' ' || (doc->'list'->1->>'ö')
                             FROM t.built WHERE kind = 'sample' AND source_id = '66a000000000000000000002'")" \
    "crème brûlée ÿ ß" "LATIN1: its keys and strings read back as the source's text"

for encoding in UTF8 LATIN1; do
    q -c "DROP DATABASE vjsonb_${encoding,,}" >/dev/null
done
done_testing
