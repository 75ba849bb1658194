#!/usr/bin/env bash
# Secrets by construction (docs/REFERENCE.md, "Secrets"; issue 20 item 1): a document's
# values are stored where the target's own values are -- the target tables
# and the side tables, exactly -- and never quoted by a message.  A corpus
# seeded with random canaries under every kind of key
# (test/lib/secrets_fixture.py) goes through a failed run, a migration, a
# retry, a validation and foreign scans that fail on a canary; with
# log_min_messages = debug1 neither the server log nor any psql output
# (NOTICEs, errors) holds a canary, the side tables hold the exact values, and
# a role without SELECT on the target reads no side table.  On a live server,
# documents with a compound _id holding a password member are resumed at and
# retried: each is found and migrated once.  A user mapping's password is in
# no output, log line or record either, whatever fails.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

work=$(mktemp -d)
chmod 755 "$work"
dir=$work/dump
trap 'q -c "ALTER SYSTEM RESET log_min_messages" -c "SELECT pg_reload_conf()" >/dev/null 2>&1; rm -rf "$work"' EXIT
python3 "$(dirname "$0")/../lib/secrets_fixture.py" "$dir" "$work/canaries" && chmod -R a+rX "$dir"
ok $? "wrote a corpus seeded with canaries"
canary() { sed -n "$1p" "$work/canaries"; } # by line: see the fixture's order
pw=$(canary 1) url=$(canary 2) smtp=$(canary 3) email=$(canary 11) enum=$(canary 12)
api2=$(canary 15) idpw=$(canary 17) idpw2=$(canary 18) pin=$(canary 21) big=$(canary 22)

q -c "ALTER SYSTEM SET log_min_messages = debug1" -c "SELECT pg_reload_conf()" >/dev/null
ok $? "the server logs at debug1"
log_start=$(($(stat -c %s "$PG_LOG") + 1))
shown="" # every psql output of this test

