#!/usr/bin/env bash
# The NextCRM application on the migrated database (issue 14), with the
# fixture app test/app-fixture:
#   - scripts/check-app reports exactly the fixture's MongoDB-era call sites
#     (the lines marked "// check-app: KIND") and nothing in its compatible part;
#   - the compatible part compiles against the client generated from
#     prisma/schema.prisma, and its reads and writes, run through Prisma Client
#     (engineType "client" + @prisma/adapter-pg) on a database the extension
#     migrated from generated data, give what SQL gives;
#   - the MongoDB-era shapes fail as docs/MIGRATING.md says, and its
#     statements on `not`, case and sorting hold.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"
. "$NEXTCRM_ROOT/test/lib/schema.sh"
. "$NEXTCRM_ROOT/scripts/lib/prisma.sh"

fixture=$NEXTCRM_ROOT/test/app-fixture
# ok, and on failure the command's output as TAP comments.
ok_or_show() { # status description output
    ok "$1" "$2"
    (($1 == 0)) || printf '# %s\n' "${3//$'\n'/$'\n'# }" | head -12
}
work=$(mktemp -d)
gen=$PRISMA_DIR/node_modules/.app-fixture-$$
trap 'rm -rf "$work" "$gen"' EXIT
chmod 755 "$work"

# --- the checker ------------------------------------------------------------------
out=$("$NEXTCRM_ROOT/scripts/check-app" "$fixture" 2>&1)
is "$?" 1 "check-app on the fixture exits 1 (incompatible call sites found)"
printf '%s\n' "$out" | sed 's/^/# /'
got=$(grep -E '^src/[^:]+:[0-9]+: ' <<<"$out" | sed -E 's/^([^:]+:[0-9]+): ([a-z -]+):.*/\1 \2/' | sort)
want=$(cd "$fixture" && grep -rnE '// check-app: ' src |
    sed -E 's/^([^:]+:[0-9]+):.*\/\/ check-app: (.*)$/\1 \2/' | sort)
is "$got" "$want" "check-app reports exactly the marked lines, each with its kind"
like "$(tail -1 <<<"$out")" "^$(wc -l <<<"$want") incompatible call sites$" "and counts them"
like "$out" 'documents.ts:7: m-n relation: accountsIDs: \{ has: id \} -> accounts: \{ some: \{ id \} \}' \
    "an m-n filter gets its changed form"
like "$out" 'contacts.ts:8: loose reference: createdBy: userId -> createdBy_ref: \{ connect: \{ id: userId \} \}' \
    "a loose reference beside a connect gets its changed form (creating a contact)"
like "$out" 'contacts.ts:22: loose reference: updatedBy: userId -> updatedBy_ref: \{ connect: \{ id: userId \} \}' \
    "and so does editing a contact"

# --- docs/MIGRATING.md §8: the app's own schema ---------------------------------
# NextCRM's MongoDB-era schema names the mongodb provider: with a postgresql://
# DATABASE_URL alone Prisma refuses it (P1012); this project's schema copied
# into the app takes it.
mkdir -p "$work/app/prisma"
printf '%s\n' 'generator client {' '  provider = "prisma-client-js"' '}' '' \
    'datasource db {' '  provider = "mongodb"' '  url      = env("DATABASE_URL")' '}' '' \
    'model Users {' '  id    String @id @default(auto()) @map("_id") @db.ObjectId' \
    '  email String @unique' '}' >"$work/app/prisma/schema.prisma"
app_validate() {
    (cd "$work/app" && DATABASE_URL=postgresql://localhost/nextcrm \
        "$PRISMA_DIR/node_modules/.bin/prisma" validate --schema prisma/schema.prisma 2>&1)
}
out=$(app_validate)
is "$?" 1 "the app's MongoDB-era schema with a postgresql:// DATABASE_URL fails"
like "$out" 'P1012' "with P1012"
like "$out" 'the URL must start with the protocol `mongo`' "because the provider is mongodb"
cp "$PRISMA_DIR/schema.prisma" "$work/app/prisma/schema.prisma"
out=$(app_validate)
ok_or_show $? "this project's schema.prisma copied into the app validates with that URL" "$out"

