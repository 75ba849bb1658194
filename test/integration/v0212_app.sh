#!/usr/bin/env bash
# NextCRM v0.21.2 reads the migrated data: the shared mongodump fixture is
# migrated with profile nextcrm-v0.21.2, then a catalogue of v0.21.2's typical
# reads runs through a Prisma Client generated from v0.21.2's own
# schema.prisma (Prisma 6.19.3, this repository's pinned CLI: 7.6's needs a
# native engine it downloads), and each result is compared with the same
# result computed in SQL (test/prisma/v0212-queries.cjs).  PostgreSQL 17 and
# 18 only (test/integration/versions: pg17+).  The fixture's documents of
# system type INVOICE, which v0.21.2's client cannot read, go through the
# profile's value map (to OTHER, each a repair row), then the operator's;
# a restart of Documents empties the chain's leftover DocumentsToInvoices
# with it, and stops, named, once that table holds a row.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"
. "$NEXTCRM_ROOT/scripts/lib/prisma.sh"
. "$NEXTCRM_ROOT/test/lib/schema.sh"

app=$NEXTCRM_APP_V0212
db=v0212_app_$$
gen=$PRISMA_DIR/node_modules/.v0212-client-$$
trap 'rm -rf "$gen"' EXIT

make_target "$db" "dump_dir '$NEXTCRM_ROOT/test/fixtures/mongodump/dir/nextcrm'"
q -d "$db" -c "CREATE EXTENSION vector" >/dev/null
# The operator's value map, read when the run starts, takes precedence over
# the profile's value-maps.csv (which maps IN_PROGRESS to a new "In Progress").
q -d "$db" -c "INSERT INTO nextcrm_migration.value_map (map, from_value, to_value)
               VALUES ('lead_status', 'in_progress', 'Contacted')" >/dev/null
