#!/usr/bin/env bash
# mongodump sources: the BSON shapes FerretDB cannot store, written with
# libbson by tools/nextcrm_fixture, either convert exactly or fail with an
# error naming collection, _id, field, BSON type and column type.
. "$(dirname "$0")/../lib/tap.sh"

dir=$RIG_DIR/dump_fixture_$$
mkdir -p "$dir"
"$BUILD_DIR/nextcrm_fixture" "$dir"
ok $? "fixture files written"
chmod -R a+rX "$dir"

db=dump_test_$$
q -c "CREATE DATABASE $db" >/dev/null
q -d "$db" <<SQL >/dev/null
CREATE EXTENSION nextcrm_mongo_fdw;
CREATE SERVER dump FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (dump_dir '$dir');
CREATE FOREIGN TABLE typed (
  _id text, id_bytes bytea OPTIONS (field '_id'),
  dec numeric, dec_huge numeric, dec_tiny numeric, dec_nan numeric, dec_int int4,
  nan float8, pinf float8, ninf float8, tenth numeric, tenth_f float8 OPTIONS (field 'tenth'),
  big_long int8, big_long_n numeric OPTIONS (field 'big_long'),
  nested jsonb, minkey jsonb, maxkey json, regex jsonb, ts jsonb,
  bin_generic bytea, bin_uuid uuid, bin_md5 bytea, bin_user bytea,
  sym text, undef text, nothing int4, absent text, "when" timestamptz, when_local timestamp OPTIONS (field 'when'),
  day date, tags text[], counts int8[], city text OPTIONS (field 'address.city'),
  zip int4 OPTIONS (field 'address.zip'), deep jsonb, doc jsonb OPTIONS (document 'true')
) SERVER dump;
CREATE FOREIGN TABLE typed_gz (_id text, doc jsonb OPTIONS (document 'true')) SERVER dump;
SQL
ok $? "server and tables created"

row() { q -d "$db" -c "SET TimeZone = 'UTC'; SELECT $1 FROM typed"; }
is "$(row "_id || ' ' || encode(id_bytes, 'hex')")" \
    "65a000000000000000000001 65a000000000000000000001" "ObjectId as text and as its 12 bytes"
is "$(row dec)" "12345678901234567890.123456789" "Decimal128 to numeric keeps every digit"
is "$(row "dec_huge = 1e6000 AND length(dec_huge::text) = 6001")" "t" "Decimal128 1E+6000 is exact"
is "$(row "dec_tiny = -1.0e-6100 AND scale(dec_tiny) = 6101")" "t" "Decimal128 -1.0E-6100 keeps its scale"
is "$(row "dec_nan || ' ' || dec_int")" "NaN 42" "Decimal128 NaN, and 4.2E+1 as integer"
is "$(row "nan || ' ' || pinf || ' ' || ninf")" "NaN Infinity -Infinity" "double NaN and infinities"
is "$(row "tenth || ' ' || (tenth_f = 0.1::float8)")" "0.1 true" "double 0.1 to numeric and float8"
is "$(row "big_long || ' ' || big_long_n")" "9007199254740993 9007199254740993" "2^53+1 exact in int8 and numeric"
is "$(row nested)" '[[{"$numberInt": "1"}, {"$numberInt": "2"}], [{"$numberInt": "3"}]]' "arrays in arrays as canonical JSON"
is "$(row "minkey::text || ' ' || maxkey::text")" '{"$minKey": 1} { "$maxKey" : 1 }' "MinKey and MaxKey"
is "$(row regex)" '{"$regularExpression": {"options": "i", "pattern": "ab+c"}}' "regex"
is "$(row ts)" '{"$timestamp": {"i": 7, "t": 1700000000}}' "BSON timestamp"
is "$(row "encode(bin_generic, 'hex') || ' ' || bin_uuid || ' ' || encode(bin_md5, 'hex') || ' ' || encode(bin_user, 'hex')")" \
    "123456 12345678-9abc-def0-0123-456789abcdef 123456789abcdef00123456789abcdef 1234" "binary subtypes 0, 4, 5, 128"
is "$(row "sym || '|' || coalesce(undef, 'NULL') || '|' || coalesce(nothing::text, 'NULL') || '|' || coalesce(absent, 'NULL')")" \
    "a symbol|NULL|NULL|NULL" "symbol as text; undefined, null and missing are NULL"
is "$(row "\"when\" || ' ' || when_local || ' ' || day")" \
    "2023-11-14 22:13:20.123+00 2023-11-14 22:13:20.123 2023-11-15" "dates keep milliseconds"
is "$(row "tags::text || ' ' || counts::text || ' ' || city || ' ' || zip")" "{a,NULL,b} {1,2,3} Brno 60200" \
    "arrays with NULL elements, dotted paths"
is "$(row "jsonb_path_query(deep, 'strict \$.**{99}')")" '{"a": {"$numberInt": "1"}}' "100 levels of nesting"
is "$(q -d "$db" -c "SELECT (SELECT doc FROM typed) = (SELECT doc FROM typed_gz)")" "t" ".bson.gz reads the same as .bson"

