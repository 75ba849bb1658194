#!/usr/bin/env bash
# profiles/nextcrm/mapping.csv against its two ends: every stored field of
# mongo-fields.csv has exactly one mapping row, every row names a target that
# exists in the migrated schema with the stated type, nullability and foreign
# key, and every column of the schema is fed by some row.
. "$(dirname "$0")/../lib/tap.sh"
. "$NEXTCRM_ROOT/test/lib/schema.sh"

db=schema_mapping_$$
schema_create_db "$db"
Q() { q -d "$db" "$@" 2>&1; }  # an error shows up as a wrong value
mapping=$NEXTCRM_DATA/mapping.csv

# The file stays trivially parseable: no quoting, 14 fields on every line.
is "$(head -1 "$mapping")" \
    "model,stored_key,field,kind,target_table,target_column,owner_column,pg_type,ref_model,required,mongo_default,on_missing,special,notes" \
    "mapping.csv has the documented header"
is "$(awk -F, 'NF != 14 || /"/' "$mapping" | wc -l)" 0 "every line has 14 unquoted fields"

Q >/dev/null <<SQL
CREATE SCHEMA check_src;
CREATE TABLE check_src.fields (model text, field text, stored_key text, prisma_type text,
    list text, optional text, objectid text, db_date text, id text, "unique" text,
    updated_at text, "default" text, kind text, relation_name text, relation_fields text,
    relation_references text, on_delete text);
CREATE TABLE check_src.mapping (model text, stored_key text, field text, kind text,
    target_table text, target_column text, owner_column text, pg_type text, ref_model text,
    required text, mongo_default text, on_missing text, special text, notes text);
\copy check_src.fields FROM '$NEXTCRM_DATA/mongo-fields.csv' WITH (FORMAT csv, HEADER true)
\copy check_src.mapping FROM '$mapping' WITH (FORMAT csv, HEADER true)
CREATE VIEW check_src.stored AS SELECT * FROM check_src.fields WHERE kind NOT LIKE 'relation%';
-- Columns of the migrated schema, with their type as format_type prints it
-- (without the quotes it puts around mixed-case enum names).
CREATE VIEW check_src.cols AS
  SELECT c.relname AS tbl, a.attname AS col, a.attnotnull AS notnull,
         replace(format_type(a.atttypid, a.atttypmod), '"', '') AS typ
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
   WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
     AND a.attnum > 0 AND NOT a.attisdropped;
SQL
ok $? "mongo-fields.csv and mapping.csv load as CSV"

is "$(Q -c "SELECT count(*) FROM check_src.stored")" 409 "mongo-fields.csv lists 409 stored fields"
is "$(Q -c "SELECT count(*) FROM check_src.mapping")" 409 "mapping.csv has 409 rows"
is "$(Q -c "SELECT count(*) FROM (SELECT DISTINCT model, stored_key FROM check_src.mapping) d")" 409 \
    "mapping rows are unique by (model, stored_key)"
