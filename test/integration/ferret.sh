#!/usr/bin/env bash
# Foreign tables over FerretDB: IMPORT FOREIGN SCHEMA (NextCRM's typed schema
# and a sampled database), identical answers with pushdown on and off,
# ANALYZE, and one client per backend and server.
. "$(dirname "$0")/../lib/tap.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mdb=fdw_test_$$
"$BUILD_DIR/nextcrm_bench" load "$MONGO_URI" "$mdb" accounts 3000 2>/dev/null
ok $? "3000 generated documents loaded into FerretDB"

db=ferret_test_$$
q -c "CREATE DATABASE $db" >/dev/null
q -d "$db" <<SQL >/dev/null
CREATE EXTENSION nextcrm_mongo_fdw;
CREATE SERVER ferret FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri '$MONGO_URI', database 'nextcrm_regress');
CREATE USER MAPPING FOR CURRENT_USER SERVER ferret;
SQL
ok $? "server created"

# NextCRM's schema: 29 typed tables, names verbatim.
q -d "$db" -c "CREATE SCHEMA mongo; IMPORT FOREIGN SCHEMA nextcrm FROM SERVER ferret INTO mongo" >/dev/null
ok $? "IMPORT FOREIGN SCHEMA nextcrm"
is "$(q -d "$db" -c "SELECT count(*) FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid
                     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE nspname = 'mongo'")" "29" \
    "29 foreign tables"
is "$(q -d "$db" -c "SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod), ' ' ORDER BY attnum)
                     FROM pg_attribute WHERE attrelid = 'mongo.\"crm_Opportunities_Sales_Stages\"'::regclass
                     AND attnum > 0")" \
    "_id:text __v:integer name:text probability:integer order:integer" "columns typed per mongo-fields.csv"
is "$(q -d "$db" -c "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                     WHERE attrelid = 'mongo.\"crm_Accounts\"'::regclass AND attname = 'createdAt'")" \
    "timestamp with time zone" "DateTime fields are timestamptz"
is "$(q -d "$db" -c "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                     WHERE attrelid = 'mongo.\"Invoices\"'::regclass AND attname = 'invoice_items'")" \
    "jsonb" "Json fields are jsonb"
is "$(q -d "$db" -c "SELECT string_agg(name || '=' || probability, ',' ORDER BY _id)
                     FROM mongo.\"crm_Opportunities_Sales_Stages\" WHERE probability > 70")" \
    "Signing=95,Contract negotiation=75,Send for signing=80,Realization of the project=100" \
    "an imported table reads the seed data"
q -d "$db" -c "CREATE SCHEMA two; IMPORT FOREIGN SCHEMA nextcrm LIMIT TO (\"Users\", gpt_models)
               FROM SERVER ferret INTO two OPTIONS (objectid_type 'bytea')" >/dev/null
is "$(q -d "$db" -c "SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_class c
                     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE nspname = 'two'")" \
    "Users gpt_models" "LIMIT TO"
is "$(q -d "$db" -c "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                     WHERE attrelid = 'two.gpt_models'::regclass AND attname = '_id'")" "bytea" \
    "objectid_type 'bytea'"
out=$(q -d "$db" -c "IMPORT FOREIGN SCHEMA nextcrm FROM SERVER ferret INTO two OPTIONS (sampel_size '5')" 2>&1)
like "$out" 'invalid option "sampel_size".*Valid options in this context are: objectid_type, profile, sample_size' \
    "an unknown IMPORT option lists the valid ones"

# Another database: tables from sampling.
q -d "$db" -c "CREATE SCHEMA sampled; IMPORT FOREIGN SCHEMA $mdb FROM SERVER ferret INTO sampled" >/dev/null
ok $? "IMPORT FOREIGN SCHEMA of a database"
is "$(q -d "$db" -c "SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod), ' ' ORDER BY attnum)
                     FROM pg_attribute WHERE attrelid = 'sampled.accounts'::regclass AND attnum > 0")" \
    "_id:text name:text email:text status:text amount:integer big:bigint score:double precision active:boolean createdAt:timestamp with time zone tags:text[]" \
    "columns inferred from the sample"

