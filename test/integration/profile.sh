#!/usr/bin/env bash
# Profiles: a second, deliberately small profile (test/profiles/mini: three
# collections, an enum, a join table, its own migration) is installed into
# the share directory and migrates through the same module as the nextcrm
# profile, from a mongodump written from test/profiles/mini-dump; it
# validates; the run records it and a resume with another profile is
# refused.  A profile name is a name, not a path, and an inconsistent copy of
# the profile is refused with the file, line and field.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

profiles=$("$PG_CONFIG" --sharedir)/extension/nextcrm_mongo_fdw/profiles
work=$RIG_DIR/profile_$$
installed=()
cleanup() {
    local p
    for p in "${installed[@]}"; do rm -rf "${profiles:?}/$p"; done
    rm -rf "$work"
}
trap cleanup EXIT

# Installs test/profiles/mini as profile $1, then lets $2 (a sed script on
# file $3) break it.
install_mini() { # name [sed-script file]
    rm -rf "${profiles:?}/$1"
    cp -R "$NEXTCRM_ROOT/test/profiles/mini" "$profiles/$1" || return 1
    sed -i "s/^name = mini$/name = $1/" "$profiles/$1/profile.conf" || return 1
    installed+=("$1")
    [[ -z "${2:-}" ]] || sed -i "$2" "$profiles/$1/$3"
}

install_mini mini
ok $? "the mini profile is installed into the share directory"
[[ -d "$profiles/nextcrm" ]]
ok $? "make install installed the nextcrm profile beside it"

mkdir -p "$work/dump"
for c in people projects notes; do
    "$BUILD_DIR/nextcrm_fixture" --json "$work/dump" "$c" "$NEXTCRM_ROOT/test/profiles/mini-dump/$c.json" || break
done
ok $? "the mini dump is written from its Extended JSON"
chmod -R a+rX "$work"

db=profile_mini_$$
make_target "$db" "dump_dir '$work/dump'"