# Each shape that cannot convert is an ERROR with the whole story.
# (Not named fails: tap.sh's fails is called inside, and a function calling
# itself recurses until bash crashes.)
refused() { # table-definition select expected-regex description
    local out
    out=$(q -d "$db" -c "CREATE FOREIGN TABLE $1; $2" 2>&1)
    local status=$?
    fails $status "$4: fails"
    like "$out" "$3" "$4: message"
}
refused "bad_utf8 (s text) SERVER dump" "SELECT * FROM bad_utf8" \
    'field "s" of document _id \{ "\$oid" : "65a000000000000000000002" \} in collection "bad_utf8": BSON string to column "s" of type text: .*not valid UTF-8' \
    "invalid UTF-8 into text"
refused "bad_utf8_j (s jsonb) SERVER dump OPTIONS (collection 'bad_utf8')" "SELECT * FROM bad_utf8_j" \
    'field "s" .*"bad_utf8": BSON string to column "s" of type jsonb: .*not valid UTF-8' "invalid UTF-8 into jsonb"
refused "nul_string (s text) SERVER dump" "SELECT * FROM nul_string" \
    '65a000000000000000000003.*"nul_string": BSON string to column "s" of type text: .*NUL' "NUL byte into text"
refused "nul_string_j (s jsonb) SERVER dump OPTIONS (collection 'nul_string')" "SELECT * FROM nul_string_j" \
    '"nul_string": BSON string to column "s" of type jsonb: the value holds a NUL character, which jsonb cannot store' "NUL byte into jsonb"
refused "nested_array (v int4[]) SERVER dump" "SELECT * FROM nested_array" \
    '"v\.0" .*"nested_array": BSON array to column "v" of type integer\[\]: an array inside an array' "array in array into int4[]"
refused "decimal_frac (v int4) SERVER dump" "SELECT * FROM decimal_frac" \
    '"decimal_frac": BSON decimal to column "v" of type integer: the value is not an integer' "Decimal128 1.5 into integer"
refused "decimal_frac_f (v float8) SERVER dump OPTIONS (collection 'decimal_frac')" "SELECT * FROM decimal_frac_f" \
    'BSON decimal to column "v" of type double precision' "Decimal128 into float8"
refused "decimal_frac_n (v numeric(5,0)) SERVER dump OPTIONS (collection 'decimal_frac')" "SELECT * FROM decimal_frac_n" \
    'BSON decimal to column "v" of type numeric\(5,0\): .*type modifier' "Decimal128 rounded by numeric(5,0)"
refused "long_big (v int4) SERVER dump" "SELECT * FROM long_big" \
    '"long_big": BSON long to column "v" of type integer: the value is out of integer.s range' "int64 into integer"
refused "typed_min (minkey text) SERVER dump OPTIONS (collection 'typed')" "SELECT * FROM typed_min" \
    'BSON minKey to column "minkey" of type text' "MinKey into text"
refused "typed_ts (ts timestamptz) SERVER dump OPTIONS (collection 'typed')" "SELECT * FROM typed_ts" \
    'BSON timestamp to column "ts" of type timestamp with time zone' "BSON timestamp into timestamptz"
refused "typed_tags (tags int4[]) SERVER dump OPTIONS (collection 'typed')" "SELECT * FROM typed_tags" \
    '"tags\.0" .*BSON string to column "tags" of type integer\[\]' "string element into int4[]"
refused "truncated (_id int4, name text) SERVER dump" "SELECT count(*) FROM truncated" \
    'dump file ".*truncated.bson" is truncated or corrupt after 9 documents' "a truncated file"
refused "absent_coll (_id int4) SERVER dump" "SELECT * FROM absent_coll" \
    'collection "absent_coll" has no dump file' "a collection without a file"

# BinData subtype 3 (legacy UUID): its byte order is the writer's, so it is
# read only in the representation an option names; _ids map as the migration
# keys them, so a subtype 3 and a subtype 4 _id with the same bytes stay two.
refused "legacy_uuid (g uuid) SERVER dump" "SELECT * FROM legacy_uuid" \
    'field "g" of document _id \(BSON binData, uuid [0-9a-f-]{36}\) in collection "legacy_uuid": BSON binData to column "g" of type uuid: BinData subtype 3 \(legacy UUID\) needs the uuid_representation option' \
    "subtype 3 into uuid without uuid_representation"
refused "legacy_uuid_bad (g uuid OPTIONS (uuid_representation 'dotnet')) SERVER dump" "SELECT 1" \
    'option "uuid_representation" must be standard, csharp_legacy, java_legacy or python_legacy' \
    "an unknown uuid_representation"
q -d "$db" <<'SQL' >/dev/null
CREATE FOREIGN TABLE legacy_cs (id uuid OPTIONS (field '_id'), subtype int4,
  g uuid OPTIONS (uuid_representation 'csharp_legacy')) SERVER dump OPTIONS (collection 'legacy_uuid');