# The same answers with pushdown on and off.
queries=(
    "SELECT _id, name FROM sampled.accounts WHERE amount > 500 ORDER BY _id"
    "SELECT count(*) FROM sampled.accounts WHERE amount <> 10"
    "SELECT count(*) FROM sampled.accounts WHERE NOT (amount < 100)"
    "SELECT count(*) FROM sampled.accounts WHERE NOT (amount < 100 OR status = 'Active')"
    "SELECT count(*) FROM sampled.accounts WHERE status IS NULL OR email IS NULL"
    "SELECT count(*) FROM sampled.accounts WHERE status IS NOT NULL AND NOT active"
    "SELECT count(*) FROM sampled.accounts WHERE amount IN (1, 2, 3, NULL) OR big = 1000003"
    "SELECT count(*) FROM sampled.accounts WHERE amount NOT IN (1, 2, 3)"
    "SELECT count(*) FROM sampled.accounts WHERE amount NOT IN (1, NULL)"
    "SELECT count(*) FROM sampled.accounts WHERE status <> 'Active'"
    "SELECT count(*) FROM sampled.accounts WHERE status = ANY (ARRAY['Active', 'Gone'])"
    "SELECT count(*) FROM sampled.accounts WHERE score >= 100.5 AND score < 200"
    "SELECT count(*) FROM sampled.accounts WHERE \"createdAt\" >= '2023-11-15 00:00:00+00'"
    "SELECT count(*) FROM sampled.accounts WHERE active"
    "SELECT _id FROM sampled.accounts WHERE _id = '651000000000000000000007'"
    "SELECT name FROM sampled.accounts WHERE _id IN ('651000000000000000000009', '65100000000000000000000a', 'nope')"
    "SELECT _id, amount FROM sampled.accounts ORDER BY _id DESC LIMIT 5"
    "SELECT _id, amount FROM sampled.accounts WHERE amount > 10 ORDER BY _id LIMIT 7 OFFSET 3"
    "SELECT amount, _id FROM sampled.accounts ORDER BY amount NULLS FIRST, _id LIMIT 12"
    "SELECT amount, _id FROM sampled.accounts ORDER BY amount DESC, _id LIMIT 12"
    "SELECT big FROM sampled.accounts ORDER BY big DESC LIMIT 3"
)
# One session runs every query with pushdown on and its EXPLAIN, each answer
# to its own file (a psql start costs a backend and a FerretDB connection).
# The answer with pushdown off is PostgreSQL's own evaluation of the query
# over every document: what a scan with pushdown off gives, each query
# filtering, sorting and limiting locally.  That scan is made once, into a
# local table the same queries then read, instead of once per query (3,000
# documents from FerretDB each time).
out=$work/pushdown
mkdir -p "$out"
script="SET nextcrm_mongo_fdw.pushdown = off;
CREATE TEMP TABLE local_accounts AS SELECT * FROM sampled.accounts;
RESET nextcrm_mongo_fdw.pushdown;
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM sampled.accounts \\g $out/copy.plan
SET nextcrm_mongo_fdw.pushdown = off;
EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM sampled.accounts WHERE amount > 500 \\g $out/off.plan
RESET nextcrm_mongo_fdw.pushdown;"
for i in "${!queries[@]}"; do
    script+="
