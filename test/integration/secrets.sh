#!/usr/bin/env bash
# The redaction rule end to end (issue 11): secrets planted at every depth, of
# every BSON type, in known and unknown fields of four collections
# (test/lib/secrets_fixture.py) never appear in any nextcrm_migration table, in
# psql's output (NOTICEs, errors, the records, validation) or in the server
# log, while the values beside them are kept and each secret leaves a mark an
# operator can check.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

dir=$(mktemp -d)
chmod 755 "$dir"
trap 'rm -rf "$dir"' EXIT
python3 "$(dirname "$0")/../lib/secrets_fixture.py" "$dir" && chmod -R a+rX "$dir"
ok $? "wrote documents with planted secrets"

# Every marker the fixture plants in a secret (never in anything else).
markers='ZQX|1234567891[5-7]|98765000[1-4]|9876\.5003|WlFYQklO'
log_start=$(($(stat -c %s "$PG_LOG") + 1))

db=secrets_test
make_target $db "dump_dir '$dir'"
out=$(q -d $db -c "SET client_min_messages = debug1" \
    -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
ok $? "the migration runs to its end"
like "$out" "NOTICE:.*Users: batch 1" "psql showed the batch NOTICEs"

is "$(q -d $db -c "SELECT password FROM \"Users\" WHERE email = 'KEEP-ok@example.test'")" \
    12345678915 "the target table holds the converted password itself"
is "$(q -d $db -c "SELECT collection || ':' || source_id FROM nextcrm_migration.errors
                   ORDER BY 1")" \
    "Users:$(printf '65a1f0c2e4b0a1b2c3d4a062\nopenAi_keys:65a1f0c2e4b0a1b2c3d4a072\nsystemServices:65a1f0c2e4b0a1b2c3d4a092')" \
    "the failing user, the key of a missing user and a double password are the errors"

# Every table of nextcrm_migration, every column, as text.
all=""
for t in $(q -d $db -c "SELECT quote_ident(relname) FROM pg_class
                        WHERE relnamespace = 'nextcrm_migration'::regnamespace
                          AND relkind IN ('r', 'v') ORDER BY 1"); do
    all+="$t: $(q -d $db -c "SELECT string_agg(x::text, E'\\n') FROM nextcrm_migration.$t x")"$'\n'
done
like "$all" "KEEP-legacy" "the records were read (extra_keys keeps the values beside secrets)"
for keep in KEEP-legacy KEEP-label KEEP-deep KEEP-bad@example.test KEEP-org-2 \
    '"oldPassword"' '"refreshToken"' '"privateKey"' '"Credentials"' '"service_key"' \
    '"apiKeys"' KEEP-service-3 KEEP-id; do
    [[ $all == *"$keep"* ]]
    ok $? "kept beside the secrets: $keep"
done
leaks=$(grep -oE "$markers" <<<"$all" | sort -u | tr '\n' ' ')
is "$leaks" "" "no secret in any nextcrm_migration table"

shown=$(q -d $db -c "TABLE nextcrm_migration.errors" -c "TABLE nextcrm_migration.repairs" \
    -c "TABLE nextcrm_migration.extra_keys" -c "TABLE nextcrm_migration.foreign_ids" \
    -c "TABLE nextcrm_migration.progress" 2>&1)
validation=$(q -d $db -c "SELECT * FROM nextcrm_validate('src')" 2>&1)
is "$(grep -E '^samples\|(Users|openAi_keys|secondBrain_notions|systemServices)\|sample fields\|' <<<"$validation" |
      cut -d'|' -f2,4 | sort | tr '\n' ' ')" \
    "Users|pass openAi_keys|pass secondBrain_notions|pass systemServices|pass " \
    "validation compares the secret fields (as marks) and finds them equal"
# A foreign table's conversion error quotes the value: scrubbed as well.
scan=$(q -d $db -c "CREATE FOREIGN TABLE users_src (_id text, password int4) SERVER src
                    OPTIONS (collection 'Users')" -c "SELECT * FROM users_src" 2>&1)
like "$scan" 'ERROR: .*"password".* value \[redacted sha256:[0-9a-f]{8}\] is out of range' \
    "a scan's conversion error shows the secret's mark"
is "$(grep -oE "$markers" <<<"$out$shown$validation$scan" | sort -u | tr '\n' ' ')" "" \
    "no secret in psql's output (migration NOTICEs, the records, validation, a scan's error)"
is "$(tail -c +"$log_start" "$PG_LOG" | grep -oE "$markers" | sort -u | tr '\n' ' ')" "" \
    "no secret in the server log"

# Marks: SHA-256 of the value's bytes, so an operator can check a value.
mark() { q -d $db -c "SELECT '[redacted sha256:' || left(encode(sha256($1), 'hex'), 8) || ']'"; }
is "$(q -d $db -c "SELECT document #>> '{legacy,password}' FROM nextcrm_migration.errors
                   WHERE source_id = '65a1f0c2e4b0a1b2c3d4a062'")" \
    "$(mark "convert_to('ZQX-failing-nested', 'UTF8')")" \
    "a nested string secret is its mark in the error document"
is "$(q -d $db -c "SELECT original || ' ' || replacement FROM nextcrm_migration.repairs
                   WHERE collection = 'Users' AND field = 'password'")" \
    "$(mark "'\\x431cdcdf02000000'::bytea") $(mark "convert_to('12345678915', 'UTF8')")" \
    "a repaired int64 password: the mark of its BSON bytes, then of the text stored"
is "$(q -d $db -c "SELECT count(*) FROM \"Users\" u JOIN nextcrm_migration.repairs r
                     ON r.replacement = '[redacted sha256:' ||
                        left(encode(sha256(convert_to(u.password, 'UTF8')), 'hex'), 8) || ']'
                   WHERE r.field = 'password'")" 1 \
    "the replacement's mark matches the target column's value"
for f in openAi_keys:api_key secondBrain_notions:notion_api_key systemServices:serviceKey \
    systemServices:servicePassword; do
    like "$(q -d $db -c "SELECT original || '|' || replacement FROM nextcrm_migration.repairs
                         WHERE collection = '${f%%:*}' AND field = '${f#*:}'")" \
        '^\[redacted sha256:[0-9a-f]{8}\]\|\[redacted sha256:[0-9a-f]{8}\]$' \
        "the repair of ${f/:/.} shows marks only"
done
like "$(q -d $db -c "SELECT keys #>> '{settings,integrations,slack,oauth,x,API-KEY}'
                     FROM nextcrm_migration.extra_keys")" '^\[redacted sha256:[0-9a-f]{8}\]$' \
    "a double six levels down in an unknown key is its mark"

q -c "DROP DATABASE $db" >/dev/null
done_testing
