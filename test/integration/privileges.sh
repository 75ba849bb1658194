#!/usr/bin/env bash
# The privilege table of docs/REFERENCE.md ("Privileges"), every cell: what a
# superuser, the database's owner, a role granted the documented migration
# privileges and a role with none can do -- create servers with each kind of
# option, run a migration, read its progress and errors, validate -- plus the
# user mapping a view's owner brings to a query (postgres_fdw's rule).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

dir=$(mktemp -d)
chmod 755 "$dir"
trap 'rm -rf "$dir"' EXIT
python3 "$(dirname "$0")/../lib/secrets_fixture.py" "$dir" && chmod -R a+rX "$dir"
ok $? "wrote a small dump"

db=privileges_test
q -c "DROP DATABASE IF EXISTS $db" >/dev/null
for r in crm_owner crm_migrator crm_nobody crm_viewer; do
    q -c "DROP ROLE IF EXISTS $r" >/dev/null 2>&1
    q -c "CREATE ROLE $r LOGIN" >/dev/null
done
q -c "CREATE DATABASE $db OWNER crm_owner" >/dev/null
q -d $db -c "CREATE EXTENSION nextcrm_mongo_fdw" >/dev/null
# The documented migration privileges (docs/REFERENCE.md, "Privileges"), verbatim.
q -d $db >/dev/null <<'SQL'
GRANT USAGE ON FOREIGN DATA WRAPPER nextcrm_mongo_fdw TO crm_migrator;
GRANT pg_read_server_files TO crm_migrator;        -- only to read a mongodump directory
GRANT EXECUTE ON FUNCTION nextcrm_migrate_all(name, boolean, text, text),
    nextcrm_migrate_table(name, text, boolean, text, text), nextcrm_retry_errors(name, text, text),
    nextcrm_validation_source(name, double precision, integer, text, text[]),
    nextcrm_validate(name, double precision, integer, text),
    nextcrm_validate_strict(name, double precision, integer, text),
    nextcrm_mongo_collections(name) TO crm_migrator;
GRANT USAGE ON SCHEMA nextcrm_migration TO crm_migrator;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA nextcrm_migration TO crm_migrator;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA nextcrm_migration TO crm_migrator;
GRANT CREATE ON SCHEMA public TO crm_migrator;
GRANT CREATE ON DATABASE privileges_test TO crm_migrator;   -- NextCRM's schema is created by the run
SQL
ok $? "granted the documented migration privileges"

# Runs SQL as a role; prints "ok" or the error's SQLSTATE-free message.
as() { # role sql
    local out
    if out=$(PGUSER=$1 q -d $db -c "$2" 2>&1); then echo ok; else
        grep -oE 'ERROR: .*' <<<"$out" | head -1 | cut -c8-; fi
}
n=0
can() { # role sql what
    local got
    n=$((n + 1))
    got=$(as "$1" "$2")
    is "$got" ok "$1 can $3"
}
cannot() { # role sql regex what
    local got
    got=$(as "$1" "$2")
    like "$got" "$3" "$1 cannot $4 ($got)"
}

safe_uri="uri 'mongodb://db.example/?tls=true&replicaSet=rs', database 'nextcrm'"
file_uri="uri 'mongodb://db.example/?tls=true&tlsCertificateKeyFile=/etc/ssl/private/k.pem', database 'nextcrm'"
for role in postgres crm_owner crm_migrator crm_nobody; do
    s=${role#crm_}
    case $role in
    postgres)
        can $role "CREATE SERVER ${s}_uri FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS ($safe_uri)" \
            "create a server with a uri"
        can $role "CREATE SERVER ${s}_tls FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS ($file_uri)" \
            "create a server whose uri names a server file"
        can $role "CREATE SERVER ${s}_dump FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (dump_dir '$dir')" \
            "create a server with dump_dir"
        ;;
    crm_migrator)
        can $role "CREATE SERVER ${s}_uri FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS ($safe_uri)" \
            "create a server with a uri"
        cannot $role "CREATE SERVER ${s}_tls FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS ($file_uri)" \
            'only superusers may use the MongoDB URI option "tlscertificatekeyfile"' \
            "create a server whose uri names a server file"
        can $role "CREATE SERVER ${s}_dump FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (dump_dir '$dir')" \
            "create a server with dump_dir (pg_read_server_files)"
        ;;
    *)
        for kind in "uri:$safe_uri" "tls:$file_uri" "dump:dump_dir '$dir'"; do
            cannot $role "CREATE SERVER ${s}_${kind%%:*} FOREIGN DATA WRAPPER nextcrm_mongo_fdw OPTIONS (${kind#*:})" \
                'permission denied for foreign-data wrapper nextcrm_mongo_fdw' \
                "create a server (${kind%%:*})"
        done
        ;;
    esac
done

# Running, progress, errors, validation.  The migrator runs on its own dump
# server; the others on the superuser's (granted to them, so only the
# function privileges decide).
q -d $db -c "GRANT USAGE ON FOREIGN SERVER postgres_dump TO crm_owner, crm_nobody" >/dev/null
cannot crm_owner "SELECT * FROM nextcrm_migrate_all('postgres_dump')" \
    'permission denied for function nextcrm_migrate_all' "run a migration"
cannot crm_nobody "SELECT * FROM nextcrm_migrate_all('postgres_dump')" \
    'permission denied for function nextcrm_migrate_all' "run a migration"