${queries[$i]} \\g $out/$i.on
EXPLAIN (VERBOSE, COSTS OFF) ${queries[$i]} \\g $out/$i.plan
${queries[$i]//sampled.accounts/local_accounts} \\g $out/$i.off"
done
# The copy reads every column, so it does not check the scan's own work with
# pushdown off: two queries run through it too, whose conditions read
# columns they do not return (the scan must still fetch those for
# PostgreSQL's filter).  One FerretDB scan each.
fdw_off=(0 4)
script+="
SET nextcrm_mongo_fdw.pushdown = off;"
for i in "${fdw_off[@]}"; do
    script+="
${queries[$i]} \\g $out/$i.fdwoff"
done
script+="
RESET nextcrm_mongo_fdw.pushdown;"
q -d "$db" -v ON_ERROR_STOP=0 <<<"$script" >"$out/session" 2>&1
sed 's/^/# /' "$out/session"
is "$(grep -c ERROR "$out/session")" 0 "every query runs, with pushdown on and locally"
answer() { # file: its digest, or that there is none
    if [[ -f $1 ]]; then md5sum <"$1"; else echo "no answer in $1"; fi
}
like "$(cat "$out/copy.plan")" 'MongoDB filter: \{ \}' "the copy for pushdown off is one scan of every document"
like "$(cat "$out/off.plan")" 'Filter: .*MongoDB filter: \{ \}' "with pushdown off a condition is filtered locally, none sent"
for i in "${!queries[@]}"; do
    sql=${queries[$i]}
    plan=$(cat "$out/$i.plan" 2>&1)
    rows=$(wc -l <"$out/$i.on" 2>/dev/null)
    if [[ "$plan" == *'MongoDB filter: { }'* && "$plan" != *'MongoDB sort'* && "$plan" != *'MongoDB limit'* ]]; then
        pushed=no
    else
        pushed=yes
    fi
    is "$(answer "$out/$i.on")" "$(answer "$out/$i.off")" \
        "pushdown on = off ($rows rows, pushed: $pushed): $sql"
done
for i in "${fdw_off[@]}"; do
    is "$(answer "$out/$i.fdwoff")" "$(answer "$out/$i.off")" \
        "pushdown off through the scan ($(wc -l <"$out/$i.fdwoff" 2>/dev/null) rows) = locally: ${queries[$i]}"
done
like "$(cat "$out/17.plan")" \
    'MongoDB sort: \{ "_id" : \{ "\$numberInt" : "1" \} \}.*MongoDB limit: 10' \
    "ORDER BY _id LIMIT 7 OFFSET 3 sends sort and limit 10"
like "$(cat "$out/18.plan")" 'MongoDB sort: \{ "amount" .* "_id"' \
    "ORDER BY a nullable column NULLS FIRST is sent"
like "$(cat "$out/19.plan")" 'Sort Key' \
    "ORDER BY DESC NULLS FIRST (the default) is sorted locally"

# _id as uuid through the ObjectId-UUID mapping (nextcrm_map_oid is the same
# mapping as SQL function).
q -d "$db" <<SQL >/dev/null
CREATE FOREIGN TABLE stages_uuid (_id uuid, name text)
  SERVER ferret OPTIONS (collection 'crm_Opportunities_Sales_Stages');
CREATE FOREIGN TABLE stages_text (_id text, name text)
  SERVER ferret OPTIONS (collection 'crm_Opportunities_Sales_Stages');
SQL
is "$(q -d "$db" -c "SELECT count(*) FROM stages_uuid u JOIN stages_text t
                     ON u._id = nextcrm_map_oid(t._id) AND u.name = t.name")" "9" \
    "uuid _id is the mapped ObjectId"
uuid_queries=(
    "SELECT name FROM stages_uuid WHERE _id = nextcrm_map_oid('659200807e2fcd1cc2000000')"
    "SELECT count(*) FROM stages_uuid WHERE _id <> nextcrm_map_oid('659200807e2fcd1cc2000000')"
    "SELECT name FROM stages_uuid WHERE _id IN (nextcrm_map_oid('659200817e2fcd1cc2000001'), nextcrm_map_oid('x'))"
    "SELECT _id, name FROM stages_uuid ORDER BY _id DESC LIMIT 3"
)
for sql in "${uuid_queries[@]}"; do
    on=$(q -d "$db" -c "$sql")
    off=$(q -d "$db" -c "SET nextcrm_mongo_fdw.pushdown = off; $sql")
    is "$on" "$off" "uuid pushdown on = off ($(wc -l <<<"$on") rows): $sql"
done
like "$(q -d "$db" -c "EXPLAIN (VERBOSE, COSTS OFF) ${uuid_queries[0]}")" \
    'MongoDB filter: \{ "_id" : \{ "\$in" : \[ \{ "\$oid" : "659200807e2fcd1cc2000000" \}' \
    "a mapped UUID constant is sent as its ObjectId"
like "$(q -d "$db" -c "EXPLAIN (VERBOSE, COSTS OFF) ${uuid_queries[2]}")" 'Filter: \(stages_uuid._id = ANY' \
    "a list with a UUID not made from an ObjectId is filtered locally"
q -d "$db" -c "CREATE SCHEMA u; IMPORT FOREIGN SCHEMA nextcrm LIMIT TO (crm_campaigns) FROM SERVER ferret INTO u
               OPTIONS (objectid_type 'uuid')" >/dev/null
is "$(q -d "$db" -c "SELECT count(*) FROM u.crm_campaigns WHERE _id IS NOT NULL")" "2" \
    "IMPORT with objectid_type 'uuid' scans"

# ANALYZE gives the planner the real row count.
q -d "$db" -c "ANALYZE sampled.accounts" >/dev/null
is "$(q -d "$db" -c "SELECT reltuples FROM pg_class WHERE oid = 'sampled.accounts'::regclass")" "3000" \
    "ANALYZE counts the documents"
like "$(q -d "$db" -c "EXPLAIN SELECT * FROM sampled.accounts")" "rows=3000 " "the planner sees 3000 rows"
is "$(q -d "$db" -c "SELECT null_frac::numeric(3,2) FROM pg_stats WHERE tablename = 'accounts' AND attname = 'email'")" \
    "0.10" "ANALYZE samples NULLs of missing fields"

# One client per backend and server: many queries, one connection.
sockets=$RIG_DIR/sockets.$$
pid=$(q -d "$db" <<SQL
SELECT count(*) FROM sampled.accounts \g /dev/null
SELECT count(*) FROM mongo."crm_Opportunities_Type" \g /dev/null
SELECT count(*) FROM sampled.accounts a JOIN sampled.accounts b USING (_id) WHERE a.amount = 5 \g /dev/null
\! ss -tnpH state established "( dport = :$MONGO_PORT )" > $sockets
SELECT pg_backend_pid();
SQL
)
is "$(grep -c "pid=$pid," "$sockets")" "1" "the backend holds one connection to FerretDB after many queries"
rm -f "$sockets"

q -c "DROP DATABASE $db" >/dev/null
done_testing
