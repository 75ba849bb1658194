#!/usr/bin/env bash
# The redaction rule against spellings an independent check tried (issue 11):
# secrets under short, whole-word, other-language and odd-character keys, and
# a secret beside a string that jsonb cannot hold, never reach a
# nextcrm_migration table, psql's output (migration, validation, a scan) or
# the server log; the values beside them are kept.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

dir=$(mktemp -d)
chmod 755 "$dir"
trap 'rm -rf "$dir"' EXIT
python3 "$(dirname "$0")/../lib/secrets_odd_fixture.py" "$dir" && chmod -R a+rX "$dir"
ok $? "wrote documents with secrets under odd keys"

markers='YQV[-a-z0-9]*'
log_start=$(($(stat -c %s "$PG_LOG") + 1))

db=secrets_odd_test
make_target $db "dump_dir '$dir'"
out=$(q -d $db -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
ok $? "the migration runs to its end"

all=""
for t in $(q -d $db -c "SELECT quote_ident(relname) FROM pg_class
                        WHERE relnamespace = 'nextcrm_migration'::regnamespace
                          AND relkind IN ('r', 'v') ORDER BY 1"); do
    all+="$t: $(q -d $db -c "SELECT string_agg(x::text, E'\\n') FROM nextcrm_migration.$t x")"$'\n'
done
for keep in KEEP-author '"пароль"' '"sessionId"' '"pw"' KEEP-nul@example.test; do
    [[ $all == *"$keep"* ]]
    ok $? "kept beside the secrets: $keep"
done
is "$(grep -oE "$markers" <<<"$all" | sort -u | tr '\n' ' ')" "" \
    "no secret under an odd key in any nextcrm_migration table"

validation=$(q -d $db -c "SELECT family, \"table\", \"check\", status FROM nextcrm_validate('src')" 2>&1)
like "$validation" 'samples\|Users\|sample documents\|pass' \
    "validation runs although a sampled document holds a NUL byte"
# A mismatch in a jsonb field: the report shows both sides, secrets as marks.
q -d $db -c "UPDATE \"Documents\" SET tags = '[]'" >/dev/null
mismatch=$(q -d $db -c "SELECT details FROM nextcrm_validate('src')
                        WHERE \"table\" = 'Documents' AND \"check\" = 'jsonb'" 2>&1)
like "$mismatch" 'source \[\{"label": "KEEP-tag", "apiToken": "\[redacted sha256:[0-9a-f]{8}\]"\}\], target \[\]' \
    "a jsonb mismatch shows the source's secret as its mark"
validation+=$mismatch
scan=$(q -d $db -c "CREATE FOREIGN TABLE users_src (_id text, doc jsonb OPTIONS (document 'true'))
                    SERVER src OPTIONS (collection 'Users')" -c "SELECT doc FROM users_src" 2>&1)
like "$scan" 'ERROR: ' "a scan of a document jsonb cannot hold fails"
is "$(grep -oE "$markers" <<<"$out$validation$scan" | sort -u | tr '\n' ' ')" "" \
    "no secret in psql's output (migration, validation, a scan's error)"
is "$(tail -c +"$log_start" "$PG_LOG" | grep -aoE "$markers" | sort -u | tr '\n' ' ')" "" \
    "no secret in the server log"

q -c "DROP DATABASE $db" >/dev/null
done_testing