got=$(Q -c "SELECT string_agg(s.model || '.' || s.stored_key, ' ') FROM check_src.stored s
            LEFT JOIN check_src.mapping m USING (model, stored_key, field) WHERE m.model IS NULL")
is "$got" "" "every stored source field has a mapping row"
got=$(Q -c "SELECT string_agg(m.model || '.' || m.stored_key, ' ') FROM check_src.mapping m
            LEFT JOIN check_src.stored s USING (model, stored_key, field) WHERE s.model IS NULL")
is "$got" "" "every mapping row maps a stored source field"

got=$(Q -c "SELECT string_agg(DISTINCT kind, ' ') FROM check_src.mapping WHERE kind NOT IN
            ('id', 'version', 'ref', 'ref_array', 'junction', 'text', 'int4', 'bool',
             'timestamp', 'jsonb', 'text_array', 'enum')")
is "$got" "" "every kind is a documented one"
got=$(Q -c "SELECT string_agg(DISTINCT on_missing, ' ') FROM check_src.mapping
            WHERE on_missing NOT IN ('null', 'default', 'empty', 'error', 'oid_time')
              AND on_missing !~ '^value:'")
is "$got" "" "every on_missing policy is a documented one"
got=$(Q -c "SELECT string_agg(DISTINCT special, ' ') FROM check_src.mapping
            WHERE special <> '' AND special NOT IN ('single_id', 'one_sided', 'was_json',
                  'numeric_string', 'legacy_string', 'secret') AND special !~ '^route='")
is "$got" "" "every special token is a documented one"
got=$(Q -c "SELECT string_agg(model || '.' || stored_key || ':' || m.kind, ' ') FROM check_src.mapping m
            JOIN check_src.stored s USING (model, stored_key)
            WHERE NOT CASE m.kind
              WHEN 'id' THEN s.id = 'yes'
              WHEN 'version' THEN s.stored_key = '__v'
              WHEN 'ref' THEN s.objectid = 'yes' AND s.list IS NULL
              WHEN 'ref_array' THEN s.objectid = 'yes' AND s.list = 'yes'
              WHEN 'junction' THEN s.objectid = 'yes' AND s.list = 'yes'
              WHEN 'text_array' THEN s.objectid IS NULL AND s.list = 'yes'
              WHEN 'text' THEN s.prisma_type = 'String' AND s.objectid IS NULL AND s.list IS NULL
              WHEN 'int4' THEN s.prisma_type = 'Int' AND s.stored_key <> '__v'
              WHEN 'bool' THEN s.prisma_type = 'Boolean'
              WHEN 'timestamp' THEN s.prisma_type = 'DateTime'
              WHEN 'jsonb' THEN s.prisma_type = 'Json'
              WHEN 'enum' THEN s.kind = 'enum' AND m.pg_type = s.prisma_type
              ELSE false END")
is "$got" "" "each kind fits the source field's Prisma type"
got=$(Q -c "SELECT string_agg(model || '.' || stored_key, ' ') FROM check_src.mapping m
            JOIN check_src.stored s USING (model, stored_key)
            WHERE m.mongo_default IS DISTINCT FROM
                  nullif(replace(replace(s.\"default\", 'auto()', ''), '\"', ''), '')")
is "$got" "" "mongo_default repeats the Mongo schema's default"

# --- rows -> schema -----------------------------------------------------------------
got=$(Q -c "SELECT string_agg(m.model || '.' || m.stored_key || '->' || m.target_table || '.'
                              || m.target_column || ' ' || coalesce(c.typ, 'missing')
                              || '/' || m.pg_type, ' ')
            FROM check_src.mapping m
            LEFT JOIN check_src.cols c ON c.tbl = m.target_table AND c.col = m.target_column
            WHERE m.kind <> 'junction' AND c.typ IS DISTINCT FROM m.pg_type")
is "$got" "" "every column target exists with the mapped pg_type"
got=$(Q -c "SELECT string_agg(m.model || '.' || m.stored_key, ' ')
            FROM check_src.mapping m
            JOIN check_src.cols c ON c.tbl = m.target_table AND c.col = m.target_column
            WHERE m.kind <> 'junction' AND c.notnull <> (m.required = 'yes')")
is "$got" "" "required is yes exactly where the target column is NOT NULL"
is "$(Q -c "SELECT count(*) FROM check_src.mapping WHERE target_table <> model AND kind <> 'junction'")" 0 \
    "column targets stay in the model's own table"

# A foreign key from (table, column) to the id of model.
fk_sql="EXISTS (SELECT 1 FROM pg_constraint k
                 WHERE k.contype = 'f' AND k.conrelid = format('%I', \$t)::regclass
                   AND k.confrelid = format('%I', \$r)::regclass
                   AND k.conkey = ARRAY[(SELECT attnum FROM pg_attribute
                                         WHERE attrelid = k.conrelid AND attname = \$c)])"
fk() { local s=${fk_sql//\$t/$1}; s=${s//\$r/$2}; printf '%s' "${s//\$c/$3}"; }
got=$(Q -c "SELECT string_agg(model || '.' || stored_key, ' ') FROM check_src.mapping
            WHERE kind = 'ref' AND NOT $(fk target_table ref_model target_column)")
is "$got" "" "every ref row has a foreign key from its column to ref_model"
is "$(Q -c "SELECT count(*) FROM check_src.mapping WHERE kind = 'ref'")" 54 \
    "54 ref rows: 31 declared relations + 23 loose references"
got=$(Q -c "SELECT string_agg(model || '.' || stored_key, ' ') FROM check_src.mapping
            WHERE kind = 'junction' AND NOT ($(fk target_table ref_model target_column)
                                             AND $(fk target_table model owner_column)
                                             AND owner_column <> target_column)")
is "$got" "" "junction rows: owner_column holds the model's id, target_column the listed ids"
got=$(Q -c "SELECT string_agg(target_table || ':' || n, ' ' ORDER BY target_table) FROM
              (SELECT target_table, count(*) n FROM check_src.mapping WHERE kind = 'junction'
                GROUP BY 1) j")
is "$got" "_AccountWatchers:2 _BoardWatchers:2 _ContactsToOpportunities:2 _DocumentsToAccounts:2 \
_DocumentsToContacts:2 _DocumentsToCrmAccountsTasks:1 _DocumentsToInvoices:2 _DocumentsToLeads:2 \
_DocumentsToOpportunities:2 _DocumentsToTasks:2" \
    "each join table is fed from both stored lists (one for the one-sided D5 relation)"
got=$(Q -c "SELECT string_agg(model || '.' || stored_key, ' ') FROM check_src.mapping
            WHERE special LIKE 'route=%' AND NOT $(fk target_table \
                  "split_part(substr(special, 7), ':', 1)" "split_part(special, ':', 2)")")
is "$got" "" "a route= special names a column with a foreign key to the routed model"
is "$(Q -c "SELECT target_column || ' ' || ref_model || ' ' || special FROM check_src.mapping
            WHERE model = 'tasksComments' AND stored_key = 'task'")" \
    "task Tasks route=crm_Accounts_Tasks:assigned_crm_account_task" \
    "tasksComments.task is routed to assigned_crm_account_task for CRM-task ids (D12)"

# --- schema -> rows -------------------------------------------------------------------
got=$(Q -c "SELECT string_agg(c.tbl || '.' || c.col, ' ') FROM check_src.cols c
            WHERE c.tbl <> '_prisma_migrations' AND NOT EXISTS (
              SELECT 1 FROM check_src.mapping m WHERE m.target_table = c.tbl
                AND c.col IN (m.target_column, m.owner_column,
                              CASE WHEN m.special LIKE 'route=%'
                                   THEN split_part(m.special, ':', 2) END))")
is "$got" "" "every column of the schema has a source in mapping.csv"
got=$(Q -c "SELECT string_agg(c.tbl || '.' || c.col, ' ') FROM check_src.cols c
            JOIN pg_type t ON t.typname = c.typ AND t.typtype = 'e'
            WHERE NOT EXISTS (SELECT 1 FROM check_src.mapping m WHERE m.kind = 'enum'
                                AND m.target_table = c.tbl AND m.target_column = c.col)")
is "$got" "" "every enum-typed column comes from an enum-typed source field"
is "$(Q -c "SELECT count(*) FROM check_src.cols WHERE tbl NOT LIKE '\\_%'")" 390 \
    "390 model columns = 409 stored fields - 19 lists that became join-table rows"

q -c "DROP DATABASE $db" >/dev/null
ok $? "database $db dropped"
done_testing