db=secrets_test
make_target $db "dump_dir '$dir'"
# 1. A failed run: TodoList's file is cut short inside a document.
out=$(q -d $db -c "SET client_min_messages = debug1" -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
ok $? "the run goes on past the damaged file"
shown+=$out
like "$out" "NOTICE:.*Users: batch 1" "psql showed the batch NOTICEs"
like "$out" 'WARNING: +collection "TodoList" failed: dump file .* is truncated or corrupt' \
    "a WARNING names the damaged collection"
is "$(q -d $db -c "SELECT phase FROM nextcrm_migration.checkpoint WHERE collection = 'TodoList'")" \
    failed "TodoList failed"

# 2. A migration: the damaged file replaced by its whole part.
head -c "$(python3 -c "import struct,sys; print(struct.unpack('<i', open(sys.argv[1],'rb').read(4))[0])" \
    "$dir/TodoList.bson")" "$dir/TodoList.bson" >"$work/todo" && cat "$work/todo" >"$dir/TodoList.bson"
out=$(q -d $db -c "SET client_min_messages = debug1" \
    -c "SELECT * FROM nextcrm_migrate_table('src', 'TodoList', restart => true)" 2>&1)
ok $? "the collection migrates once its file is whole"
shown+=$out

# 3. A retry: the failed documents fail again, with the same messages.
out=$(q -d $db -c "SET client_min_messages = debug1" -c "SELECT * FROM nextcrm_retry_errors('src')" 2>&1)
ok $? "the retry runs"
shown+=$out

# 4. A validation, and the records shown.
out=$(q -d $db -c "SET client_min_messages = debug1" -c "SELECT * FROM nextcrm_validate('src')" 2>&1)
ok $? "the validation runs"
shown+=$out
is "$(grep -cE '^samples\|(Users|openAi_keys|systemServices)\|sample fields\|pass' <<<"$out")" 3 \
    "validation compares the secret fields as they are and finds them equal"
# (source_id is the _id exactly, a value: table content, not a message.)
records=$(q -d $db -c "SELECT collection, field, sqlstate, message FROM nextcrm_migration.errors
                       ORDER BY 1, 2, 3, 4" 2>&1)

# 5. Foreign scans that fail on a canary: an int64 out of range, a bad enum
# label (PostgreSQL's own input error), a string that is not UTF-8.
out=$(q -d $db -c "CREATE FOREIGN TABLE tasks_src (_id text, position int4) SERVER src
                   OPTIONS (collection 'Tasks')" -c "SELECT * FROM tasks_src" 2>&1)
like "$out" 'ERROR: +cannot convert field "position" of document _id \{ "\$oid" : "65a1f0c2e4b0a1b2c3d4a0a1" \} in collection "Tasks": BSON long to column "position" of type integer: the value is out of integer.s range' \
    "a scan's range error names _id, field and types, not the value"
shown+=$out
out=$(q -d $db -c "CREATE TYPE lang AS ENUM ('en')" \
    -c "CREATE FOREIGN TABLE users_src (_id text, \"userLanguage\" lang, name text) SERVER src
        OPTIONS (collection 'Users')" -c "SELECT \"userLanguage\" FROM users_src" 2>&1)
like "$out" 'ERROR: +cannot convert field "userLanguage" .*: PostgreSQL refused the value \(SQLSTATE 22P02\)' \
    "PostgreSQL's enum input error keeps its SQLSTATE, not its text"
shown+=$out
out=$(q -d $db -c "SELECT name FROM users_src" 2>&1)
like "$out" 'ERROR: +cannot convert field "name" .*: the string is not valid UTF-8' \
    "a string that is not UTF-8 is named, not shown"
shown+=$out
out=$(q -d $db -c "CREATE FOREIGN TABLE services_src (_id jsonb, \"servicePassword\" text) SERVER src
                   OPTIONS (collection 'systemServices')" -c "SELECT * FROM services_src" 2>&1)
like "$out" 'ERROR: .*of document _id \(BSON object, uuid [0-9a-f-]{36}\)' \
    "a compound _id is named by its type and uuid"
shown+=$out

leaks=$(grep -oFf "$work/canaries" <<<"$shown$records" | sort -u | tr '\n' ' ')
is "$leaks" "" "no canary in psql's output (NOTICEs, errors, validation, the errors' messages)"
is "$(tail -c +"$log_start" "$PG_LOG" | grep -aoFf "$work/canaries" | sort -u | tr '\n' ' ')" "" \
    "no canary in the server log at debug1"
q -c "ALTER SYSTEM RESET log_min_messages" -c "SELECT pg_reload_conf()" >/dev/null

# The side tables hold the exact values.
is "$(q -d $db -c "SELECT document->>'userLanguage' FROM nextcrm_migration.errors
                   WHERE source_id = '65a1f0c2e4b0a1b2c3d4a064'")" "$enum" \
    "the errors table keeps the failing enum label"
is "$(q -d $db -c "SELECT document->>'api_key' FROM nextcrm_migration.errors
                   WHERE source_id = '65a1f0c2e4b0a1b2c3d4a072'")" "$api2" \
    "the errors table keeps a secret field"
is "$(q -d $db -c "SELECT document->'position'->>'\$numberLong' FROM nextcrm_migration.errors
                   WHERE collection = 'Tasks'")" "$big" "the errors table keeps the out-of-range number"
like "$(q -d $db -c "SELECT sqlstate || ' ' || detail FROM nextcrm_migration.errors
                     WHERE source_id = '65a1f0c2e4b0a1b2c3d4a063'")" "^23505 Key \\(email\\)=\\($email@example.test\\) already exists" \
    "the duplicate's row keeps PostgreSQL's own detail whole"
is "$(q -d $db -c "SELECT keys->>'description' || ' ' || (keys #>> '{settings,0,value}') || ' ' ||
                          (keys->'pincode'->>'\$numberLong')
                     FROM nextcrm_migration.extra_keys WHERE source_id = '65a1f0c2e4b0a1b2c3d4a061'")" \
    "postgres://admin:$url@db.example/crm $smtp $pin" "extra_keys keeps innocent keys, settings arrays and numbers exactly"
is "$(q -d $db -c "SELECT source_id->>'password' FROM nextcrm_migration.foreign_ids")" "$idpw" \
    "foreign_ids keeps a compound _id exactly"
is "$(q -d $db -c "SELECT source_id FROM nextcrm_migration.errors WHERE collection = 'systemServices'")" \
    "{ \"tenant\" : \"t2\", \"password\" : \"$idpw2\" }" "the errors table keeps a compound _id exactly"
is "$(q -d $db -c "SELECT password FROM \"Users\" WHERE email = 'ok@example.test'")" "$pw" \
    "the target holds the password, as the application stored it"

# A role without SELECT on the target reads no side table.
q -d $db -c "DROP ROLE IF EXISTS secrets_nobody" -c "CREATE ROLE secrets_nobody" >/dev/null
for t in $(q -d $db -c "SELECT quote_ident(relname) FROM pg_class
                        WHERE relnamespace = 'nextcrm_migration'::regnamespace
                          AND relkind IN ('r', 'v') ORDER BY 1"); do
    out=$(q -d $db -c "SET ROLE secrets_nobody" -c "SELECT count(*) FROM nextcrm_migration.$t" 2>&1)
    like "$out" "permission denied" "a role without SELECT on the target cannot read $t"
done
is "$(q -d $db -c "SELECT has_table_privilege('secrets_nobody', '\"Users\"', 'SELECT')")" f \
    "(the role cannot read the target either)"
q -c "DROP DATABASE $db" >/dev/null
q -c "DROP ROLE secrets_nobody" >/dev/null

# Live: compound _ids with a password member, resumed at and retried.
cmd() { "$BUILD_DIR/nextcrm_mongo_cmd" "$MONGO_URI" secrets_live "$1" >/dev/null; }
cmd '{"drop": "systemServices"}' 2>/dev/null
N=12000
live=CNRYlive$(python3 -c "import secrets; print(secrets.token_hex(8))")
python3 - "$N" "$live" >"$work/inserts" <<'PY'
import json, sys
n, live = int(sys.argv[1]), sys.argv[2]
for start in range(1, n + 2, 500):
    docs = [{"_id": {"n": i, "password": "%s-%d" % (live, i)}, "name": "s%d" % i, "serviceKey": "k",
             "__v": 0} for i in range(start, min(start + 500, n + 2))]
    if start + 500 > n + 1:
        docs[-1]["servicePassword"] = {"v": 1}  # document n + 1 fails: an object is no text
    print(json.dumps({"insert": "systemServices", "documents": docs}))
PY
while read -r line; do
    cmd "$line" || echo "# an insert failed"
done <"$work/inserts"
make_target secrets_live "uri '$MONGO_URI', database 'secrets_live'"
q -d secrets_live -c "SELECT * FROM nextcrm_migrate_table('src', 'systemServices')" >"$work/first.out" 2>&1 &
caller=$!
wait_for_batches secrets_live 2
q -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity
      WHERE datname = 'secrets_live' AND query LIKE '%nextcrm_migrate_table%' AND pid <> pg_backend_pid()
        AND backend_type = 'client backend'" >/dev/null
wait $caller
read -r phase done_before last < <(q -d secrets_live -F ' ' -c \
    "SELECT phase, processed, (last_id::jsonb)->>'password' FROM nextcrm_migration.checkpoint
      WHERE collection = 'systemServices'")
is "$phase" running "the live run stopped inside systemServices"
is "$last" "$live-$done_before" "its checkpoint is the last committed compound _id, exactly"
q -d secrets_live -c "SELECT * FROM nextcrm_migrate_table('src', 'systemServices')" >"$work/second.out" 2>&1
ok $? "the resumed run succeeds"
count() { q -d secrets_live -c "SELECT $1 FROM \"systemServices\""; }
is "$(count "count(*) || ' ' || count(DISTINCT name)")" "$N $N" \
    "the resume read every document after the checkpoint once: $N rows"
is "$(q -d secrets_live -c "SELECT source_id::jsonb->>'password' FROM nextcrm_migration.errors")" \
    "$live-$((N + 1))" "the failing document is recorded with its exact compound _id"
cmd "{\"update\": \"systemServices\", \"updates\": [{\"q\": {\"_id\": {\"n\": $((N + 1)), \"password\": \"$live-$((N + 1))\"}},
      \"u\": {\"\$set\": {\"servicePassword\": \"fixed\"}}}]}"
ok $? "fixed the failing document in the source"
# A retry needs a complete run: the other collections are empty.
q -d secrets_live -c "SELECT * FROM nextcrm_migrate_all('src')" >>"$work/second.out" 2>&1
ok $? "the run completes"
q -d secrets_live -c "SELECT * FROM nextcrm_retry_errors('src')" >"$work/retry.out" 2>&1
ok $? "the live retry runs"
is "$(count "count(*) FILTER (WHERE name = 's$((N + 1))' AND \"servicePassword\" = 'fixed') || ' ' || count(*)")" \
    "1 $((N + 1))" "the retry found the document by its compound _id and migrated it once"
is "$(q -d secrets_live -c "SELECT count(*) FROM nextcrm_migration.errors")" 0 "no error is left"
is "$(grep -oF "$live" "$work/first.out" "$work/second.out" "$work/retry.out" | sort -u | tr '\n' ' ')" "" \
    "no canary in the live runs' output"
q -c "DROP DATABASE secrets_live" >/dev/null
cmd '{"drop": "systemServices"}'

# The user mapping's password (credentials live only there): a server that
# refuses the connection, and FerretDB given a user it does not know, through
# foreign scans, a migration and a validation (each fails), EXPLAIN and
# IMPORT FOREIGN SCHEMA: no psql output, server log line (at debug1) or
# record of the extension holds the password.
mpw="Mpw-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
q -c "ALTER SYSTEM SET log_min_messages = debug1" -c "SELECT pg_reload_conf()" >/dev/null
log_start=$(($(stat -c %s "$PG_LOG") + 1))
db=secrets_mapping
q -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
q -d $db >/dev/null <<SQL
CREATE EXTENSION nextcrm_mongo_fdw;
CREATE SERVER refused FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri 'mongodb://127.0.0.1:1', database 'nextcrm', server_selection_timeout_ms '500');
CREATE SERVER ferret FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri '$MONGO_URI', database 'secrets_mapping', server_selection_timeout_ms '2000');
CREATE USER MAPPING FOR CURRENT_USER SERVER refused OPTIONS (username 'canary_user', password '$mpw');
CREATE USER MAPPING FOR CURRENT_USER SERVER ferret OPTIONS (username 'canary_user', password '$mpw');
CREATE FOREIGN TABLE refused_users (_id text, email text) SERVER refused OPTIONS (collection 'Users');
CREATE FOREIGN TABLE ferret_users (_id text, email text) SERVER ferret OPTIONS (collection 'Users');
SQL
ok $? "servers with the password in their user mappings"
shown=
for sql in "SELECT * FROM refused_users" \
    "SELECT * FROM nextcrm_migrate_all('refused')" "SELECT * FROM nextcrm_validate('refused')"; do
    out=$(q -d $db -c "$sql" 2>&1)
    fails $? "refused server: $sql fails"
    shown+=$out$'\n'
done
like "$shown" "ERROR: .*(No suitable servers|connection refused|server selection)" \
    "the refused server's connection fails with the driver's error"
# FerretDB (1.24 in the rig) refuses the driver's SCRAM-SHA-1 handshake:
# the scan fails with its answer, after the credentials were sent.
out=$(q -d $db -c "SELECT count(*) FROM ferret_users" 2>&1)
fails $? "FerretDB: a scan as a user it does not know fails"
echo "# ${out//$'\n'/ }"
shown+=$out$'\n'
# These need no answer from the server: EXPLAIN plans the scan, IMPORT
# FOREIGN SCHEMA builds the profile's tables.
for sql in "EXPLAIN (VERBOSE) SELECT * FROM ferret_users WHERE email = 'a@example.test'" \
    "IMPORT FOREIGN SCHEMA nextcrm FROM SERVER refused INTO public"; do
    out=$(q -d $db -c "$sql" 2>&1)
    ok $? "$sql"
    shown+=$out$'\n'
done
records=$(q -d $db -c "SELECT string_agg(to_jsonb(r)::text, ' ') FROM nextcrm_migration.run r")
records+=$(q -d $db -c "SELECT string_agg(to_jsonb(e)::text, ' ') FROM nextcrm_migration.errors e")
like "$records" "refused" "the failed migration is recorded"
is "$(grep -cF "$mpw" <<<"$shown$records")" 0 "no psql output or record of the extension holds the mapping's password"
is "$(tail -c +"$log_start" "$PG_LOG" | grep -acF "$mpw")" 0 "nor does the server log at debug1"
q -c "ALTER SYSTEM RESET log_min_messages" -c "SELECT pg_reload_conf()" >/dev/null
q -c "DROP DATABASE $db" >/dev/null
done_testing
