#!/usr/bin/env bash
# A target database that is not UTF-8 (issue 19, item 3): the migration
# writes the database's own bytes, converted by PostgreSQL's conversion
# routines as the FDW's rows are; a value whose character the encoding
# lacks is an error row naming the collection, the _id, the field and the
# character, with the document kept as its BSON bytes (jsonb there cannot
# hold it); validation passes on what arrived; SQL_ASCII is refused.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
export PGCLIENTENCODING=UTF8

# A dump of two collections: accented Latin text, Japanese text, and
# characters neither LATIN1 nor EUC_JP has (the euro sign, an emoji), in a
# text column, a text[] element, a Json value and key, and unknown keys.
# The MD5 of each document's BSON is printed, to compare with the bytes an
# error row keeps.
mkdir -p "$work/dump/nextcrm"
python3 - "$work/dump/nextcrm" >"$work/md5" <<'PY'
import hashlib, struct, sys, os
class Oid(bytes): pass
def enc(v):
    if isinstance(v, Oid):
        return 7, bytes(v)
    if isinstance(v, bool):
        return 8, b"\1" if v else b"\0"
    if isinstance(v, str):
        b = v.encode() + b"\0"
        return 2, struct.pack("<i", len(b)) + b
    if isinstance(v, int):
        return 0x10, struct.pack("<i", v)
    if isinstance(v, list):
        return 4, doc({str(i): x for i, x in enumerate(v)})
    return 3, doc(v)
def doc(d):
    body = b""
    for k, v in d.items():
        t, b = enc(v)
        body += bytes([t]) + k.encode() + b"\0" + b
    return struct.pack("<i", len(body) + 5) + body + b"\0"
def oid(n): return Oid(bytes.fromhex("65e0000000000000000000%02x" % n))
contacts = [
    {"_id": oid(1), "last_name": "Müller-Ñúñez", "status": True, "tags": ["café", "naïve"],
     "straße": "Größe"},
    {"_id": oid(2), "last_name": "山田太郎", "status": True, "tags": ["日本語"], "メモ": "テスト"},
    {"_id": oid(3), "last_name": "Euro €", "status": True},
    {"_id": oid(4), "last_name": "ok", "status": True, "tags": ["a", "b😀"]},
    {"_id": oid(5), "last_name": "ok", "status": True, "k😀": 1},
]
tasks = [
    {"_id": oid(11), "title": "Réunion", "priority": "high", "position": 1,
     "tags": {"étiquette": ["été"]}},
    {"_id": oid(12), "title": "会議", "priority": "high", "position": 2, "tags": {"ラベル": ["夏"]}},
    {"_id": oid(13), "title": "x", "priority": "high", "position": 3, "tags": {"a": "😀"}},
]
for name, docs in (("crm_Contacts", contacts), ("Tasks", tasks)):
    with open(os.path.join(sys.argv[1], name + ".bson"), "wb") as f:
        for d in docs:
            b = doc(d)
            f.write(b)
            print(bytes(d["_id"]).hex(), hashlib.md5(b).hexdigest())
PY
ok $? "a dump of 8 documents with accented, Japanese and unrepresentable text"
chmod -R a+rX "$work"

hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
# The stored value converted back to UTF-8 is the source's bytes exactly.
arrived() { # db sql-value-expression table id utf8-text
    q -d "$1" -c "SELECT convert_to($2, 'UTF8') = '\\x$(hex "$5")'::bytea FROM \"$3\"
                   WHERE id = nextcrm_map_oid('$4')"
}
c=65e0000000000000000000
errors() {
    q -d "$1" -c "SELECT source_id || ' ' || field || ' ' || sqlstate || ' ' || message
                    FROM nextcrm_migration.errors ORDER BY collection, source_id"
}

for encoding in LATIN1 EUC_JP; do
    db=enc_${encoding,,}
    q -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db ENCODING '$encoding' LOCALE 'C'
                                          TEMPLATE template0" >/dev/null
    q -d $db >/dev/null <<SQL
