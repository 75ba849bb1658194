#!/usr/bin/env bash
# The rig itself: both servers answer, the seed data is in FerretDB, the
# extension reads it through libmongoc with counts that match the seed files,
# and from PostgreSQL 17 on pgvector is installed (NextCRM v0.21.2's
# migrations create it).
. "$(dirname "$0")/../lib/tap.sh"

q -c 'SELECT 1' >/dev/null
ok $? "PostgreSQL answers on $PGHOST:$PGPORT"

[[ $(q -c 'SHOW listen_addresses') == 127.0.0.1 ]]
ok $? "PostgreSQL listens on loopback only"

(exec 3<>"/dev/tcp/127.0.0.1/$MONGO_PORT") 2>/dev/null
ok $? "FerretDB listens on 127.0.0.1:$MONGO_PORT"

db=rig_test_$$
q -c "CREATE DATABASE $db" >/dev/null
q -d "$db" <<SQL >/dev/null
CREATE EXTENSION nextcrm_mongo_fdw;
CREATE SERVER ferret FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri '$MONGO_URI', database 'nextcrm_regress');
CREATE USER MAPPING FOR CURRENT_USER SERVER ferret;
SQL
ok $? "extension and server created"

seed=$NEXTCRM_ROOT/test/fixtures/nextcrm-seed
declare -A files=(
    [crm_Industry_Type]=crm_Industry_Type.json
    [crm_Opportunities_Sales_Stages]=crm_Opportunities_Sales_Stages.json
    [crm_Opportunities_Type]=crm_Opportunities_Type.json
    [crm_campaigns]=crm_campaigns.json
    [gpt_models]=gpt_Models.json
    [system_Modules_Enabled]=system_Modules_Enabled.json
)
for coll in "${!files[@]}"; do
    expected=$(q -d "$db" -v json="$(cat "$seed/${files[$coll]}")" \
        <<<"SELECT json_array_length(:'json'::json)")
    got=$(q -d "$db" -c "SELECT documents FROM nextcrm_mongo_collections('ferret')
                         WHERE collection = '$coll'")
    is "$got" "$expected" "$coll holds as many documents as its seed file"
done

# A FerretDB that goes away is an error, not an empty answer, and the
# session recovers once it answers again.  One session reads, so its
# connection is established; the server stops; the next read waits on that
# connection until the socket timeout (500 ms; a new connection would wait
# for the connect timeout, 10 s) and fails; the server goes on; the same
# session reads again, once libmongoc's cooldown lets it.
out=$(q -d "$db" -v ON_ERROR_STOP=0 2>&1 <<SQL
ALTER SERVER ferret OPTIONS (ADD socket_timeout_ms '500');
SELECT 'before', count(*) FROM nextcrm_mongo_collections('ferret');
\! kill -STOP $RIG_FERRETDB_PID
SELECT 'hung', count(*) FROM nextcrm_mongo_collections('ferret');
\! kill -CONT $RIG_FERRETDB_PID
DO \$\$
DECLARE n bigint;
BEGIN
  -- libmongoc's single-threaded client rescans a server that failed only
  -- after its cooldown (5 s): "No servers yet eligible for rescan" until then.
  FOR i IN 1..150 LOOP
    BEGIN
      SELECT count(*) INTO n FROM nextcrm_mongo_collections('ferret');
      RAISE NOTICE 'after|%', n;
      RETURN;
    EXCEPTION WHEN OTHERS THEN
      PERFORM pg_sleep(0.1);
    END;
  END LOOP;
END
\$\$;
SQL
)
kill -CONT "$RIG_FERRETDB_PID"
printf '%s\n' "$out" | sed 's/^/# /'
is "$(grep -c '^before|6$' <<<"$out")" 1 "a session reads the 6 collections over its connection"
is "$(grep -c '^hung|' <<<"$out")" 0 "a hung server is an error after the socket timeout, not an answer"
like "$out" "ERROR" "the error is reported to the client"
is "$(grep -c '^NOTICE:  after|6$' <<<"$out")" 1 "the same session recovers once the server answers again (within 15 s)"

if (($(q -c 'SHOW server_version_num') >= 170000)); then
    got=$(q -d "$db" -c "CREATE EXTENSION vector;
                         SELECT extversion FROM pg_extension WHERE extname = 'vector';
                         SELECT '[1,2,3]'::vector <-> '[1,2,5]'::vector" 2>&1)
    is "$got" $'0.8.6\n2' "pgvector 0.8.6 is installed and computes a distance"
fi

q -c "DROP DATABASE $db" >/dev/null
done_testing