mkdir "$work/compatible"
cp -r "$fixture/tsconfig.json" "$fixture/src" "$work/compatible/"
rm -r "$work/compatible/src/legacy"
# One run (each costs a client generation and a type check): beside the
# compatible part, a file with a type error that involves no Prisma call and
# an import of a package that is not installed.
printf 'import pad from "no-such-package";\nexport const x: number = "text";\nexport const y = pad;\n' \
    >"$work/compatible/src/unrelated.ts"
out=$("$NEXTCRM_ROOT/scripts/check-app" "$work/compatible" 2>&1)
is "$?" 0 "check-app on the fixture without src/legacy exits 0"
is "$(tail -1 <<<"$out")" "0 incompatible call sites" "and reports nothing"
like "$out" "note: 1 type errors that involve no Prisma call or type were not counted" \
    "an application type error without Prisma is not counted as a call site, but noted"
like "$out" "note: 1 packages not installed were treated as any \(no-such-package\)" \
    "a package that is not installed is noted"
"$NEXTCRM_ROOT/scripts/check-app" "$work/no-such-app" >/dev/null 2>&1
is "$?" 2 "check-app on a missing directory exits 2"
echo '{ "extends": "./missing.json" }' >"$work/compatible/tsconfig.json"
out=$("$NEXTCRM_ROOT/scripts/check-app" "$work/compatible" 2>&1)
is "$?" 2 "a tsconfig.json that cannot be read makes check-app exit 2"
like "$out" "check-app: tsconfig.json: Cannot read file" "naming the problem"
[[ -z $(ls -A "$PRISMA_DIR/node_modules" | grep '^\.check-app') ]]
ok $? "check-app leaves no generated client behind"

# --- a migrated database ----------------------------------------------------------
"$BUILD_DIR/nextcrm_gen" --docs 3000 --seed 14 --uri "$MONGO_URI" --database app_fixture \
    --manifest "$work/manifest.json" 2>/dev/null
ok $? "generated 3000 documents into FerretDB"
db=app_fixture_$$
make_target "$db" "uri '$MONGO_URI', database 'app_fixture'"
q -d "$db" -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1
ok $? "nextcrm_migrate_all() migrates them"
is "$(q -d "$db" -c "SELECT status FROM nextcrm_migration.run")" done "the run is complete"
is "$(q -d "$db" -c "SELECT count(*) > 0 FROM \"tasksComments\" WHERE assigned_crm_account_task IS NOT NULL")" t \
    "the generated CRM-task comments arrived in assigned_crm_account_task"

# An ICU (en-US) database with the schema, for the sorting statement.  The
# PostgreSQL 16-18 trees the tests use are built without ICU (Debian's 15 has
# it): there the statement cannot be measured, and the test proves instead
# that such a server refuses an ICU database rather than sorting otherwise.
icu=app_fixture_icu_$$
# Which it is comes from the build's configure options (pg_collation is no
# guide: 16 lists an ICU "unicode" collation even in a build without ICU).
configure=$("${PG_CONFIG:?}" --configure)
has_icu=f
[[ $configure == *"'--with-icu'"* ]] && has_icu=t
icu_out=$(q -c "CREATE DATABASE $icu TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'" 2>&1)
icu_status=$?
icu_url=
if [[ $has_icu == t ]]; then
    ok $icu_status "an ICU en-US database created"
    for m in "$PRISMA_DIR"/migrations/*/migration.sql; do
        PGOPTIONS='-c client_min_messages=warning' q -d "$icu" -f "$m" >/dev/null || echo "# $m failed"
    done
    icu_url=$(schema_db_url "$icu")
else
    like "$icu_out" "ICU is not supported in this build" \
        "this server has no ICU, and refuses an ICU database"
fi

# --- the fixture, compiled against the client, run on it -----------------------
mkdir -p "$gen"
sed 's/^  provider = "prisma-client-js"$/&\n  engineType = "client"\n  output     = "client"/' \
    "$PRISMA_DIR/schema.prisma" >"$gen/schema.prisma"
out=$(DATABASE_URL=$(schema_db_url "$db") prisma_cli generate --schema "$gen/schema.prisma" 2>&1)
ok_or_show $? "prisma generate writes the client (engineType \"client\")" "$out"
tsc=$PRISMA_DIR/node_modules/.bin/tsc
tsconfig() { # out-dir include...
    local out=$1 inc
    shift
    inc=$(for f in "$@"; do printf '"%s/src/%s",' "$fixture" "$f"; done)
    cat <<JSON
{ "extends": "$fixture/tsconfig.json",
  "compilerOptions": { "outDir": "$out", "rootDir": "$fixture/src", "baseUrl": "$fixture",
    "paths": { "@prisma/client": ["$gen/client"],
               "@prisma/client/*": ["$PRISMA_DIR/node_modules/@prisma/client/*"] } },
  "include": [${inc%,}] }
JSON
}
tsconfig "$work/dist" 'crm/**/*.ts' projects.ts ids.ts >"$work/tsconfig.compatible.json"
out=$("$tsc" -p "$work/tsconfig.compatible.json" 2>&1)
ok_or_show $? "the compatible part (src/crm, src/projects.ts) compiles without an error" "$out"
tsconfig "$work/dist" 'legacy/**/*.ts' >"$work/tsconfig.legacy.json"
"$tsc" -p "$work/tsconfig.legacy.json" >/dev/null 2>&1
is "$?" 2 "src/legacy does not compile (emitted anyway, to run it)"

