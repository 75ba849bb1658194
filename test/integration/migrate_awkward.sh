#!/usr/bin/env bash
# Documents a migration must survive (tools/nextcrm_fixture --nextcrm): text
# that is not UTF-8, NUL characters, a 100-level unknown key, Decimal128, a
# string _id, binary _ids (subtype 3 and 4, the same bytes), NaN and nested
# arrays in Json.  Each migrates exactly or is an
# error naming its field; none fails its batch or the run, and an error's
# document is kept even when it has no JSON form.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

dir=$(mktemp -d)
chmod 755 "$dir"
trap 'rm -rf "$dir"' EXIT
"$BUILD_DIR/nextcrm_fixture" --nextcrm "$dir" && chmod -R a+rX "$dir"
ok $? "wrote the awkward NextCRM documents"

db=migrate_awkward
make_target $db "dump_dir '$dir'"
out=$(q -d $db -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
ok $? "the migration runs to its end"
is "$(q -d $db -c "SELECT status FROM nextcrm_migration.run")" done "and is complete"

for id in 65b000000000000000000001 65b000000000000000000005 65b000000000000000000006 \
    65b000000000000000000007 legacy-user; do
    is "$(q -d $db -c "SELECT count(*) FROM \"Users\" WHERE id = nextcrm_map_oid('$id')")" 1 \
        "user $id migrated"
done
is "$(q -d $db -c "SELECT \"__v\" FROM \"Users\" WHERE id = nextcrm_map_oid('65b000000000000000000007')")" 3 \
    "an integral Decimal128 __v arrives as the integer"
is "$(q -d $db -c "SELECT source_id #>> '{}' FROM nextcrm_migration.foreign_ids
                   WHERE collection = 'Users' AND jsonb_typeof(source_id) = 'string'")" \
    legacy-user "the string _id is listed in foreign_ids"
is "$(q -d $db -c "SELECT string_agg(source_id #>> '{\$binary,subType}', ' ' ORDER BY source_id::text)
                          || ' ' || count(DISTINCT id)
                   FROM nextcrm_migration.foreign_ids
                   WHERE collection = 'Users' AND source_id ? '\$binary'")" \
    "03 04 2" "the binary _ids are listed in foreign_ids with their subtypes, as two ids"

like "$(q -d $db -c "SELECT keys::text FROM nextcrm_migration.extra_keys
                     WHERE source_id = '65b000000000000000000005'")" '("deep": \{){100}"bottom": \{"\$numberInt": "1"\}' \
    "an unknown key 100 levels deep is kept whole"

while IFS=: read -r id field; do
    is "$(q -d $db -c "SELECT field FROM nextcrm_migration.errors WHERE source_id = '$id'")" "$field" \
        "document $id is an error on $field"
done <<'LIST'
65b000000000000000000002:name
65b000000000000000000003:legacy_note
65b000000000000000000004:name
65b000000000000000000102:invoice_items
LIST

is "$(q -d $db -c "SELECT count(*) FROM nextcrm_migration.errors WHERE document IS NULL")" 0 \
    "every error keeps its document"
is "$(q -d $db -c "SELECT count(*) FROM nextcrm_migration.errors
                   WHERE document ? 'bson_base64'
                     AND length(decode(document->>'bson_base64', 'base64')) > 0")" 2 \
    "documents with no JSON form are kept as their exact BSON bytes"
# The error table keeps each document exactly, its password hash included
# (docs/REFERENCE.md, "Secrets": it is as private as the target, which holds it too).
is "$(q -d $db -c "SELECT count(*) FILTER (WHERE position('\\x736563726574736563726574'::bytea IN
                                  coalesce(decode(document->>'bson_base64', 'base64'),
                                           convert_to(document::text, 'UTF8'))) > 0)
                          = count(*) FILTER (WHERE collection = 'Users')
                      AND count(*) FILTER (WHERE collection = 'Users') > 0
                     FROM nextcrm_migration.errors")" t \
    "every Users error document keeps the password hash exactly"

is "$(q -d $db -c "SELECT invoice_items #>> '{0,grid,0,0}' || ' ' ||
                          (invoice_items #>> '{0,price,\$numberDecimal}') || ' ' ||
                          (invoice_items #>> '{0,discount,\$numberDouble}')
                   FROM \"Invoices\" WHERE id = nextcrm_map_oid('65b000000000000000000101')")" \
    "1 19.99 NaN" "Json keeps nested arrays, Decimal128 and NaN exactly"

# A subtype 3 and a subtype 4 _id with the same bytes are two users, and a
# foreign table's _id column gives each the id the migration gave its row.
q -d $db -c "CREATE FOREIGN TABLE users_fdw (id uuid OPTIONS (field '_id'), email text)
             SERVER src OPTIONS (collection 'Users')" >/dev/null
is "$(q -d $db -c "SELECT string_agg(f.email, ' ' ORDER BY f.email) || ' ' || count(DISTINCT u.id)
                   FROM users_fdw f JOIN \"Users\" u ON u.id = f.id AND u.email = f.email
                   WHERE f.email LIKE 'binary-uuid%'")" \
    "binary-uuid3@example.com binary-uuid4@example.com 2" \
    "binary _ids: the FDW and the migration give the same two ids"

q -c "DROP DATABASE $db" >/dev/null
done_testing