can crm_migrator "SELECT * FROM nextcrm_migrate_all('migrator_dump')" "run a migration"
is "$(q -d $db -c "SELECT count(*) FROM \"Users\"")" 2 "the migrator's run migrated the users"
is "$(q -d $db -c "SELECT tableowner FROM pg_tables WHERE tablename = 'Users'")" crm_migrator \
    "the target tables belong to the role that created them"
for role in postgres crm_migrator; do
    can $role "SELECT * FROM nextcrm_migration.progress" "read the progress"
    can $role "SELECT * FROM nextcrm_migration.errors" "read the errors"
done
for role in crm_owner crm_nobody; do
    cannot $role "SELECT * FROM nextcrm_migration.progress" 'permission denied for schema nextcrm_migration' \
        "read the progress"
    cannot $role "SELECT * FROM nextcrm_migration.errors" 'permission denied for schema nextcrm_migration' \
        "read the errors"
done
can postgres "SELECT * FROM nextcrm_validate_strict('migrator_dump')" "validate"
can crm_migrator "SELECT * FROM nextcrm_validate_strict('migrator_dump')" "validate"
for role in crm_owner crm_nobody; do
    cannot $role "SELECT * FROM nextcrm_validate('postgres_dump')" 'permission denied' "validate"
done
can postgres "SELECT * FROM nextcrm_migrate_all('migrator_dump')" "run a migration"
# A target table the migrator does not own (Users, given to crm_owner; the
# migrator keeps its row privileges, not REFERENCES): the keys that reference
# it stay in place during the run, since the migrator could drop them (it owns
# their tables) but not add them back; the run used to end failed
# ("permission denied for table Users") with those keys gone.
fkeys="SELECT count(*) FILTER (WHERE convalidated) || '/' || count(*) FROM pg_constraint
        WHERE contype = 'f' AND connamespace = 'public'::regnamespace"
fkeys_before=$(q -d $db -c "$fkeys")
q -d $db -c 'ALTER TABLE "Users" OWNER TO crm_owner' \
    -c 'GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON "Users" TO crm_migrator' >/dev/null
can crm_migrator "SELECT * FROM nextcrm_migrate_all('migrator_dump', restart => true)" \
    "run a migration again with a target table it does not own"
is "$(q -d $db -c "$fkeys")|$(q -d $db -c "SELECT count(*) FROM nextcrm_migration.deferred_constraint")" \
    "$fkeys_before|0" "after that run every foreign key is there and validated, none left recorded"
q -d $db -c 'ALTER TABLE "Users" OWNER TO crm_migrator' >/dev/null
# The functions name a server: they need USAGE on it (dblink's rule), or a
# role allowed to migrate could read any server's dump directory or use a
# PUBLIC user mapping of a server it was never granted.
q -d $db >/dev/null <<'SQL'
CREATE SERVER postgres_local FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri 'mongodb://127.0.0.1:1/', database 'nextcrm', server_selection_timeout_ms '500');
CREATE USER MAPPING FOR PUBLIC SERVER postgres_local OPTIONS (username 'u', password 'p');
SQL
for call in "nextcrm_mongo_collections('postgres_dump')" "nextcrm_mongo_collections('postgres_local')" \
    "nextcrm_validation_source('postgres_dump')" "nextcrm_validate('postgres_dump')" \
    "nextcrm_migrate_table('postgres_dump', 'Users')" "nextcrm_retry_errors('postgres_dump')"; do
    cannot crm_migrator "SELECT * FROM $call" 'permission denied for foreign server postgres_' \
        "use a server it has no USAGE on: $call"
done
q -d $db -c "GRANT USAGE ON FOREIGN SERVER postgres_dump TO crm_migrator" >/dev/null
can crm_migrator "SELECT count(*) FROM nextcrm_mongo_collections('postgres_dump')" \
    "list the collections of a server it was granted USAGE on"

# A view's owner's user mapping (postgres_fdw's rule): crm_viewer reads a
# live foreign table only through crm_migrator's view, with crm_migrator's
# mapping; crm_viewer has none of its own.
PGUSER=crm_migrator q -d $db >/dev/null <<SQL
CREATE SERVER migrator_local FOREIGN DATA WRAPPER nextcrm_mongo_fdw
  OPTIONS (uri 'mongodb://127.0.0.1:1/', database 'nextcrm', server_selection_timeout_ms '500',
           connect_timeout_ms '500');
CREATE USER MAPPING FOR crm_migrator SERVER migrator_local OPTIONS (username 'u', password 'p');
CREATE FOREIGN TABLE live_users (_id text) SERVER migrator_local OPTIONS (collection 'Users');
CREATE VIEW live_users_view AS SELECT * FROM live_users;
GRANT SELECT ON live_users_view TO crm_viewer;
SQL
ok $? "a view over a live foreign table, owned by the migrator"
cannot crm_viewer "SELECT * FROM live_users" 'permission denied for foreign table live_users' \
    "read the foreign table directly"
got=$(as crm_viewer "SET nextcrm_mongo_fdw.pushdown = off; SELECT * FROM live_users_view")
unlike() { [[ ! $1 =~ $2 ]]; ok $? "$3 ($1)"; }
unlike "$got" 'user mapping not found' "crm_viewer's query through the view uses the view owner's user mapping"
like "$got" 'could not|MongoDB|timeout|connect|resolve|selection' \
    "and gets as far as connecting with it"

q -c "DROP DATABASE $db" >/dev/null
for r in crm_owner crm_migrator crm_nobody crm_viewer; do q -c "DROP ROLE $r" >/dev/null; done
done_testing