out=$(DATABASE_URL=$(schema_db_url "$db") ICU_DATABASE_URL=$icu_url \
    NODE_PATH=$PRISMA_DIR/node_modules node "$NEXTCRM_ROOT/test/prisma/app-catalogue.cjs" \
    "$gen/client" "$work/dist" 2>&1)
ok_or_show $? "the catalogue runs to the end" "$out"
val() { sed -n "s/^$1=//p" <<<"$out"; }

is "$(val ids.all_found)" true "the database has a record of every kind the catalogue reads"
for name in account_detail contact_detail opportunity_detail documents_of_account \
    documents_of_contact documents_of_opportunity documents_of_crm_task opportunities_of_contact \
    contacts_of_account account_watchers accounts_watched_by crm_task_detail task_detail \
    board_detail boards_watched_by dashboard_counts; do
    is "$(val "read.$name")" same "read $name: Prisma Client gives what SQL gives"
done
for name in account_detail contact_detail opportunity_detail documents_of_account \
    documents_of_contact documents_of_opportunity documents_of_crm_task opportunities_of_contact \
    contacts_of_account account_watchers accounts_watched_by crm_task_detail task_detail \
    board_detail boards_watched_by dashboard_counts; do
    holds "$(val "read.$name.size") > 0" "read $name returns related records ($(val "read.$name.size"))"
done
is "$(val write.create_contact)" "[true,true,true,true]" \
    "a contact created with createdBy_ref/updatedBy_ref connect beside assigned_accounts connect"
is "$(val write.update_contact)" "[true,true,true]" \
    "a contact edited with updatedBy_ref connect beside assigned_accounts connect"
is "$(val write.delete_user)" "[true,true]" \
    "deleting that user through Prisma sets the contact's updatedBy NULL (ON DELETE SET NULL)"
is "$(val write.dangling_created_by)" P2003 "a createdBy naming no user is refused with P2003 (its foreign key)"
like "$(val write.dangling_created_by.message)" 'crm_Accounts_createdBy_fkey' "naming the foreign key"
is "$(val write.dangling_created_by.rows)" 0 "and nothing was written"
is "$(val write.create_account)" "[true,true]" "an account created with createdBy/updatedBy as scalars"
is "$(val write.create_account_with_contact)" "[true,1,1]" \
    "createdBy as a scalar beside a nested create of contacts (their key, not the account's)"
is "$(val write.watch_account)/$(val write.watch_account.read)/$(val write.unwatch_account)" 1/true/0 \
    "watching an account writes _AccountWatchers, reads back, unwatching removes the row"
is "$(val write.crm_comment)/$(val write.crm_comment.read)" "[true,true]/true" \
    "a CRM-task comment written to assigned_crm_account_task shows on the CRM task page"
is "$(val write.task_comment)/$(val write.task_comment.read)" "[true,true]/true" \
    "a project-task comment written to task (unchanged) shows on the task page"
is "$(val write.watch_board)" 1 "watching a board writes _BoardWatchers"
is "$(val write.delete_crm_task)" "[0,0]" "deleting a CRM task with its comments leaves neither"

