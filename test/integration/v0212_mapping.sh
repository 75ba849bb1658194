#!/usr/bin/env bash
# NextCRM v0.21.2's field mapping (profiles/nextcrm-v0.21.2): the shared
# mongodump fixture, in all four shapes, lands in v0.21.2's schema with every
# document accounted for (migrated + error rows + kept aside = source count,
# per collection) and the same database from each shape; planted documents
# show the profile's rules: the role derived from the admin flags (admins stay
# admins), lookups through the value map and an operator's override,
# createdBy ?? created_by with its conflict recorded, a budget that
# numeric(18,2) cannot hold exactly is an error, what has no place is kept
# whole and exact; nextcrm_validate passes on the result; kill -9 mid-run
# and resume give the same database.  PostgreSQL 17 and 18 only (pg17+).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

app=$NEXTCRM_APP_V0212
profile=nextcrm-v0.21.2
fx=$NEXTCRM_ROOT/test/fixtures/mongodump
work=$RIG_DIR/v0212_mapping_$$
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"

# A database with the extension, vector (created by the superuser, as
# v0.21.2 needs) and server "src" on the given source.
target() { # db options
    make_target "$1" "$2"
    q -d "$1" -c "CREATE EXTENSION vector" >/dev/null
}
migrate() { # db → collection|source|migrated|failed|outcome
    q -d "$1" -c "SET client_min_messages = warning" \
        -c "SELECT collection, source_count, migrated, failed, outcome
            FROM nextcrm_migrate_all('src', profile => '$profile', app_dir => '$app')" 2>&1
}
# Per collection: source count, migrated, error rows, kept aside whole, and
# whether they add up (and the migrated count is the table's row count).
accounting() { # db
    q -d "$1" <<'SQL'
SELECT c.collection, c.source_total, c.migrated,
       (SELECT count(DISTINCT e.source_id) FROM nextcrm_migration.errors e WHERE e.collection = c.collection),
       (SELECT count(*) FROM nextcrm_migration.kept_aside k WHERE k.collection = c.collection AND k.field IS NULL),
       c.source_total = c.migrated
         + (SELECT count(DISTINCT e.source_id) FROM nextcrm_migration.errors e WHERE e.collection = c.collection)
         + (SELECT count(*) FROM nextcrm_migration.kept_aside k WHERE k.collection = c.collection AND k.field IS NULL)
       AND c.migrated = coalesce((SELECT (xpath('/row/n/text()', query_to_xml(
             format('SELECT count(*) AS n FROM %I', c.collection), false, true, '')))[1]::text::bigint
             WHERE to_regclass(format('public.%I', c.collection)) IS NOT NULL), 0)
  FROM nextcrm_migration.checkpoint c ORDER BY c.position
SQL
}
# One digest of what the migration wrote: the mapped columns of every target
# table (a lookup column by the name of the row it points at, since the
# chain's seed rows get random ids), the join tables, and the errors,
# repairs and kept-aside records.  Columns v0.21.2 added are left to their
# defaults, some of them the time of the insert, so they are not compared.
digest() { # db
    local sql
    sql=$(q -d "$1" <<SQL
SELECT string_agg(format(
         'SELECT %L, md5(coalesce(string_agg(r, E''\n'' ORDER BY r), '''')) FROM (SELECT concat_ws(''|'', %s) AS r FROM %I x) s',
         t, cols, t), ' UNION ALL ')
  FROM (SELECT m.target_table AS t,
               string_agg(CASE WHEN m.kind = 'lookup'
                               THEN format('(SELECT l.%I FROM %I l WHERE l.%I = x.%I)', m.lookup_match,
                                           m.lookup_table, m.lookup_result, m.target_column)
                               ELSE format('x.%I', m.target_column) END, ', ' ORDER BY m.target_column) AS cols
          FROM nextcrm_mapping('$profile') m WHERE m.kind NOT IN ('kept', 'merged', 'junction')
         GROUP BY m.target_table
        UNION ALL
        SELECT DISTINCT m.target_table, format('x.%I, x.%I', least(m.owner_column, m.target_column),
                                               greatest(m.owner_column, m.target_column))
          FROM nextcrm_mapping('$profile') m WHERE m.kind = 'junction') c
SQL
)
    sql+=" UNION ALL SELECT 'errors', md5(coalesce(string_agg(concat_ws('|', collection, source_id, field, sqlstate, message, document::text), E'\\n' ORDER BY collection, source_id, message), '')) FROM nextcrm_migration.errors"
    sql+=" UNION ALL SELECT 'repairs', md5(coalesce(string_agg(concat_ws('|', collection, source_id, field, kind, original, replacement), E'\\n' ORDER BY collection, source_id, field, kind, original), '')) FROM nextcrm_migration.repairs"
    sql+=" UNION ALL SELECT 'kept_aside', md5(coalesce(string_agg(concat_ws('|', collection, source_id, field, reason, document::text), E'\\n' ORDER BY collection, source_id, field), '')) FROM nextcrm_migration.kept_aside"
    q -d "$1" -c "SELECT md5(string_agg(t || '=' || d, ',' ORDER BY t)) FROM ($sql) s(t, d)"
}

# The shared fixture (3000 documents of every collection), directory shape.
base=v0212_dir_$$
target "$base" "dump_dir '$fx/dir', database 'nextcrm'"
out=$(migrate "$base")
is "$(grep -Evc '\|done(: [0-9]+ kept aside)?$' <<<"$out")" 0 "the fixture migrates into v0.21.2: every collection done"
is "$(grep 'kept aside$' <<<"$out" | LC_ALL=C sort)" "Invoices|119|0|0|done: 119 kept aside
gpt_models|3|0|0|done: 3 kept aside
modulStatus|3|0|0|done: 3 kept aside
openAi_keys|5|0|0|done: 5 kept aside
system_Modules_Enabled|10|0|0|done: 10 kept aside" "the run's result counts the documents kept aside, per collection"
acc=$(accounting "$base")
printf '%s\n' "$acc" | sed 's/^/# /'
q -d "$base" -c "SELECT collection, source_id, field, left(message, 100) FROM nextcrm_migration.errors
                 ORDER BY collection, source_id" | sed 's/^/# error: /'
is "$(awk -F'|' '$6 != "t"' <<<"$acc")" "" \
    "per collection: migrated + error rows + kept aside = source count, and migrated = the table's rows"
is "$(awk -F'|' '{ s += $2 } END { print NR, s }' <<<"$acc")" "29 3000" "29 collections, 3000 documents"
is "$(awk -F'|' '$5 > 0 { print $1 }' <<<"$acc" | sort | tr '\n' ' ')" \
    "Invoices gpt_models modulStatus openAi_keys system_Modules_Enabled " \
    "the five collections with no place in v0.21.2 are kept aside whole"
is "$(awk -F'|' '$5 > 0 && $3 != 0' <<<"$acc")" "" "and none of their documents is migrated"
is "$(q -d "$base" -c "SELECT count(*) FROM nextcrm_migration.kept_aside k
                       JOIN nextcrm_migration.checkpoint c ON c.collection = k.collection
                      WHERE k.field IS NULL AND k.document->'_id'->>'\$oid' <> k.source_id")" 0 \
    "each kept document is filed under its own _id"
is "$(q -d "$base" -c "SELECT string_agg(DISTINCT field, ',' ORDER BY field) FROM nextcrm_migration.kept_aside
                       WHERE field IS NOT NULL")" "invoiceIDs,is_account_admin,is_admin" \
    "dropped fields are kept aside: the admin flags, documents' invoice lists"
is "$(q -d "$base" -c "SELECT count(*) FROM \"Users\" u WHERE (u.role = 'admin') IS DISTINCT FROM
                        (SELECT (k.document->>'is_admin')::boolean FROM nextcrm_migration.kept_aside k
                          WHERE k.collection = 'Users' AND k.source_id = nextcrm_unmap_oid(u.id) AND k.field = 'is_admin')")" 0 \
    "every user kept aside as is_admin is an admin, and every admin was one"
is "$(q -d "$base" -c "SELECT count(*) FROM \"crm_Leads\" WHERE lead_status_id IS NULL")" \
    "$(q -d "$base" -c "SELECT count(*) FROM \"crm_Leads\" l WHERE NOT EXISTS (SELECT 1 FROM nextcrm_migration.repairs r
                          WHERE r.collection = 'crm_Leads' AND r.source_id = nextcrm_unmap_oid(l.id) AND r.field = 'status')")" \
    "a lead has a status row exactly when its source had a status"
is "$(q -d "$base" -c "SELECT string_agg(name, ',' ORDER BY name) FROM \"crm_Lead_Statuses\"")" \
    "Completed,Contacted,In Progress,Lost,New,Qualified" \
    "IN_PROGRESS and COMPLETED became rows through the profile's value map; NEW and CONTACTED matched case folded"
is "$(q -d "$base" -c "SELECT count(*) FROM \"crm_Opportunities\" WHERE currency IS NULL")" \
    "$(q -d "$base" -c "SELECT count(*) FROM \"crm_Opportunities\" o WHERE NOT EXISTS (SELECT 1 FROM nextcrm_migration.repairs r
                          WHERE r.collection = 'crm_Opportunities' AND r.source_id = nextcrm_unmap_oid(o.id)
                            AND r.field = 'currency' AND r.kind = 'lookup')
                          OR EXISTS (SELECT 1 FROM nextcrm_migration.repairs r
                          WHERE r.collection = 'crm_Opportunities' AND r.source_id = nextcrm_unmap_oid(o.id)
                            AND r.field = 'currency' AND r.kind = 'lookup_unmatched')")" \
    "a currency is NULL only where the source had none or a code Currency lacks (kept in its repair row)"
out=$(q -d "$base" -c "SELECT status, count(*) FROM nextcrm_validate_strict('src', 1, 100, '$profile')
                       GROUP BY status ORDER BY status" 2>&1)
ok $? "nextcrm_validate_strict passes for the v0.21.2 profile: $(tr '\n' ' ' <<<"$out")"
# The fixture holds awkward documents on purpose: what the validator leaves
# as warnings must be what the source holds, each named.
is "$(q -d "$base" -c "SELECT status || ':' || family || ':' || \"table\" || ':' || \"check\" || ':' || actual
                       FROM nextcrm_validate('src', 1, 100, '$profile') WHERE status <> 'pass' ORDER BY 1")" \
    "warn:field_rules:crm_Contacts:email format:19 malformed
warn:field_rules:crm_Leads:email format:4 malformed" \
    "no check fails; the only warnings are the malformed e-mail addresses the source holds"
base_digest=$(digest "$base")

# The other three shapes give the same database.
for shape in "gzip:dump_dir '$fx/gzip'" "archive:archive '$fx/nextcrm.archive'" \
    "archive_gz:archive '$fx/nextcrm.archive.gz'"; do
    db=v0212_${shape%%:*}_$$
    target "$db" "${shape#*:}"
    migrate "$db" >/dev/null
    is "$(accounting "$db" | awk -F'|' '$6 != "t"')" "" "${shape%%:*}: every document accounted for"
    is "$(digest "$db")" "$base_digest" "${shape%%:*}: the same database as from the directory"
    q -c "DROP DATABASE $db" >/dev/null
done

# kill -9 of the worker mid-run, then resume: the same database.
db=v0212_kill_$$
target "$db" "dump_dir '$fx/dir', database 'nextcrm'"
q -d "$db" -c "SELECT * FROM nextcrm_migrate_all('src', profile => '$profile', app_dir => '$app')" \
    >"$work/kill.out" 2>&1 &
wait_for_batches "$db" 4
worker=$(q -d "$db" -c "SELECT worker_pid FROM nextcrm_migration.run")
expect_kill "$worker"
kill -9 "$worker"
wait
wait_for_server
ok $? "the server is back after kill -9 of the worker ($worker)"
is "$(q -d "$db" -c "SELECT sum(processed) > 0 AND sum(processed) < 3000 FROM nextcrm_migration.checkpoint")" t \
    "the killed run had committed part of the documents"
migrate "$db" >/dev/null
is "$(q -d "$db" -c "SELECT status FROM nextcrm_migration.run")" done "the resumed run completes"
is "$(digest "$db")" "$base_digest" "after kill -9 and resume, the database equals the uninterrupted run"
q -c "DROP DATABASE $db" >/dev/null
q -c "DROP DATABASE $base" >/dev/null

# Planted documents, the profile's rules one by one.
mkdir -p "$work/planted"
for f in "$NEXTCRM_ROOT"/test/fixtures/v0212-planted/*.json; do
    "$BUILD_DIR/nextcrm_fixture" --json "$work/planted" "$(basename "$f" .json)" "$f" || break
done
ok $? "the planted dump is written from its Extended JSON"
chmod -R a+rX "$work"
db=v0212_planted_$$
target "$db" "dump_dir '$work/planted'"
out=$(migrate "$db")
is "$(grep -Evc '\|done(: [0-9]+ kept aside)?$' <<<"$out")" 0 "the planted dump migrates"
is "$(accounting "$db" | awk -F'|' '$2 > 0 { print $1 "|" $2 "|" $3 "|" $4 "|" $5 "|" $6 }')" \
    "Users|4|4|0|0|t
crm_Leads|2|2|0|0|t
crm_Contacts|1|1|0|0|t
crm_Opportunities|3|2|1|0|t
Invoices|1|0|0|1|t
Documents|1|1|0|0|t
openAi_keys|1|0|0|1|t" "planted: migrated + errors + kept aside = source, per collection"
is "$(q -d "$db" -c "SELECT name || ':' || role FROM \"Users\" ORDER BY name")" "Admin:admin
Both:admin
Manager:manager
Plain:user" "roles: is_admin -> admin (admins stay admins), is_account_admin -> manager, else user"
is "$(q -d "$db" -c "SELECT original || ' -> ' || replacement FROM nextcrm_migration.repairs
                     WHERE collection = 'Users' AND field = 'role' AND source_id = '65a000000000000000000004'")" \
    "is_admin: true, is_account_admin: true -> admin" "the derived role's inputs are recorded"
is "$(q -d "$db" -c "SELECT source_id || ':' || field || ':' || document::text FROM nextcrm_migration.kept_aside
                     WHERE collection = 'Users' ORDER BY source_id, field")" \
    '65a000000000000000000001:is_account_admin:{"is_account_admin": false}
65a000000000000000000001:is_admin:{"is_admin": true}
65a000000000000000000002:is_account_admin:{"is_account_admin": true}
65a000000000000000000002:is_admin:{"is_admin": false}
65a000000000000000000004:is_account_admin:{"is_account_admin": true}
65a000000000000000000004:is_admin:{"is_admin": true}' "the dropped flags are kept aside, exactly"
is "$(q -d "$db" -c "SELECT l.\"lastName\" || ':' || coalesce(s.name, 'NULL') || ':' || coalesce(t.name, 'NULL') || ':' || coalesce(o.name, 'NULL')
                     FROM \"crm_Leads\" l LEFT JOIN \"crm_Lead_Statuses\" s ON s.id = l.lead_status_id
                     LEFT JOIN \"crm_Lead_Types\" t ON t.id = l.lead_type_id
                     LEFT JOIN \"crm_Lead_Sources\" o ON o.id = l.lead_source_id ORDER BY 1")" \
    "One:In Progress:Demo:Web
Two:New:NULL:Messe" "lookups: IN_PROGRESS through the value map, case folded matches (demo, new), unknown names added (Messe)"
is "$(q -d "$db" -c "SELECT source_id || ':' || field || ':' || kind || ':' || original || ':' || replacement
                     FROM nextcrm_migration.repairs WHERE collection = 'crm_Leads' AND field IN ('status', 'type', 'lead_source')
                     ORDER BY source_id, field, id")" \
    "65a000000000000000000101:lead_source:lookup:web:Web
65a000000000000000000101:lead_source:lookup_row_added:web:Web
65a000000000000000000101:status:lookup:IN_PROGRESS:In Progress
65a000000000000000000101:status:lookup_row_added:IN_PROGRESS:In Progress
65a000000000000000000101:type:lookup:demo:demo
65a000000000000000000102:lead_source:lookup:Messe:Messe
65a000000000000000000102:lead_source:lookup_row_added:Messe:Messe
65a000000000000000000102:status:lookup:new:new" "every looked-up value is a repair row with its original"
is "$(q -d "$db" -c "SELECT c.\"contact_type_id\" = t.id FROM \"crm_Contacts\" c, \"crm_Contact_Types\" t WHERE t.name = 'Prospect'")" t \
    "a contact's type (prospect) is the seeded Prospect row"
is "$(q -d "$db" -c "SELECT u.name FROM \"crm_Contacts\" c JOIN \"Users\" u ON u.id = c.\"createdBy\"")" Admin \
    "createdBy set: it wins over created_by"
is "$(q -d "$db" -c "SELECT kind || ':' || original FROM nextcrm_migration.repairs
                     WHERE collection = 'crm_Contacts' AND field = 'created_by'")" \
    "merge_conflict:65a000000000000000000002" "the other value of a conflict is a repair row"
is "$(q -d "$db" -c "SELECT o.name || ':' || coalesce(u.name, 'NULL') || ':' || o.budget || ':' || o.expected_revenue || ':' || coalesce(o.currency, 'NULL')
                     FROM \"crm_Opportunities\" o LEFT JOIN \"Users\" u ON u.id = o.\"createdBy\" ORDER BY o.name")" \
    "Legacy:NULL:2500.00:12.50:NULL
Merged:Plain:1500.00:19.99:EUR" \
    "created_by fills a missing createdBy; numerics exact (string, double, Decimal128); € -> EUR, UAH has no row"
is "$(q -d "$db" -c "SELECT kind || ':' || original || ':' || replacement FROM nextcrm_migration.repairs
                     WHERE collection = 'crm_Opportunities' AND field = 'currency' AND source_id = '65a000000000000000000303' ORDER BY id")" \
    "lookup:UAH:UAH
lookup_unmatched:UAH:NULL" "an unknown currency is NULL, the original kept in its repair row"
is "$(q -d "$db" -c "SELECT source_id || ':' || field || ':' || sqlstate || ':' || message FROM nextcrm_migration.errors")" \
    '65a000000000000000000302:budget:22003:field "budget" holds 100000000000000000, which numeric(18,2) cannot hold exactly' \
    "a budget numeric(18,2) cannot hold is an error naming collection, _id and field, never rounded"
is "$(q -d "$db" -c "SELECT collection || ':' || reason || ':' || document::text FROM nextcrm_migration.kept_aside
                     WHERE field IS NULL ORDER BY collection")" \
    "Invoices:$(grep '^Invoices,_id,' "$NEXTCRM_ROOT/profiles/$profile/mapping.csv" | cut -d, -f14-):{\"_id\": {\"\$oid\": \"65a000000000000000000501\"}, \"status\": \"new\", \"last_updated\": {\"\$date\": {\"\$numberLong\": \"1704164645678\"}}, \"invoice_amount\": \"100.50\", \"connected_documents\": [{\"\$oid\": \"65a000000000000000000601\"}]}
openAi_keys:$(grep '^openAi_keys,_id,' "$NEXTCRM_ROOT/profiles/$profile/mapping.csv" | cut -d, -f14-):{\"_id\": {\"\$oid\": \"65a000000000000000000401\"}, \"note\": {\"\$numberDecimal\": \"1.10\"}, \"user\": {\"\$oid\": \"65a000000000000000000001\"}, \"api_key\": \"sk-planted-secret\", \"organization_id\": \"org-1\"}" \
    "collections with no place are kept whole and exact (canonical Extended JSON), with the profile's reason"
is "$(q -d "$db" -c "SELECT has_table_privilege('public', 'nextcrm_migration.kept_aside', 'SELECT')")" f \
    "kept_aside is not readable by PUBLIC (it holds secrets, as the error table does)"
out=$(q -d "$db" -c "SELECT status, count(*) FROM nextcrm_validate_strict('src', 1, 100, '$profile')
                     GROUP BY status ORDER BY status" 2>&1)
ok $? "the planted database validates: $(tr '\n' ' ' <<<"$out")"

# The operator's override, in nextcrm_migration.value_map before the run,
# wins over the profile's map.
db2=v0212_override_$$
target "$db2" "dump_dir '$work/planted'"
q -d "$db2" -c "INSERT INTO nextcrm_migration.value_map VALUES ('lead_status', 'in_progress', 'Contacted'),
                                                              ('lead_source', 'MESSE', 'Event')" >/dev/null
migrate "$db2" >/dev/null
is "$(q -d "$db2" -c "SELECT l.\"lastName\" || ':' || s.name || ':' || o.name FROM \"crm_Leads\" l
                      JOIN \"crm_Lead_Statuses\" s ON s.id = l.lead_status_id
                      JOIN \"crm_Lead_Sources\" o ON o.id = l.lead_source_id ORDER BY 1")" "One:Contacted:Web
Two:New:Event" "the operator's value map wins (IN_PROGRESS -> Contacted, Messe -> Event)"
is "$(q -d "$db2" -c "SELECT string_agg(name, ',' ORDER BY name) FROM \"crm_Lead_Statuses\"")" \
    "Contacted,Lost,New,Qualified" "no In Progress row is added then"

q -c "DROP DATABASE $db" >/dev/null
q -c "DROP DATABASE $db2" >/dev/null
done_testing
