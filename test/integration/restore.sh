#!/usr/bin/env bash
# A pg_dump of a database migrated from a mongodump directory, server and
# foreign tables included, restores into a cluster where the directory is
# not (file_fdw's rule: the validator checks privileges, not paths).  With
# the directory gone ALTER SERVER still works, and reading the server is an
# error naming the missing directory.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
"$BUILD_DIR/nextcrm_gen" --docs 300 --seed 5 --dump-dir "$work/dump" 2>/dev/null
ok $? "generated 300 documents into a mongodump directory"
chmod -R a+rX "$work/dump"

make_target restore_src "dump_dir '$work/dump'"
q -d restore_src -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1
is "$(q -d restore_src -c "SELECT status FROM nextcrm_migration.run")" done "the migration completes"
q -d restore_src >/dev/null <<'SQL'
CREATE SCHEMA mongo;
CREATE FOREIGN TABLE mongo.users (_id text) SERVER src OPTIONS (collection 'Users');
SQL
ok $? "a foreign table on the dump's server"
before=$(q -d restore_src -c "SELECT count(*) FROM mongo.users")
holds "before > 0" "it reads the dump ($before users)"
users=$(q -d restore_src -c 'SELECT count(*) FROM "Users"')

pg_dump -d restore_src -f "$work/restore_src.sql"
ok $? "pg_dump of the migrated database"
rm -rf "$work/dump"

q -c "DROP DATABASE IF EXISTS restore_dst" >/dev/null
q -c "CREATE DATABASE restore_dst" >/dev/null
out=$(psql -X -q -v ON_ERROR_STOP=1 -o /dev/null -d restore_dst -f "$work/restore_src.sql" 2>&1)
ok $? "the dump restores without the mongodump directory"
[[ -n "$out" ]] && echo "$out" | sed 's/^/# /' | head -20
is "$out" "" "... without an error or warning"
is "$(q -d restore_dst -c "SELECT srvoptions::text FROM pg_foreign_server WHERE srvname = 'src'")" \
    "{dump_dir=$work/dump}" "the server is restored with its dump_dir"
is "$(q -d restore_dst -c "SELECT count(*) FROM pg_foreign_table WHERE ftrelid = 'mongo.users'::regclass")" 1 \
    "the foreign table is restored"
is "$(q -d restore_dst -c 'SELECT count(*) FROM "Users"')" "$users" "the migrated rows are restored"

for db in restore_src restore_dst; do
    q -d $db -c "ALTER SERVER src OPTIONS (ADD database 'crm')" >/dev/null
    ok $? "$db: ALTER SERVER ... ADD database with the directory gone"
    q -d $db -c "ALTER SERVER src OPTIONS (SET database 'nextcrm')" >/dev/null
    ok $? "$db: ALTER SERVER ... SET database with the directory gone"
    out=$(q -d $db -c "SELECT count(*) FROM mongo.users" 2>&1)
    like "$out" "ERROR:  dump directory \"$work/dump\" does not exist" \
        "$db: a scan names the missing directory"
done

q -c "DROP DATABASE restore_src" >/dev/null
q -c "DROP DATABASE restore_dst" >/dev/null
done_testing