out=$(q -d "$db" -c "SET client_min_messages = warning" \
        -c "SELECT collection, source_count, migrated, failed, repaired, outcome
            FROM nextcrm_migrate_all('src', profile => 'mini')" 2>&1)
# repaired counts documents: Grace (__v), project 102 (four fields), note 202.
is "$out" "people|3|3|0|1|done
projects|2|2|0|1|done
notes|3|2|1|1|done" "the mini profile migrates its three collections in dependency order"

is "$(q -d "$db" -c "SELECT profile, status FROM nextcrm_migration.run")" "mini|done" \
    "the run records its profile"
is "$(q -d "$db" -c "SELECT migration_name, checksum FROM _prisma_migrations")" \
    "20260101000000_init|$(sha256sum "$NEXTCRM_ROOT/test/profiles/mini/migrations/20260101000000_init/migration.sql" | cut -d' ' -f1)" \
    "the target was created from the profile's migration, recorded with its checksum"
is "$(q -d "$db" -c "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class
                     WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'")" \
    "_PeopleToProjects,_prisma_migrations,notes,people,projects" \
    "only the profile's tables exist: nothing of NextCRM's schema"

is "$(q -d "$db" -c "SELECT name || ':' || coalesce(email, 'NULL') || ':' || tags::text || ':' || __v
                     FROM people ORDER BY name")" "Ada:ada@example.org:{math,engines}:0
Grace:NULL:{}:0
Linus:NULL:{}:2" "text, text arrays (missing: empty) and __v (missing: 0) convert"
is "$(q -d "$db" -c "SELECT p.name || ':' || coalesce(o.name, 'NULL') || ':' || p.status || ':' || to_char(p.\"startedAt\", 'YYYY-MM-DD HH24:MI:SS.MS')
                     FROM projects p LEFT JOIN people o ON o.id = p.owner ORDER BY p.name")" \
    "Compiler:NULL:open:2023-09-12 06:06:56.000
Engine:Ada:open:2024-01-02 03:04:05.678" \
    "references resolve; a dangling one, a missing enum and a missing date (its _id's time) are repaired"
is "$(q -d "$db" -c "SELECT field || ':' || kind FROM nextcrm_migration.repairs
                     WHERE collection = 'projects' ORDER BY field")" \
    "members:dangling_ref
owner:dangling_ref
startedAt:default_applied
status:default_applied" "each repair is recorded, the member whose row is missing too"
is "$(q -d "$db" -c "SELECT count(*) FROM \"_PeopleToProjects\" j JOIN people a ON a.id = j.\"A\"
                     JOIN projects b ON b.id = j.\"B\"")" 3 \
    "the join table holds the listed pairs whose rows exist"
is "$(q -d "$db" -c "SELECT body || ':' || pinned || ':' || coalesce(rank::text, 'NULL') || ':' || coalesce(meta::text, 'NULL')
                     FROM notes ORDER BY body")" 'first:true:1:{"k": [1, 2.5, "x"]}
second:false:NULL:NULL' "booleans (missing: default), integers and jsonb convert"
is "$(q -d "$db" -c "SELECT collection || ':' || source_id || ':' || field FROM nextcrm_migration.errors")" \
    "notes:650000000000000000000203:rank" \
    "an integer beyond int4 is an error naming collection, _id and field"

out=$(q -d "$db" -c "SELECT status, count(*) FROM nextcrm_validate_strict('src', 1, 100, 'mini')
                     GROUP BY status ORDER BY status" 2>&1)
ok $? "nextcrm_validate_strict passes for the mini profile"
like "$out" '^pass\|[0-9]+$' "every check of the mini profile passes: $out"

out=$(q -d "$db" -c "SELECT count(*) FROM nextcrm_migrate_all('src')" 2>&1)
like "$out" 'ERROR:  this database holds a migration with profile "mini"' \
    "a resume with another profile is refused"
like "$out" "HINT:  Run it with profile => 'mini', or start over with restart => true\." \
    "the hint names the run's profile"
out=$(q -d "$db" -c "SELECT count(*) FROM nextcrm_migrate_table('src', 'notes')" 2>&1)
like "$out" 'ERROR:  "notes" is not a NextCRM collection' \
    "without profile, a collection is looked up in the nextcrm profile"
out=$(q -d "$db" -c "SET client_min_messages = warning" \
        -c "SELECT outcome FROM nextcrm_migrate_table('src', 'notes', true, 'mini')" 2>&1)
is "$out" "done" "a table of the run restarts with the run's profile"
is "$(q -d "$db" -c "SELECT count(*) FROM notes")" 2 "and is migrated again the same"

is "$(q -d "$db" -c "SELECT count(*), count(DISTINCT collection) FROM nextcrm_mapping('mini')")" "18|3" \
    "nextcrm_mapping(profile) returns the profile's mapping"
is "$(q -d "$db" -c "SELECT string_agg(label, ' ' ORDER BY label_position) FROM nextcrm_mapping_enums('mini')")" \
    "open closed" "and nextcrm_mapping_enums(profile) its enums"
is "$(q -d "$db" -c "SELECT string_agg(concat_ws(':', rule, \"table\", first_column, second_column), ' ' ORDER BY rule_position)
                     FROM nextcrm_profile_rules('nextcrm')")" \
    "date_range:crm_Contracts:startDate:endDate date_range:crm_Contracts:startDate:renewalReminderDate date_range:Invoices:date_created:date_due on_delete:tasksComments:task:cascade" \
    "the validator's date ranges and ON DELETE exceptions are rules of the nextcrm profile (rules.csv)"
is "$(q -d "$db" -c "SELECT string_agg(concat_ws(':', rule, \"table\", first_column, second_column), ' ')
                     FROM nextcrm_profile_rules('mini')")" "on_delete:notes:project:cascade" \
    "the mini profile's one rule: a project's notes cascade with it"
q -d "$db" -c "CREATE SCHEMA src_mini" \
    -c "IMPORT FOREIGN SCHEMA nextcrm FROM SERVER src INTO src_mini OPTIONS (profile 'mini')" >/dev/null
ok $? "IMPORT FOREIGN SCHEMA takes the profile"
is "$(q -d "$db" -c "SELECT string_agg(name, ',' ORDER BY name) FROM src_mini.people")" "Ada,Grace,Linus" \
    "its foreign tables read the dump"

# Names, not paths; only installed profiles.
for bad in '../nextcrm' 'mini/..' '.hidden' 'a b' ''; do
    out=$(q -d "$db" -c "SELECT * FROM nextcrm_mapping('$bad')" 2>&1)
    like "$out" "ERROR:  invalid profile name \"$bad\"" "\"$bad\" is refused as a profile name"
done
out=$(q -d "$db" -c "SELECT * FROM nextcrm_mapping('nope')" 2>&1)
like "$out" 'ERROR:  profile "nope" does not exist' "an unknown profile is refused"
like "$out" 'HINT:  Installed profiles: .*mini.*nextcrm' "its hint lists the installed ones"

# An inconsistent profile is refused when it is loaded, naming file, line and field.
install_mini mini_badcol 's/^people,email,email,text,people,email,/people,email,email,text,people,mail,/' mapping.csv
out=$(q -d "$db" -c "SELECT count(*) FROM nextcrm_mapping('mini_badcol')" 2>&1)
like "$out" 'ERROR:  invalid profile "mini_badcol": mapping.csv line 11, field "target_column": column "mail" of table "people" is not created by the profile.s migrations' \
    "a column its migrations do not create"
install_mini mini_badref 's/,uuid,projects,yes,/,uuid,projcts,yes,/' mapping.csv
out=$(q -d "$db" -c "SELECT count(*) FROM nextcrm_migrate_all('src', true, 'mini_badref')" 2>&1)
like "$out" 'ERROR:  invalid profile "mini_badref": mapping.csv line 3, field "ref_model": unknown collection "projcts"' \
    "a reference to an unknown collection"
install_mini mini_badkind 's/^notes,body,body,text,/notes,body,body,blob,/' mapping.csv
out=$(q -d "$db" -c "SELECT count(*) FROM nextcrm_validation_source('src', 1, 1, 'mini_badkind')" 2>&1)
like "$out" 'ERROR:  invalid profile "mini_badkind": mapping.csv line 4, field "kind": unknown conversion kind "blob"' \
    "an unknown conversion kind"
like "$out" "DETAIL:  The profile was read from $profiles/mini_badkind\." "the detail names the directory"
install_mini mini_badsum 's/"email" TEXT,/"email" TEXT, "phone" TEXT,/' migrations/20260101000000_init/migration.sql
out=$(q -d "$db" -c "SELECT count(*) FROM nextcrm_mapping('mini_badsum')" 2>&1)
like "$out" 'ERROR:  invalid profile "mini_badsum": profile.conf line 9, field "migration": migrations/20260101000000_init/migration.sql has sha256 [0-9a-f]{64}, the manifest lists 8c911d0c' \
    "a migration whose checksum is not the manifest's"
is "$(q -d "$db" -c "SELECT profile, status FROM nextcrm_migration.run")" "mini|done" \
    "the refused calls left the run as it was"

q -c "DROP DATABASE $db" >/dev/null
done_testing
