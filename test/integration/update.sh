#!/usr/bin/env bash
# The first upgrade path: a database that installed 0.1.0 (the shipped
# script) and recorded a run under 0.1.0's names is updated with ALTER
# EXTENSION ... UPDATE; its record comes through under the enum's labels,
# and a migration and its validation then work as in a fresh install.
# (sql/update.sql compares the updated extension's objects with a fresh
# one's.)
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
"$BUILD_DIR/nextcrm_gen" --docs 200 --seed 5 --quirks off --dump-dir "$work/dump" 2>/dev/null
ok $? "generated a clean dump"
chmod -R a+rX "$work"

db=update_test
q -c "DROP DATABASE IF EXISTS $db" >/dev/null
q -c "CREATE DATABASE $db" >/dev/null
q -d $db >/dev/null <<SQL
CREATE EXTENSION nextcrm_mongo_fdw VERSION '0.1.0';
CREATE SERVER src FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (dump_dir '$work/dump');
CREATE USER MAPPING FOR CURRENT_USER SERVER src;
INSERT INTO nextcrm_migration.run (server, status, finished_at) VALUES ('src', 'complete', now());
INSERT INTO nextcrm_migration.checkpoint (collection, position, phase) VALUES ('Users', 1, 'loading');
SQL
is "$(q -d $db -c "SELECT extversion FROM pg_extension WHERE extname = 'nextcrm_mongo_fdw'")" 0.1.0 \
    "the database holds 0.1.0 with a record in its names"

version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$NEXTCRM_ROOT/nextcrm_mongo_fdw.control")
out=$(q -d $db -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
fails $? "the new module refuses to migrate before the update"
like "$out" "extension nextcrm_mongo_fdw is at version 0\.1\.0, its module at version $version" \
    "naming both versions"
is "$(q -d $db -c "SELECT status FROM nextcrm_migration.run")" complete "leaving 0.1.0's record as it was"

q -d $db -c "ALTER EXTENSION nextcrm_mongo_fdw UPDATE" >/dev/null
ok $? "ALTER EXTENSION nextcrm_mongo_fdw UPDATE runs"
is "$(q -d $db -c "SELECT extversion FROM pg_extension WHERE extname = 'nextcrm_mongo_fdw'")" \
    "$version" "to the control file's default version"
is "$(q -d $db -c "SELECT status || '|' || pg_typeof(status) FROM nextcrm_migration.run")" \
    "done|nextcrm_migration.state" "the run's 'complete' is the enum's 'done'"
is "$(q -d $db -c "SELECT phase FROM nextcrm_migration.checkpoint")" running \
    "a collection's 'loading' is the enum's 'running'"

out=$(q -d $db -c "SELECT count(*) FROM nextcrm_migrate_all('src', restart => true)" 2>&1)
status=$?
[[ $status == 0 ]] || printf '# %s\n' "$out"
ok $status "a migration runs after the update"
is "$(q -d $db -c "SELECT status FROM nextcrm_migration.run")" done "and is done"
is "$(q -d $db -c "SELECT count(*) FROM nextcrm_migration.checkpoint WHERE phase <> 'done'")" 0 \
    "every collection is done"
out=$(q -d $db -c "SELECT string_agg(concat_ws(' ', family, \"table\", \"check\"), '; ')
                     FROM nextcrm_validate('src') WHERE status = 'fail'" 2>&1)
ok $? "validation runs after the update"
is "$out" "" "and no check fails"

q -c "DROP DATABASE $db" >/dev/null
done_testing
