#!/usr/bin/env bash
# NextCRM v0.21.2 as the target (profiles/nextcrm-v0.21.2): the run reads the
# release's own 44 migrations from the app checkout (app_dir) and refuses a
# checkout whose migrations differ, naming the first difference; it refuses
# a server without what v0.21.2 needs (pgvector; PostgreSQL 17+) before it
# writes anything; the database it builds has the 88 tables of the chain,
# `_prisma_migrations` lists all 44 with Prisma's checksums, Prisma reports it
# up to date, and its schema is the one the migrations build with psql.
# PostgreSQL 17 and 18 only (test/integration/versions: pg17+).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"
. "$NEXTCRM_ROOT/scripts/lib/prisma.sh"
. "$NEXTCRM_ROOT/test/lib/schema.sh"

app=$NEXTCRM_APP_V0212
profile=nextcrm-v0.21.2
profiles=$("$PG_CONFIG" --sharedir)/extension/nextcrm_mongo_fdw/profiles
work=$RIG_DIR/v0212_target_$$
installed=()
cleanup() {
    local p
    for p in "${installed[@]}"; do rm -rf "${profiles:?}/$p"; done
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work"

[[ -d "$app/prisma/migrations" ]]
ok $? "the release's prisma/ folder is at $app (NEXTCRM_APP_V0212)"
is "$(find "$app/prisma/migrations" -mindepth 1 -maxdepth 1 -type d | wc -l)" 44 \
    "it holds 44 migration folders"
[[ -f "$profiles/$profile/profile.conf" && ! -e "$profiles/$profile/migrations" ]]
ok $? "make install installed the profile, without migrations of its own"

# Damaged copies of the checkout, each with one difference.
copy_app() { # name
    mkdir -p "$work/$1/prisma" && cp -R "$app/prisma/migrations" "$work/$1/prisma/" &&
        chmod -R u+w "$work/$1"
}
copy_app missing && rm -r "$work/missing/prisma/migrations/20260406120000_cleanup_dead_models_and_bigint"
copy_app extra && mkdir "$work/extra/prisma/migrations/20260801000000_local" &&
    echo 'SELECT 1;' >"$work/extra/prisma/migrations/20260801000000_local/migration.sql"
copy_app renamed && mv "$work/renamed/prisma/migrations/20260325000001_drop_system_modules_enabled" \
    "$work/renamed/prisma/migrations/20260325000000_drop_system_modules_enabled"
copy_app changed && echo '-- local edit' \
    >>"$work/changed/prisma/migrations/20260415164939_invoices_module/migration.sql"
copy_app linked && mv "$work/linked/prisma/migrations/0_init/migration.sql" "$work/init.sql" &&
    ln -s "$work/init.sql" "$work/linked/prisma/migrations/0_init/migration.sql"
ok $? "damaged copies of the checkout are made"
chmod -R a+rX "$work"

# A tiny source: the shared mongodump fixture's directory shape.
db=v0212_target_$$
make_target "$db" "dump_dir '$NEXTCRM_ROOT/test/fixtures/mongodump/dir/nextcrm'"
migrate() { # app_dir [profile] → the run's output, errors included
    q -d "$db" -c "SET client_min_messages = warning" \
        -c "SELECT collection, outcome FROM nextcrm_migrate_all('src', profile => '${2:-$profile}', app_dir => '$1')" 2>&1
}
nothing_written() { # what
    is "$(q -d "$db" -c "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace")
$(q -d "$db" -c "SELECT count(*) FROM nextcrm_migration.run")" "0
0" "$1: nothing is written"
}
expected() { # what detail → the message lines
    printf 'ERROR:  the migrations in "%s" are not those of NextCRM v0.21.2\nDETAIL:  %s\nHINT:  Point app_dir at an unchanged checkout of NextCRM v0.21.2; profile "nextcrm-v0.21.2" was made for its migrations only.' \
        "$work/$1/prisma/migrations" "$2"
}

out=$(q -d "$db" -c "SELECT count(*) FROM nextcrm_migrate_all('src', profile => '$profile')" 2>&1)
like "$out" "ERROR:  profile \"$profile\" needs app_dir" "without app_dir the profile is refused"
like "$out" "HINT:  Pass app_dir => '<the checkout>', the directory holding prisma/" \
    "the hint says what app_dir is"
is "$(migrate "$work/missing")" "$(expected missing 'Migration "20260406120000_cleanup_dead_models_and_bigint" is missing.')" \
    "a checkout without one migration folder is refused, naming it"
is "$(migrate "$work/extra")" "$(expected extra 'Folder "20260801000000_local" is not a migration of the profile.')" \
    "a checkout with an extra folder is refused, naming it"
is "$(migrate "$work/renamed")" "$(expected renamed 'Folder "20260325000000_drop_system_modules_enabled" stands where the profile expects "20260325000001_drop_system_modules_enabled" (renamed?).')" \
    "a renamed folder is refused, naming both names"
out=$(migrate "$work/changed")
like "$out" "DETAIL:  Its 20260415164939_invoices_module/migration.sql has sha256 [0-9a-f]{64}, the profile expects 4b3f78fc0d0662790dbe0a2009c401ee7f67a0cd64d709b464f1d6ebd3a0eb24\." \
    "a changed migration.sql is refused by its checksum"
is "$(migrate "$work/linked")" "$(expected linked 'Its 0_init/migration.sql is a symbolic link.')" \
    "a migration.sql that is a symbolic link is not followed"
out=$(migrate "$work/nowhere")
like "$out" "ERROR:  could not open app directory \"$work/nowhere\": No such file or directory" \
    "a directory that does not exist is named"
out=$(migrate "$work")
like "$out" "ERROR:  app directory \"$work\" has no readable prisma/migrations" \
    "a directory without prisma/migrations is refused"
out=$(q -d "$db" -c "SELECT count(*) FROM nextcrm_migrate_all('src', app_dir => '$app')" 2>&1)
like "$out" 'ERROR:  profile "nextcrm" does not take an app_dir' \
    "the nextcrm profile, whose migrations are its own, refuses an app_dir"
nothing_written "after the refusals"

# What the target needs of the server, checked before anything is written:
# copies of the profile that need what this server cannot give.
for variant in "v0212_too_new:s/^requires_postgresql = 17$/requires_postgresql = 99/" \
    "v0212_no_ext:s/^requires_extension = vector$/requires_extension = nextcrm_no_such_extension/"; do
    name=${variant%%:*}
    rm -rf "${profiles:?}/$name" && cp -R "$profiles/$profile" "$profiles/$name" &&
        sed -i "s/^name = $profile\$/name = $name/; ${variant#*:}" "$profiles/$name/profile.conf"
    installed+=("$name")
done
out=$(migrate "$app" v0212_too_new)
like "$out" 'ERROR:  profile "v0212_too_new" needs PostgreSQL 99 or later' \
    "a server older than the target needs is refused"
like "$out" "DETAIL:  This server is PostgreSQL $("$PG_CONFIG" --version | sed -nE 's/^PostgreSQL ([0-9]+).*/\1/p'); NextCRM v0.21.2 requires 99\+\." \
    "naming the server's version"
out=$(migrate "$app" v0212_no_ext)
like "$out" 'ERROR:  extension "nextcrm_no_such_extension" is not available on this server' \
    "a server without an extension the migrations create is refused"
like "$out" 'HINT:  Install the extension into this PostgreSQL installation, then run the migration again\.' \
    "with what to do"
nothing_written "after the server's refusals"

# pgvector is not a trusted extension: a database owner who is no superuser
# cannot create it, so the run refuses before it starts, until a superuser did.
owner=v0212_owner_$$
q -c "CREATE ROLE $owner LOGIN" >/dev/null
q -c "ALTER DATABASE $db OWNER TO $owner" >/dev/null
q -d "$db" >/dev/null <<SQL
GRANT pg_read_server_files TO $owner;
GRANT USAGE ON FOREIGN SERVER src TO $owner;
CREATE USER MAPPING FOR $owner SERVER src;
GRANT EXECUTE ON FUNCTION nextcrm_migrate_all(name, boolean, text, text) TO $owner;
GRANT USAGE ON SCHEMA nextcrm_migration TO $owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA nextcrm_migration TO $owner;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA nextcrm_migration TO $owner;
GRANT CREATE ON SCHEMA public TO $owner;
SQL
ok $? "a database owner $owner who is no superuser gets the documented migration privileges"
out=$(PGUSER=$owner migrate "$app")
like "$out" 'ERROR:  extension "vector" must be created in this database by a superuser first' \
    "the owner's run is refused while vector does not exist in the database"
like "$out" 'HINT:  As a superuser, run CREATE EXTENSION vector; in this database, then run the migration again\.' \
    "the hint gives the statement"
nothing_written "after the owner's refusal"
q -c "REVOKE pg_read_server_files FROM $owner" >/dev/null
out=$(PGUSER=$owner migrate "$app")
like "$out" 'ERROR:  only superuser or a role with privileges of the pg_read_server_files role may name an app_dir' \
    "naming an app_dir is file_fdw's privilege"
q -c "GRANT pg_read_server_files TO $owner" >/dev/null

# The run: a superuser creates vector, the owner migrates.
q -d "$db" -c "CREATE EXTENSION vector" >/dev/null
out=$(PGUSER=$owner migrate "$app/prisma")
ok $? "once vector exists, the owner's run applies the 44 migrations (app_dir => the prisma/ folder)"
printf '%s\n' "$out" | sed 's/^/# /' | head -40
is "$(grep -vcE '\|done(: [0-9]+ kept aside)?$' <<<"$out")" 0 "every collection of the run is done"

is "$(q -d "$db" -c "SELECT count(*) FILTER (WHERE relname <> '_prisma_migrations'), count(*) FILTER (WHERE relname = '_prisma_migrations')
                     FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'")" "88|1" \
    "the database has the 88 tables of v0.21.2's chain and _prisma_migrations"
is "$(q -d "$db" -c "SELECT count(*) FROM pg_type t WHERE t.typnamespace = 'public'::regnamespace AND t.typtype = 'e'")" 25 \
    "and its 25 enum types"
is "$(q -d "$db" -c "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relowner <> '$owner'::regrole AND relkind IN ('r', 'i', 'S')")" 0 \
    "every table, index and sequence belongs to the owner who ran the migration"
expected_history=$(for d in "$app"/prisma/migrations/*/; do
    printf '%s|%s|1|true\n' "$(basename "$d")" "$(sha256sum "$d/migration.sql" | cut -d' ' -f1)"
done)
is "$(q -d "$db" -c "SELECT migration_name || '|' || checksum || '|' || applied_steps_count || '|' || (finished_at IS NOT NULL AND rolled_back_at IS NULL AND logs IS NULL)
                     FROM _prisma_migrations ORDER BY migration_name")" "$expected_history" \
    "_prisma_migrations records all 44, each with the sha256 of its migration.sql, finished"
is "$(q -d "$db" -c "SELECT count(*) FROM _prisma_migrations WHERE migration_name = '20260404120000_add_currency_support'")" 1 \
    "including 20260404120000, whose row the chain's 20260404150000 deletes: as a second deploy leaves it"
is "$(q -d "$db" -c "SELECT extversion FROM pg_extension WHERE extname = 'vector'")" 0.8.6 \
    "vector is the installation's pgvector"

# The same schema as the chain applied with psql, one file at a time as
# Prisma's engine sends it (UPSTREAM-v0.21.2.md §6.2).
ref=v0212_ref_$$
q -c "CREATE DATABASE $ref" >/dev/null
for m in "$app"/prisma/migrations/*/migration.sql; do
    PGOPTIONS='-c client_min_messages=warning' q -d "$ref" -c "$(cat "$m")" >/dev/null || break
done
ok $? "the reference database is built from the 44 files with psql"
# The chain's own seed rows (UPSTREAM-v0.21.2 §5.1) are all there, as the
# chain writes them; the lookups may have more, added from the source's
# values (the mapping's lookups).
seeds() { # db → one line per seeded row, without generated ids and times
    q -d "$1" <<'SQL'
SELECT 'Currency|' || code || '|' || name || '|' || symbol || '|' || "isEnabled" || '|' || "isDefault" FROM "Currency"
UNION ALL SELECT 'ExchangeRate|' || "fromCurrency" || '|' || "toCurrency" || '|' || rate || '|' || source FROM "ExchangeRate"
UNION ALL SELECT 'crm_SystemSettings|' || key || '|' || value FROM "crm_SystemSettings"
UNION ALL SELECT 'crm_Contact_Types|' || name FROM "crm_Contact_Types"
UNION ALL SELECT 'crm_Lead_Statuses|' || name FROM "crm_Lead_Statuses"
UNION ALL SELECT 'crm_Lead_Types|' || name FROM "crm_Lead_Types";
SQL
}
seeds "$ref" | LC_ALL=C sort >"$work/ref-seeds" && seeds "$db" | LC_ALL=C sort >"$work/migrated-seeds"
is "$(wc -l <"$work/ref-seeds")" 20 "the chain seeds 20 rows (3 currencies, 6 rates, 2 settings, 9 lookup names)"
is "$(comm -23 "$work/ref-seeds" "$work/migrated-seeds")" "" "each is in the migrated database, unchanged"
schema_of() { # db → pg_dump -s of public without the history table, ownership and ACLs
    pg_dump -s -O -x -n public -T public._prisma_migrations "$1" |
        grep -vE '^(--|\\restrict|\\unrestrict|SET |SELECT pg_catalog.set_config)' | grep .
}
schema_of "$ref" >"$work/ref.sql" && schema_of "$db" >"$work/migrated.sql"
ok $? "pg_dump -s of both"
is "$(diff "$work/ref.sql" "$work/migrated.sql" | head -20)" "" \
    "the migrated database's schema is exactly the one the migrations build"
is "$(wc -l <"$work/migrated.sql" | awk '{ print ($1 > 1000) }')" 1 "(and that schema is not empty)"

# Prisma's view: v0.21.2's schema.prisma and migrations, through this
# repository's pinned Prisma 6.19.3 and its offline configuration (Prisma
# 7.6's CLI needs a native engine it downloads; UPSTREAM-v0.21.2.md §6.4).
p6=$work/prisma6
mkdir -p "$p6" && cp "$PRISMA_DIR/prisma.config.ts" "$PRISMA_DIR/package.json" "$p6/" &&
    ln -s "$PRISMA_DIR/node_modules" "$p6/node_modules" && cp -R "$app/prisma/migrations" "$p6/" &&
    sed 's/^\(\s*provider\s*=\s*"postgresql"\)$/\1\n  url      = env("DATABASE_URL")/' \
        "$app/prisma/schema.prisma" >"$p6/schema.prisma"
ok $? "a Prisma 6.19.3 folder with v0.21.2's schema.prisma and migrations"
status=$(cd "$p6" && DATABASE_URL=$(schema_db_url "$db") ./node_modules/.bin/prisma migrate status 2>&1)
is "$?" 0 "prisma migrate status exits 0"
like "$status" "44 migrations found in prisma/migrations|44 migrations found" "it reads the 44 migrations"
like "$status" "Database schema is up to date!" "and reports the database up to date"
printf '%s\n' "$status" | grep -v '^$' | tail -3 | sed 's/^/# /'
deploy=$(cd "$p6" && DATABASE_URL=$(schema_db_url "$db") ./node_modules/.bin/prisma migrate deploy 2>&1)
is "$?" 0 "prisma migrate deploy exits 0"
like "$deploy" "No pending migrations to apply." "and has nothing to apply"
is "$(q -d "$db" -c "SELECT count(*) FROM _prisma_migrations")" 44 "the history still has 44 rows"
# A migration that is not recorded is reported, so "up to date" means something.
q -d "$db" -c "DELETE FROM _prisma_migrations WHERE migration_name = '20260719203102_aqunama_p4c_scope_level'" >/dev/null
status=$(cd "$p6" && DATABASE_URL=$(schema_db_url "$db") ./node_modules/.bin/prisma migrate status 2>&1)
is "$?" 1 "with one row removed, prisma migrate status exits 1"
like "$status" "20260719203102_aqunama_p4c_scope_level" "and names the migration not yet applied"

q -c "DROP DATABASE $db" >/dev/null
q -c "DROP DATABASE $ref" >/dev/null
q -c "DROP ROLE $owner" >/dev/null

done_testing