is "$(val legacy.m_n_filter)" PrismaClientValidationError "MongoDB-era: accountsIDs: { has } is rejected"
is "$(val legacy.watchers_filter)" PrismaClientValidationError "MongoDB-era: watching_boardsIDs: { has } is rejected"
is "$(val legacy.loose_reference_beside_connect)" PrismaClientValidationError \
    "MongoDB-era: createdBy as a scalar beside a connect is rejected"
is "$(val legacy.loose_reference_untyped)" PrismaClientValidationError \
    "MongoDB-era: the same with untyped values is rejected too (check-app finds it without types)"
is "$(val legacy.loose_reference_scalars_only)" ran "MongoDB-era: createdBy as a scalar without a connect works"
is "$(val legacy.crm_comment_write)" P2003 "MongoDB-era: a CRM task's id in tasksComments.task violates its foreign key"
is "$(val legacy.crm_comment_read)" 0 "MongoDB-era: reading a CRM task's comments by task finds none"
holds "$(val legacy.crm_comment_read.sql) > 0" \
    "although it has $(val legacy.crm_comment_read.sql) in assigned_crm_account_task"

for key in not.prisma not.prisma_or_null not.sql_neq not.sql_distinct not.nulls notin.prisma; do
    like "$(val $key)" '^[0-9]+$' "$key is a count ($(val $key))"
done
nulls=$(val not.nulls)
holds "nulls > 0" "some accounts have a NULL status ($nulls)"
is "$(val not.prisma)" "$(val not.sql_neq)" "status: { not: 'Active' } counts what SQL's <> counts"
is "$(($(val not.sql_distinct) - $(val not.prisma)))" "$nulls" "which leaves out exactly the NULL rows"
is "$(val not.prisma_or_null)" "$(val not.sql_distinct)" "OR: [{ not }, { status: null }] counts them too"
is "$(val notin.prisma)" "$(val not.prisma)" "notIn leaves out the NULL rows as well"
is "$(val case.equals_exact)" 1 "the account 'ACME Catalogue Corp' is there"
is "$(val case.equals)/$(val case.contains)/$(val case.startsWith)/$(val case.endsWith)/$(val case.in)" \
    0/0/0/0/0 "equals, contains, startsWith, endsWith and in are case-sensitive"
is "$(val case.contains_insensitive)/$(val case.equals_insensitive)" 1/1 \
    "mode: 'insensitive' matches across case (contains and equals)"
is "$(val oid.find_unique)" DriverAdapterError "findUnique with a MongoDB ObjectId as id throws"
like "$(val oid.find_unique.message)" '^invalid input syntax for type uuid' "because it is no uuid"
is "$(val oid.mapped_is_account)" true "nextcrm_map_oid() gives the record's uuid for its old ObjectId"
is "$(val sort.db_collation)" C.UTF-8 "the rig's database collation is C.UTF-8"
is "$(val sort.prisma)" '["Banana","Zebra","apple","banana","Äpfel","ápple"]' \
    "orderBy on text there is code-point order: $(val sort.prisma)"
is "$(val sort.code_points)" "$(val sort.prisma)" "which is JavaScript's default (code unit) sort of the same words"
if [[ $has_icu == t ]]; then
    is "$(val sort.icu_prisma)" '["Äpfel","apple","ápple","banana","Banana","Zebra"]' \
        "on an ICU en-US database it is en-US order: $(val sort.icu_prisma)"
    is "$(val sort.icu_en)" "$(val sort.icu_prisma)" "which is Intl.Collator('en-US')'s order"
fi
# The orders docs/MIGRATING.md states are the ones measured.
doc_order() { grep -F "$1" "$NEXTCRM_ROOT/docs/MIGRATING.md" | sed 's/.*: //' | tr -d '`' | sed 's/, /,/g'; }
is "$(doc_order 'created with `C.UTF-8`:')" "$(val sort.prisma | tr -d '[]"')" "the guide states the C.UTF-8 order measured"
if [[ $has_icu == t ]]; then
    is "$(doc_order 'ICU `en-US` database:')" "$(val sort.icu_prisma | tr -d '[]"')" \
        "the guide states the ICU order measured"
fi

q -c "DROP DATABASE $db" >/dev/null && q -c "DROP DATABASE IF EXISTS $icu" >/dev/null
ok $? "databases dropped"
done_testing