out=$(q -d "$db" -c "SET client_min_messages = warning" \
    -c "SELECT collection, source_count, migrated, failed, outcome
        FROM nextcrm_migrate_all('src', profile => 'nextcrm-v0.21.2', app_dir => '$app')" 2>&1)
ok $? "the fixture dump migrates into v0.21.2's schema"
printf '%s\n' "$out" | sed 's/^/# /'

is "$(grep -E '^(Invoices|openAi_keys)\|' <<<"$out" | LC_ALL=C sort | tr '\n' ' ')" \
    "Invoices|119|0|0|done: 119 kept aside openAi_keys|5|0|0|done: 5 kept aside " \
    "the result counts the documents kept aside whole"
# The other entry points take the same app_dir, and need it.
out=$(q -d "$db" -c "SELECT count(*) FROM nextcrm_retry_errors('src', profile => 'nextcrm-v0.21.2')" 2>&1)
like "$out" 'ERROR:  profile "nextcrm-v0.21.2" needs app_dir' "nextcrm_retry_errors without app_dir is refused"
out=$(q -d "$db" -c "SET client_min_messages = warning" \
    -c "SELECT count(*) FROM nextcrm_retry_errors('src', profile => 'nextcrm-v0.21.2', app_dir => '$app')" 2>&1)
st=$?
ok $st "nextcrm_retry_errors runs with it"
((st == 0)) || printf '%s\n' "$out" | sed 's/^/# /'
before=$(q -d "$db" -c 'SELECT count(*) FROM "TodoList"')
out=$(q -d "$db" -c "SET client_min_messages = warning" \
    -c "SELECT collection || '|' || migrated || '|' || outcome FROM nextcrm_migrate_table('src', 'TodoList', restart => true,
                profile => 'nextcrm-v0.21.2', app_dir => '$app/prisma')" 2>&1)
is "$out" "TodoList|$before|done" "nextcrm_migrate_table migrates a collection again with it ($before documents)"

# What v0.21.2 has no place for is kept whole, with the profile's reason.
is "$(q -d "$db" -c "SELECT string_agg(collection || ':' || n, ' ' ORDER BY collection COLLATE \"C\")
                     FROM (SELECT collection, count(*) n FROM nextcrm_migration.kept_aside
                           WHERE field IS NULL GROUP BY collection) k")" \
    "Invoices:119 gpt_models:3 modulStatus:3 openAi_keys:5 system_Modules_Enabled:10" \
    "the collections v0.21.2 dropped are kept aside whole, every document of the fixture's manifest"
is "$(q -d "$db" -c "SELECT count(*) FROM nextcrm_migration.kept_aside WHERE reason = '' OR document IS NULL")" 0 \
    "each with its reason and its document"
is "$(q -d "$db" -c "SELECT count(DISTINCT source_id) > 0 FROM nextcrm_migration.kept_aside
                     WHERE collection = 'Users' AND field IN ('is_admin', 'is_account_admin')")" t \
    "the users' dropped admin flags are kept aside field by field"

# Each user's role follows from the kept flags: is_admin -> admin,
# is_account_admin -> manager, else user.
roles=$(q -d "$db" -c "SELECT string_agg(u.role || '=' || CASE WHEN coalesce((a.document->>'is_admin')::boolean, false) THEN 'admin'
                                      WHEN coalesce((m.document->>'is_account_admin')::boolean, false) THEN 'manager'
                                      ELSE 'user' END, ' ' ORDER BY u.id)
    FROM \"Users\" u
    LEFT JOIN nextcrm_migration.kept_aside a ON a.collection = 'Users' AND a.field = 'is_admin' AND nextcrm_map_oid(a.source_id) = u.id
    LEFT JOIN nextcrm_migration.kept_aside m ON m.collection = 'Users' AND m.field = 'is_account_admin' AND nextcrm_map_oid(m.source_id) = u.id")
printf '# %s\n' "$roles"
is "$(tr ' ' '\n' <<<"$roles" | awk -F= '$1 != $2' | wc -l)" 0 "each user's role is derived from the kept flags"
like "$roles" "admin=admin" "(the fixture has admins)"
like "$roles" "manager=manager" "(account admins)"
like "$roles" "user=user" "(and plain users)"
is "$(q -d "$db" -c "SELECT count(DISTINCT source_id) > 0 FROM nextcrm_migration.kept_aside
                     WHERE collection = 'Documents' AND field = 'invoiceIDs'")" t \
    "the documents' links to the legacy invoices are kept aside field by field"

# Lookups: names found case folded through the value maps, new names added
# as rows and recorded, unknown currencies NULL with the original recorded.
is "$(q -d "$db" -c "SELECT string_agg(name, ',' ORDER BY name COLLATE \"C\") FROM \"crm_Lead_Statuses\"")" \
    "Completed,Contacted,Lost,New,Qualified" \
    "lead statuses: the chain's four, COMPLETED added as Completed (value-maps.csv), no In Progress (the operator's map)"
is "$(q -d "$db" -c "SELECT string_agg(original || '>' || replacement, ',' ORDER BY original COLLATE \"C\")
                     FROM nextcrm_migration.repairs WHERE kind = 'lookup_row_added' AND field = 'status'")" \
    "COMPLETED>Completed" "the added status is recorded with the source's value"
is "$(q -d "$db" -c "SELECT count(*) FROM \"crm_Leads\" l JOIN \"crm_Lead_Statuses\" s ON s.id = l.lead_status_id
                     WHERE s.name = 'Contacted'")" \
    "$(q -d "$db" -c "SELECT count(*) FROM nextcrm_migration.repairs WHERE collection = 'crm_Leads' AND field = 'status'
                      AND original IN ('IN_PROGRESS', 'CONTACTED')")" \
    "the leads of status IN_PROGRESS (the operator's map) and CONTACTED (case folded) point at Contacted"
unmatched=$(q -d "$db" -c "SELECT count(*) FROM nextcrm_migration.repairs WHERE kind = 'lookup_unmatched' AND field = 'currency'")
holds "$unmatched > 0" "the fixture has opportunity currencies that are no Currency code ($unmatched)"
is "$(q -d "$db" -c "SELECT count(*) FROM nextcrm_migration.repairs r WHERE r.kind = 'lookup_unmatched' AND r.field = 'currency'
                     AND (r.replacement <> 'NULL' OR r.original IS NULL
                          OR EXISTS (SELECT FROM \"Currency\" c WHERE lower(c.code) = lower(r.original)))")" 0 \
    "each is recorded with its original value, replaced by NULL"
holds "$(q -d "$db" -c "SELECT count(*) FROM \"crm_Opportunities\" WHERE currency IS NULL") >= $unmatched" \
    "and the opportunities' currency is NULL"

# The client: v0.21.2's schema.prisma with the generator asking for the
# engine-less client, and the datasource url 6.19 wants.
mkdir -p "$gen"
sed -e 's/^  provider = "prisma-client-js"$/&\n  engineType = "client"\n  output     = "client"/' \
    -e 's/^\(\s*provider\s*=\s*"postgresql"\)$/\1\n  url      = env("DATABASE_URL")/' \
    "$app/prisma/schema.prisma" >"$gen/schema.prisma"
export DATABASE_URL
DATABASE_URL=$(schema_db_url "$db")
out=$(prisma_cli generate --schema "$gen/schema.prisma" 2>&1)
st=$?
ok $st "prisma generate writes a client of v0.21.2's schema offline"
((st == 0)) || printf '%s\n' "$out" | sed 's/^/# /'

out=$(NODE_PATH=$PRISMA_DIR/node_modules node "$NEXTCRM_ROOT/test/prisma/v0212-queries.cjs" \
    "$gen/client" 2>&1)
st=$?
ok $st "the catalogue of v0.21.2's reads runs through the client"
((st == 0)) || printf '%s\n' "$out" | head -30 | sed 's/^/# /'
val() { sed -n "s/^$1=//p" <<<"$out"; }

# The same canonical texts in SQL (ids in uuid order, which is their text order).
sql() { q -d "$db" -c "SELECT count(*) || ' ' || md5(coalesce(string_agg(t, ';' ORDER BY id), '')) FROM ($1) x"; }
check() { # key sql what
    local want
    want=$(sql "$2")
    is "$(val "$1.count") $(val "$1.md5")" "$want" "$3 (${want%% *} rows)"
    holds "${want%% *} > 0" "$1: the fixture gives it rows to compare"
}
check accounts "SELECT a.id, a.id || '|' || a.name || '|'
    || coalesce((SELECT string_agg(c.id::text, ',' ORDER BY c.id) FROM \"crm_Contacts\" c WHERE c.\"accountsIDs\" = a.id), '') || '|'
    || coalesce((SELECT string_agg(o.id::text, ',' ORDER BY o.id) FROM \"crm_Opportunities\" o WHERE o.account = a.id), '') AS t
    FROM \"crm_Accounts\" a WHERE a.\"deletedAt\" IS NULL" \
    "accounts with their contacts and opportunities match SQL"
check contact_documents "SELECT c.id, c.id || '|' || string_agg(d.id || '/' || d.document_name, ',' ORDER BY d.id) AS t
    FROM \"crm_Contacts\" c JOIN \"DocumentsToContacts\" j ON j.contact_id = c.id JOIN \"Documents\" d ON d.id = j.document_id
    GROUP BY c.id" \
    "each contact's documents (explicit join table) match SQL"
check documents "SELECT d.id, d.id || '|' || d.document_name || '|' || coalesce(d.document_system_type::text, '') AS t
    FROM \"Documents\" d" \
    "every document, with its system type, matches SQL"
# v0.21.2's chain keeps INVOICE in the column's enum, its schema.prisma does
# not (UPSTREAM-v0.21.2 §4.3): the profile's value map document_system_type
# sends INVOICE to OTHER, so that the client reads every row, and keeps the
# original in a value_mapped repair per document.  The source's count comes
# from the dump itself, through a foreign table.
q -d "$db" -c "CREATE SCHEMA fx; IMPORT FOREIGN SCHEMA nextcrm LIMIT TO (\"Documents\") FROM SERVER src INTO fx" >/dev/null
invoices=$(q -d "$db" -c "SELECT count(*) FROM fx.\"Documents\" WHERE document_system_type::text = 'INVOICE'")
holds "$invoices > 0" "the fixture has documents of system type INVOICE ($invoices)"
is "$(q -d "$db" -c "SELECT count(*) FROM \"Documents\" WHERE document_system_type = 'INVOICE'")" 0 \
    "no migrated document keeps INVOICE, which v0.21.2's client cannot read"
mapped="FROM nextcrm_migration.repairs r WHERE r.collection = 'Documents' AND r.field = 'document_system_type'
        AND r.kind = 'value_mapped'"
refused=$(q -d "$db" -c "SELECT count(*) FROM nextcrm_migration.errors WHERE collection = 'Documents'
                        AND document->>'document_system_type' = 'INVOICE'")
is "$(q -d "$db" -c "SELECT count(*) || ' ' || string_agg(DISTINCT r.original || '>' || r.replacement, ',') $mapped")" \
    "$((invoices - refused)) INVOICE>OTHER" \
    "each INVOICE document migrated has a value_mapped repair keeping INVOICE ($refused are error rows for another reason)"
is "$(q -d "$db" -c "SELECT count(*) $mapped AND NOT EXISTS (SELECT FROM \"Documents\" d
                     WHERE d.id = nextcrm_map_oid(r.source_id) AND d.document_system_type = 'OTHER')")" 0 \
    "and each repair names a document now of type OTHER"
check boards "SELECT b.id, b.id || '|' || b.title || '|' || coalesce((SELECT string_agg(s.id || '/' || s.title || '/' || coalesce(s.position::text, '') || ':'
        || coalesce((SELECT string_agg(k.id || '/' || k.title || '/' || k.position, ',' ORDER BY k.id) FROM \"Tasks\" k WHERE k.section = s.id), ''),
        ' ' ORDER BY s.id) FROM \"Sections\" s WHERE s.board = b.id), '') AS t
    FROM \"Boards\" b" \
    "boards with their sections and tasks match SQL"
check task_comments "SELECT k.id, k.id || '|' || string_agg(c.id || '/' || c.comment, ',' ORDER BY c.id) AS t
    FROM \"Tasks\" k JOIN \"tasksComments\" c ON c.task = k.id GROUP BY k.id" \
    "tasks with their comments match SQL"
check users "SELECT u.id, u.id || '|' || u.email || '|' || coalesce(u.name, '') || '|' || u.role || '|' || u.\"userStatus\" AS t
    FROM \"Users\" u" \
    "the users list matches SQL"

# The operator decides otherwise: a value_map row before the run (here a
# run of Documents alone) takes precedence over the profile's.
q -d "$db" -c "INSERT INTO nextcrm_migration.value_map (map, from_value, to_value)
               VALUES ('document_system_type', 'invoice', 'RECEIPT')" >/dev/null
out=$(q -d "$db" -c "SET client_min_messages = warning" \
    -c "SELECT outcome FROM nextcrm_migrate_table('src', 'Documents', restart => true,
                profile => 'nextcrm-v0.21.2', app_dir => '$app')" 2>&1)
is "$out" "done" "Documents migrated again with the operator's document_system_type map"
is "$(q -d "$db" -c "SELECT count(*) || ' ' || string_agg(DISTINCT r.original || '>' || r.replacement, ',') $mapped")" \
    "$((invoices - refused)) INVOICE>RECEIPT" "each former INVOICE document's repair records the operator's RECEIPT"
is "$(q -d "$db" -c "SELECT count(*) $mapped AND NOT EXISTS (SELECT FROM \"Documents\" d
                     WHERE d.id = nextcrm_map_oid(r.source_id) AND d.document_system_type = 'RECEIPT')")" 0 \
    "and each of those documents is RECEIPT"
# That run emptied the chain's leftover DocumentsToInvoices with Documents
# (it references Documents; the migration writes no row to it).  Holding a
# row the migration did not write, it stops a reset, named, and keeps it.
q -d "$db" -c "INSERT INTO \"DocumentsToInvoices\" (document_id, invoice_id)
               SELECT id, gen_random_uuid() FROM \"Documents\" LIMIT 1" >/dev/null
out=$(q -d "$db" -c "SET client_min_messages = warning" \
    -c "SELECT outcome FROM nextcrm_migrate_table('src', 'Documents', restart => true,
                profile => 'nextcrm-v0.21.2', app_dir => '$app')" 2>&1)
like "$out" 'ERROR:  cannot empty the migration.s tables: table public."DocumentsToInvoices" references them and holds rows' \
    "a table the migration does not write, referencing Documents and holding rows, stops the reset, named"
is "$(q -d "$db" -c "SELECT count(*) FROM \"DocumentsToInvoices\"")|$(q -d "$db" -c "SELECT count(*) > 0 FROM \"Documents\"")" \
    "1|t" "and nothing was emptied"
q -c "DROP DATABASE $db" >/dev/null
ok $? "database $db dropped"
done_testing