CREATE EXTENSION nextcrm_mongo_fdw;
CREATE SERVER src FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (dump_dir '$work/dump');
CREATE USER MAPPING FOR CURRENT_USER SERVER src;
SQL
    out=$(q -d $db -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
    ok $? "$encoding: migrated"
    is "$(q -d $db -c "SELECT pg_encoding_to_char(encoding) FROM pg_database
                        WHERE datname = current_database()")" "$encoding" "$encoding: the target's encoding"

    is "$(arrived $db last_name crm_Contacts ${c}01 "Müller-Ñúñez")" t \
        "$encoding: accented text arrives exactly"
    is "$(arrived $db "array_to_string(tags, '|')" crm_Contacts ${c}01 "café|naïve")" t \
        "$encoding: accented text[] elements arrive exactly"
    is "$(arrived $db "tags::text" Tasks ${c}0b '{"étiquette": ["été"]}')" t \
        "$encoding: a Json key and value with accents arrive exactly"
    is "$(q -d $db -c "SELECT convert_to(keys::text, 'UTF8') = '\\x$(hex '{"straße": "Größe"}')'::bytea
                        FROM nextcrm_migration.extra_keys WHERE source_id = '${c}01'")" t \
        "$encoding: an unknown key and its value with accents are kept exactly"
done

# LATIN1 has no Japanese; EUC_JP has both.  Neither has the euro sign nor
# an emoji.
is "$(errors enc_latin1)" "${c}0c title 22P05 field \"title\" holds a character (U+4F1A) with no equivalent in encoding \"LATIN1\"
${c}0d tags 22P05 field \"tags\" holds a character (U+1F600) with no equivalent in encoding \"LATIN1\"
${c}02 last_name 22P05 field \"last_name\" holds a character (U+5C71) with no equivalent in encoding \"LATIN1\"
${c}03 last_name 22P05 field \"last_name\" holds a character (U+20AC) with no equivalent in encoding \"LATIN1\"
${c}04 tags 22P05 field \"tags\" holds a character (U+1F600) with no equivalent in encoding \"LATIN1\"
${c}05 k\\U0001F600 22P05 field \"k\\U0001F600\" holds a character (U+1F600) with no equivalent in encoding \"LATIN1\"" \
    "LATIN1: each unrepresentable value is an error row naming its field and character"
is "$(errors enc_euc_jp)" "${c}0d tags 22P05 field \"tags\" holds a character (U+1F600) with no equivalent in encoding \"EUC_JP\"
${c}03 last_name 22P05 field \"last_name\" holds a character (U+20AC) with no equivalent in encoding \"EUC_JP\"
${c}04 tags 22P05 field \"tags\" holds a character (U+1F600) with no equivalent in encoding \"EUC_JP\"
${c}05 k\\U0001F600 22P05 field \"k\\U0001F600\" holds a character (U+1F600) with no equivalent in encoding \"EUC_JP\"" \
    "EUC_JP: each unrepresentable value is an error row naming its field and character"

db=enc_euc_jp
is "$(arrived $db last_name crm_Contacts ${c}02 "山田太郎")" t "EUC_JP: Japanese text arrives exactly"
is "$(arrived $db "array_to_string(tags, '|')" crm_Contacts ${c}02 "日本語")" t \
    "EUC_JP: Japanese text[] elements arrive exactly"
is "$(arrived $db "tags::text" Tasks ${c}0c '{"ラベル": ["夏"]}')" t \
    "EUC_JP: a Json key and value in Japanese arrive exactly"
is "$(q -d $db -c "SELECT convert_to(keys::text, 'UTF8') = '\\x$(hex '{"メモ": "テスト"}')'::bytea
                    FROM nextcrm_migration.extra_keys WHERE source_id = '${c}02'")" t \
    "EUC_JP: an unknown key in Japanese is kept exactly"

for db in enc_latin1 enc_euc_jp; do
    # jsonb in these encodings cannot hold the document: its BSON is kept
    # whole, and says why.
    kept=$(q -d $db -c "SELECT source_id || ' ' || md5(decode(document->>'bson_base64', 'base64'))
                          FROM nextcrm_migration.errors ORDER BY source_id")
    is "$kept" "$(grep -F -f <(q -d $db -c "SELECT source_id FROM nextcrm_migration.errors") "$work/md5" | sort)" \
        "$db: each error row keeps its document's exact BSON"
    like "$(q -d $db -c "SELECT DISTINCT document->>'\$nextcrm_unrepresentable' FROM nextcrm_migration.errors")" \
        "^holds a character \(U\+[0-9A-F]+\) with no equivalent in the database's encoding (LATIN1|EUC_JP)" \
        "$db: and says why it is not jsonb"
    is "$(q -d $db -c "SELECT count(*) FROM nextcrm_validate('src', 1, 1000) WHERE status = 'fail'")" 0 \
        "$db: no validation check fails"
    is "$(q -d $db -c "SELECT status FROM nextcrm_validate('src', 1, 1000) WHERE family = 'summary'")" pass \
        "$db: the summary passes"
done

# A retry of the errors finds the documents by the ids the rows spell in
# the database's encoding, and they stay errors for the same reason.
q -d enc_euc_jp -c "SELECT * FROM nextcrm_retry_errors('src')" >/dev/null 2>&1
ok $? "EUC_JP: the errors retried"
is "$(q -d enc_euc_jp -c "SELECT count(*) FROM nextcrm_migration.errors")" 4 \
    "EUC_JP: a retry leaves the four error rows, not more"

# A mongodump --oplog backup of the same dump: the oplog's records
# (nextcrm_migration.oplog_applied) are written in the database's encoding
# too.  A string _id and a field with characters EUC_JP lacks, and a
# namespace that is not UTF-8 at all, were written as raw bytes: in EUC_JP
# (and in UTF8, for the namespace) that is not text, and reading the
# records failed with "invalid byte sequence".
cp -r "$work/dump" "$work/oplogdump"
python3 - "$work/oplogdump/oplog.bson" <<'PY2'
import struct, sys
def s(b):
    b += b"\0"
    return struct.pack("<i", len(b)) + b
def doc(fields):
    body = b"".join(bytes([t]) + k + b"\0" + v for t, k, v in fields)
    return struct.pack("<i", len(body) + 5) + body + b"\0"
def ts(i):
    return (0x11, b"ts", struct.pack("<II", i, 1700000000))
oid1 = bytes.fromhex("65e000000000000000000001")
entries = [
    doc([(2, b"op", s(b"i")), (2, b"ns", s(b"nextcrm.crm_Contacts")),
         (3, b"o", doc([(2, b"_id", s("€x".encode())), (2, b"last_name", s(b"x"))])), ts(1)]),
    doc([(2, b"op", s(b"u")), (2, b"ns", s(b"nextcrm.crm_Contacts")),
         (3, b"o", doc([(3, b"$set", doc([(0x10, "last_name.€".encode(), struct.pack("<i", 1))]))])),
         (3, b"o2", doc([(7, b"_id", oid1)])), ts(2)]),
    doc([(2, b"op", s(b"i")), (2, b"ns", s(b"nextcrm.bad\xff")),
         (3, b"o", doc([(0x10, b"_id", struct.pack("<i", 1))])), ts(3)]),
]
open(sys.argv[1], "wb").write(b"".join(entries))
PY2
chmod -R a+rX "$work/oplogdump"
q -c "DROP DATABASE IF EXISTS enc_oplog" -c "CREATE DATABASE enc_oplog ENCODING 'EUC_JP' LOCALE 'C'
                                             TEMPLATE template0" >/dev/null
q -d enc_oplog >/dev/null <<SQL
CREATE EXTENSION nextcrm_mongo_fdw;
CREATE SERVER src FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (dump_dir '$work/oplogdump');
CREATE USER MAPPING FOR CURRENT_USER SERVER src;
SQL
q -d enc_oplog -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1
ok $? "EUC_JP: a dump with an oplog migrated"
is "$(q -d enc_oplog -c "SELECT string_agg(concat_ws(' ', position, collection, source_id, outcome, reason),
                                           E'\n' ORDER BY position) FROM nextcrm_migration.oplog_applied" 2>&1)" \
    '1 crm_Contacts "\u20ACx" applied
2 crm_Contacts 65e000000000000000000001 failed $set path "last_name.\u20AC" goes through a value that is not an object
3 bad\xff { "$numberInt" : "1" } skipped collection "bad\xff" is not migrated: the profile does not map it' \
    "EUC_JP: the oplog's records are text of the database: a character it lacks as \\uXXXX, a byte that is no UTF-8 as \\xHH"

# SQL_ASCII has no characters to convert to: refused before anything runs.
q -c "DROP DATABASE IF EXISTS enc_sql_ascii" \
  -c "CREATE DATABASE enc_sql_ascii ENCODING 'SQL_ASCII' LOCALE 'C' TEMPLATE template0" >/dev/null
q -d enc_sql_ascii >/dev/null <<SQL
CREATE EXTENSION nextcrm_mongo_fdw;
CREATE SERVER src FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (dump_dir '$work/dump');
CREATE USER MAPPING FOR CURRENT_USER SERVER src;
SQL
out=$(psql -X -q -d enc_sql_ascii -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
fails $? "SQL_ASCII: the migration is refused"
like "$out" "cannot migrate into a database with encoding SQL_ASCII" "SQL_ASCII: the error says why"
like "$out" "HINT:  Create the target database with an encoding" "SQL_ASCII: and the hint what to do"
is "$(q -d enc_sql_ascii -c "SELECT count(*) FROM nextcrm_migration.run")" 0 "SQL_ASCII: no run started"

done_testing
