#!/usr/bin/env bash
# The target schema: the migrations apply to an empty database; the generated
# one is exactly what Prisma generates from prisma/schema.prisma; tables,
# enums, junction tables, foreign keys and indexes are what issue 3 decided;
# each full-text search uses its GIN index.
. "$(dirname "$0")/../lib/tap.sh"
. "$NEXTCRM_ROOT/test/lib/schema.sh"
. "$NEXTCRM_ROOT/scripts/lib/prisma.sh"

db=schema_test_$$
schema_create_db "$db"
Q() { q -d "$db" "$@" 2>&1; }  # an error shows up as a wrong value

# --- Prisma agrees with the committed migration -------------------------------
[[ -x $PRISMA_DIR/node_modules/.bin/prisma ]]
ok $? "Prisma CLI is installed in prisma/node_modules"
export DATABASE_URL
DATABASE_URL=$(schema_db_url "$db")
init=("$MIGRATIONS_DIR"/*_init/migration.sql)
generated=$(mktemp)
# One Prisma start (each costs seconds): migrate diff parses and validates
# the whole schema, generators too, as `prisma validate` does (a field of an
# unknown type or an unknown preview feature fails both).
prisma_cli migrate diff --from-empty --to-schema-datamodel schema.prisma --script \
    >"$generated" 2>"$generated.err"
ok $? "prisma migrate diff --from-empty validates schema.prisma and runs"
grep -v '^Loaded Prisma config\|^Prisma config detected\|^$' "$generated.err" | head -20 | sed 's/^/# /'
rm -f "$generated.err"
cmp -s "$generated" "${init[0]}"
ok $? "the init migration is exactly what prisma migrate diff generates"
diff "$generated" "${init[0]}" | head -20 | sed 's/^/# /'
rm -f "$generated"
[[ $(sed -n 's/^provider = "\(.*\)"$/\1/p' "$MIGRATIONS_DIR/migration_lock.toml") == postgresql ]]
ok $? "migration_lock.toml names postgresql"

# --- tables, enums, foreign keys ----------------------------------------------
is "$(Q -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 39 \
    "39 tables: 29 models + 10 join tables"
models=$(cut -d, -f1 "$NEXTCRM_DATA/mongo-fields.csv" | sed 1d | sort -u | paste -sd' ')
got=$(Q -c "SELECT string_agg(tablename, ' ' ORDER BY tablename COLLATE \"C\") FROM pg_tables
            WHERE schemaname = 'public' AND tablename NOT LIKE '\\_%'")
is "$got" "$(tr ' ' '\n' <<<"$models" | LC_ALL=C sort | paste -sd' ')" \
    "one table per source model, named as the model"
is "$(Q -c "SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE n.nspname = 'public' AND t.typtype = 'e'")" 10 "10 enum types"
# One query for every enum's labels (each psql start costs a backend).
declare -A labels=()
while IFS='|' read -r enum values; do
    labels[$enum]=$values
done < <(Q -c "SELECT t.typname, string_agg(e.enumlabel, ' ' ORDER BY e.enumsortorder)
               FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid GROUP BY t.typname")
while IFS=, read -r enum values; do
    is "${labels[$enum]-}" "$values" "enum $enum has mongo-enums.csv's values in order"
done < <(sed '1d; s/\r$//' "$NEXTCRM_DATA/mongo-enums.csv")
got=$(Q -c "SELECT string_agg(table_name || '.' || column_name || ':' || data_type, ' '
                              ORDER BY table_name, column_name)
            FROM information_schema.columns
            WHERE (table_name, column_name) IN (('crm_Leads', 'status'), ('crm_Leads', 'type'),
                                                 ('crm_Contacts', 'type'))")
is "$got" "crm_Contacts.type:text crm_Leads.status:text crm_Leads.type:text" \
    "lead status/type and contact type stay text (D3)"
is "$(Q -c "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public'
            AND data_type = 'date'")" 0 "no column is an SQL date (@db.Date meant BSON date)"
is "$(Q -c "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public'
            AND data_type LIKE 'timestamp%' AND datetime_precision = 3")" 43 \
    "the 43 DateTime fields are timestamp(3)"

is "$(Q -c "SELECT count(*) FROM pg_constraint WHERE contype = 'f'
            AND connamespace = 'public'::regnamespace")" 74 \
    "74 foreign keys: 31 declared + 23 loose references + 2 x 10 join-table sides"
got=$(Q -c "SELECT count(*) FROM pg_constraint c WHERE contype = 'f'
            AND connamespace = 'public'::regnamespace AND conrelid::regclass::text NOT LIKE '\"\\_%'
            AND confdeltype <> (CASE WHEN (SELECT attnotnull FROM pg_attribute
                                           WHERE attrelid = c.conrelid AND attnum = c.conkey[1])
                                     THEN 'r' ELSE 'n' END)
            AND conname <> 'tasksComments_task_fkey'")
is "$got" 0 "optional references ON DELETE SET NULL, required ones RESTRICT"
is "$(Q -c "SELECT confdeltype FROM pg_constraint WHERE conname = 'tasksComments_task_fkey'")" c \
    "tasksComments.task keeps its ON DELETE CASCADE"
is "$(Q -c "SELECT is_nullable FROM information_schema.columns
            WHERE table_name = 'tasksComments' AND column_name = 'task'")" YES \
    "tasksComments.task is optional (D12)"
declare -A fk_target=()
while IFS='|' read -r name target; do
    fk_target[$name]=$target
done < <(Q -c "SELECT conname, confrelid::regclass::text FROM pg_constraint WHERE contype = 'f'")
for ref in 'crm_Accounts.createdBy Users' 'crm_Opportunities.last_activity_by Users' \
    'Sections.board Boards' 'crm_Opportunities.contact crm_Contacts' \
    'crm_Contacts.account crm_Accounts' 'Documents.createdBy Users' 'Invoices.last_updated_by Users'; do
    read -r col target <<<"$ref"
    is "${fk_target[${col%%.*}_${col#*.}_fkey]-}" "\"$target\"" "loose reference $col has a foreign key to $target"
done

# --- join tables ----------------------------------------------------------------
# Prisma names the model that sorts first (byte order) A.  One query reads
# every join table's columns, keys and B index (a psql start costs a backend).
joins='_DocumentsToInvoices Documents Invoices
_DocumentsToOpportunities Documents crm_Opportunities
_DocumentsToContacts Documents crm_Contacts
_DocumentsToTasks Documents Tasks
_DocumentsToCrmAccountsTasks Documents crm_Accounts_Tasks
_DocumentsToLeads Documents crm_Leads
_DocumentsToAccounts Documents crm_Accounts
_ContactsToOpportunities crm_Contacts crm_Opportunities
_AccountWatchers Users crm_Accounts
_BoardWatchers Boards Users'
declare -A join_def=()
while IFS=$'\t' read -r j def; do
    join_def[$j]=$def
done < <(Q -F $'\t' -v names="$(cut -d' ' -f1 <<<"$joins" | paste -sd' ')" <<'SQL'
SELECT j,
       (SELECT string_agg(column_name || ' ' || data_type || ' ' || is_nullable, ', '
                          ORDER BY column_name)
          FROM information_schema.columns WHERE table_name = j) || ' | ' ||
       (SELECT string_agg(pg_get_constraintdef(oid), ', ' ORDER BY conname COLLATE "C")
          FROM pg_constraint WHERE conrelid = to_regclass(quote_ident(j)) AND contype IN ('p', 'f')) || ' | ' ||
       (SELECT string_agg(indexdef, ', ') FROM pg_indexes
         WHERE tablename = j AND indexname = j || '_B_index')
  FROM unnest(string_to_array(:'names', ' ')) j
SQL
)
while read -r j a b; do
    is "${join_def[$j]-}" "A uuid NO, B uuid NO | PRIMARY KEY (\"A\", \"B\"), \
FOREIGN KEY (\"A\") REFERENCES \"$a\"(id) ON UPDATE CASCADE ON DELETE CASCADE, \
FOREIGN KEY (\"B\") REFERENCES \"$b\"(id) ON UPDATE CASCADE ON DELETE CASCADE | \
CREATE INDEX \"${j}_B_index\" ON public.\"$j\" USING btree (\"B\")" \
        "join table $j: A -> $a, B -> $b, uuid, primary key (A, B), cascading foreign keys, index on B"
done <<<"$joins"

# --- indexes on foreign keys and filter fields -----------------------------------
got=$(Q -c "SELECT string_agg(c.conrelid::regclass || '.' || a.attname, ' ')
            FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
              AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid
                                AND i.indkey[0] = c.conkey[1])")
is "$got" "" "every foreign key column leads an index"
# (table column[,column]) that the requirements' index strategy names.
wanted_indexes='crm_Accounts status
crm_Accounts type
crm_Accounts createdAt
crm_Accounts status,createdAt
crm_Contacts status
crm_Contacts type
crm_Contacts cratedAt
crm_Contacts last_activity
crm_Leads status
crm_Leads type
crm_Leads createdAt
crm_Leads status,createdAt
crm_Opportunities status
crm_Opportunities createdAt
crm_Opportunities close_date
crm_Opportunities sales_stage
crm_Opportunities status,createdAt
crm_Contracts status
crm_Contracts startDate
crm_Contracts endDate
crm_Contracts createdAt
crm_Contracts status,createdAt
Tasks priority
Tasks taskStatus
Tasks dueDateAt
Tasks createdAt
crm_Accounts_Tasks priority
crm_Accounts_Tasks taskStatus
crm_Accounts_Tasks dueDateAt
crm_Accounts_Tasks createdAt
Boards favourite
Boards visibility
Boards createdAt
Boards sharedWith
Documents document_type
Documents status
Documents visibility
Documents favourite
Documents createdAt
Invoices status
Invoices invoice_type
Invoices date_created
Invoices date_due
Users email
Users userStatus
Users userLanguage
Users is_admin
Users is_account_admin
Users created_on
Users lastLoginAt'
# One query counts, for each, the indexes on exactly those columns in that order.
declare -A index_count=()
while IFS='|' read -r table cols n; do
    index_count["$table $cols"]=$n
done < <(Q -v list="$wanted_indexes" <<'SQL'
SELECT t, c, (SELECT count(*) FROM pg_index i
               WHERE i.indrelid = to_regclass(quote_ident(t))
                 AND (SELECT string_agg(a.attname, ',' ORDER BY k.n)
                        FROM unnest(i.indkey) WITH ORDINALITY k(attnum, n)
                        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) = c)
  FROM regexp_split_to_table(:'list', E'\n') l, split_part(l, ' ', 1) t, split_part(l, ' ', 2) c
SQL
)
while read -r table cols; do
    is "${index_count["$table $cols"]-}" 1 "$table has an index on ($cols)"
done <<<"$wanted_indexes"
is "$(Q -c "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'")" 169 \
    "169 indexes: 39 primary keys, Users.email unique, 111 @@index (110 b-tree, 1 GIN), 10 join-table B, 8 full-text"

# --- full-text search -------------------------------------------------------------
is "$(Q -c "SELECT provolatile FROM pg_proc WHERE proname = 'nextcrm_text_array_to_string'")" i \
    "the text[] joiner used by the contacts index is IMMUTABLE"
# Every full-text index in one session, each answer to its own file (a psql
# start costs a backend); an error is no answer, so a wrong value.
fts=$(mktemp -d)
script="SET enable_seqscan = off;"
while IFS=$'\t' read -r table index expr; do
    # The documented expression, indexed afresh, must deparse to the same
    # expression as the migration's index (so the documented query matches it).
    script+="
SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam
 WHERE c.oid = '\"$index\"'::regclass \\g $fts/$index.am
BEGIN;
CREATE INDEX fts_probe ON \"$table\" USING gin (($expr));
SELECT (SELECT pg_get_expr(indexprs, indrelid) FROM pg_index WHERE indexrelid = 'fts_probe'::regclass)
     = (SELECT pg_get_expr(indexprs, indrelid) FROM pg_index WHERE indexrelid = '\"$index\"'::regclass)
\\g $fts/$index.probe
ROLLBACK;
EXPLAIN SELECT id FROM \"$table\" WHERE $expr @@ plainto_tsquery('simple', 'acme') \\g $fts/$index.plan
"
done < <(sed 1d "$NEXTCRM_DATA/fulltext.tsv")
Q -v ON_ERROR_STOP=0 <<<"$script" | sed 's/^/# /'
while IFS=$'\t' read -r table index expr; do
    is "$(cat "$fts/$index.am" 2>&1)" gin "full-text index $index exists and is GIN"
    is "$(cat "$fts/$index.probe" 2>&1)" t "$index indexes exactly the documented expression"
    like "$(cat "$fts/$index.plan" 2>&1)" "Bitmap Index Scan on \"?$index\"?" "a full-text query on $table uses $index"
done < <(sed 1d "$NEXTCRM_DATA/fulltext.tsv")
rm -rf "$fts"

# The search finds what it should: words from the notes array, any case,
# without stemming across languages.
Q -c "INSERT INTO \"crm_Contacts\" (id, last_name, first_name, notes) VALUES
        (gen_random_uuid(), 'Dvořák', 'Jiří', '{\"Met at the Brno fair\",\"Wants a demo\"}'),
        (gen_random_uuid(), 'Müller', 'Anna', NULL),
        (gen_random_uuid(), 'Smith', 'Brno', '{}')" >/dev/null
expr=$(awk -F'\t' '$1 == "crm_Contacts" { print $3 }' "$NEXTCRM_DATA/fulltext.tsv")
got=$(Q -c "SELECT string_agg(last_name, ',' ORDER BY last_name) FROM \"crm_Contacts\"
            WHERE $expr @@ plainto_tsquery('simple', 'BRNO')")
is "$got" "Dvořák,Smith" "contacts search matches a word in notes and in first_name"
got=$(Q -c "SELECT string_agg(last_name, ',') FROM \"crm_Contacts\"
            WHERE $expr @@ plainto_tsquery('simple', 'müller')")
is "$got" "Müller" "contacts search matches a name when notes is NULL"

q -c "DROP DATABASE $db" >/dev/null
ok $? "database $db dropped"
done_testing