CREATE FOREIGN TABLE legacy_java (g uuid) SERVER dump
  OPTIONS (collection 'legacy_uuid', uuid_representation 'java_legacy');
CREATE FOREIGN TABLE legacy_std (g uuid, g_cs uuid OPTIONS (field 'g', uuid_representation 'csharp_legacy'))
  SERVER dump OPTIONS (collection 'legacy_uuid', uuid_representation 'standard');
SQL
is "$(q -d "$db" -c "SELECT DISTINCT g FROM legacy_cs")" "00112233-4455-6677-8899-aabbccddeeff" \
    "csharp_legacy reads the .NET GUID it was written as"
is "$(q -d "$db" -c "SELECT DISTINCT g FROM legacy_java")" "66774455-0011-2233-ffee-ddccbbaa9988" \
    "java_legacy (a table option) reverses each half"
is "$(q -d "$db" -c "SELECT DISTINCT g || ' ' || g_cs FROM legacy_std")" \
    "33221100-5544-7766-8899-aabbccddeeff 00112233-4455-6677-8899-aabbccddeeff" \
    "standard keeps the bytes; a column option overrides the table's"
is "$(q -d "$db" -c "SELECT count(DISTINCT id) || ' ' || count(*) FILTER (WHERE id = '10111213-1415-1617-1819-1a1b1c1d1e1f') FROM legacy_cs")" \
    "2 0" "subtype 3 and 4 _ids with the same bytes are two ids, each mapped by name as the migration maps it"

is "$(q -d "$db" -c "CREATE FOREIGN TABLE big (s text) SERVER dump; SELECT length(s) FROM big")" \
    "$((16 * 1024 * 1024 - 100))" "a 16 MB document"
is "$(q -d "$db" -c "CREATE FOREIGN TABLE many (_id int4, name text, n int4) SERVER dump;
                     SELECT count(*) || ' ' || sum(n) || ' ' || count(DISTINCT name) FROM many WHERE n > 2")" \
    "2856 12852 2856" "a gzip file of 5000 documents, filtered locally"

# The collections function reads a dump directory (without the truncated file).
rm "$dir/truncated.bson"
is "$(q -d "$db" -c "SELECT string_agg(collection || '=' || documents, ' ' ORDER BY collection)
                     FROM nextcrm_mongo_collections('dump')")" \
    "bad_utf8=1 big=1 decimal_frac=1 legacy_uuid=2 long_big=1 many=5000 nested_array=1 nul_string=1 typed=1 typed_gz=1" \
    "nextcrm_mongo_collections lists a dump directory with counts"

# IMPORT FOREIGN SCHEMA samples the dump's files; LIMIT TO and EXCEPT apply.
q -d "$db" -c "CREATE SCHEMA imported; IMPORT FOREIGN SCHEMA anything LIMIT TO (many, typed)
               FROM SERVER dump INTO imported OPTIONS (sample_size '50')" >/dev/null
ok $? "IMPORT FOREIGN SCHEMA from a dump directory"
is "$(q -d "$db" -c "SELECT string_agg(relname, ' ' ORDER BY relname) FROM pg_class c
                     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE nspname = 'imported'")" \
    "many typed" "LIMIT TO imports only the listed collections"
is "$(q -d "$db" -c "SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod), ' ' ORDER BY attnum)
                     FROM pg_attribute WHERE attrelid = 'imported.many'::regclass AND attnum > 0")" \
    "_id:integer name:text n:integer" "sampled column types"
is "$(q -d "$db" -c "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                     WHERE attrelid = 'imported.typed'::regclass AND attname IN ('dec', 'tags', 'when', 'deep', 'bin_uuid')
                     ORDER BY attname")" "$(printf 'bytea\nnumeric\njsonb\ntext[]\ntimestamp with time zone')" \
    "sampled types of the typed fixture"
is "$(q -d "$db" -c "SELECT count(*) FROM imported.many")" "5000" "an imported table scans"
q -d "$db" -c "CREATE SCHEMA rest; IMPORT FOREIGN SCHEMA anything EXCEPT (big, many) FROM SERVER dump INTO rest" >/dev/null
is "$(q -d "$db" -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE nspname = 'rest'")" "8" "EXCEPT leaves the listed collections out"

# ANALYZE reads the file and the planner sees its row count.
q -d "$db" -c "ANALYZE many" >/dev/null
is "$(q -d "$db" -c "SELECT reltuples FROM pg_class WHERE oid = 'many'::regclass")" "5000" "ANALYZE counts the documents"
like "$(q -d "$db" -c "EXPLAIN SELECT * FROM many")" "rows=5000 " "the planner uses the analyzed count"
is "$(q -d "$db" -c "SELECT n_distinct FROM pg_stats WHERE tablename = 'many' AND attname = 'n'")" "7" \
    "ANALYZE samples column statistics"

q -c "DROP DATABASE $db" >/dev/null
rm -rf "$dir"
done_testing
