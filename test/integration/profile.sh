#!/usr/bin/env bash
# Profiles: a second, deliberately small profile (test/profiles/mini: three
# collections, an enum, a join table, its own migrations, and the conversion
# kinds of a reshaped target: a field and a collection kept aside, a derived
# role, a lookup through a value map the operator overrides, an exact
# numeric, a merged key) is installed into
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
for c in people projects notes secrets; do
    "$BUILD_DIR/nextcrm_fixture" --json "$work/dump" "$c" "$NEXTCRM_ROOT/test/profiles/mini-dump/$c.json" || break
done
ok $? "the mini dump is written from its Extended JSON"
chmod -R a+rX "$work"

db=profile_mini_$$
make_target "$db" "dump_dir '$work/dump'"
# The operator's value map, before the run: it wins over the profile's.
q -d "$db" -c "INSERT INTO nextcrm_migration.value_map VALUES ('stage', 'REVIEW', 'Done')" >/dev/null
ok $? "the operator fills nextcrm_migration.value_map before the run"

out=$(q -d "$db" -c "SET client_min_messages = warning" \
        -c "SELECT collection, source_count, migrated, failed, repaired, outcome
            FROM nextcrm_migrate_all('src', profile => 'mini')" 2>&1)
# repaired counts documents: every person (its derived role), every project
# that arrived (its stage looked up), notes 201 (a merge conflict) and 202;
# secrets are kept aside whole, so none is migrated.
is "$out" "people|3|3|0|3|done
projects|4|3|1|3|done
notes|3|2|1|2|done
secrets|2|0|0|0|done: 2 kept aside" "the mini profile migrates its collections in dependency order (a kept-whole collection counted as kept aside)"

is "$(q -d "$db" -c "SELECT profile, status FROM nextcrm_migration.run")" "mini|done" \
    "the run records its profile"
is "$(q -d "$db" -c "SELECT migration_name, checksum FROM _prisma_migrations")" \
    "20260101000000_init|$(sha256sum "$NEXTCRM_ROOT/test/profiles/mini/migrations/20260101000000_init/migration.sql" | cut -d' ' -f1)
20260102000000_kinds|$(sha256sum "$NEXTCRM_ROOT/test/profiles/mini/migrations/20260102000000_kinds/migration.sql" | cut -d' ' -f1)" \
    "the target was created from the profile's migrations, recorded with their checksums"
is "$(q -d "$db" -c "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class
                     WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'")" \
    "_PeopleToProjects,_prisma_migrations,notes,people,projects,stages" \
    "only the profile's tables exist: nothing of NextCRM's schema"

is "$(q -d "$db" -c "SELECT name || ':' || coalesce(email, 'NULL') || ':' || tags::text || ':' || __v
                     FROM people ORDER BY name")" "Ada:ada@example.org:{math,engines}:0
Grace:NULL:{}:0
Linus:NULL:{}:2" "text, text arrays (missing: empty) and __v (missing: 0) convert"
is "$(q -d "$db" -c "SELECT p.name || ':' || coalesce(o.name, 'NULL') || ':' || p.status || ':' || to_char(p.\"startedAt\", 'YYYY-MM-DD HH24:MI:SS.MS')
                     FROM projects p LEFT JOIN people o ON o.id = p.owner ORDER BY p.name")" \
    "Compiler:NULL:open:2023-09-12 06:06:56.000
Engine:Ada:open:2024-01-02 03:04:05.678
Parser:NULL:open:2023-09-12 06:06:56.000" \
    "references resolve; a dangling one, a missing enum and a missing date (its _id's time) are repaired"
is "$(q -d "$db" -c "SELECT field || ':' || kind FROM nextcrm_migration.repairs
                     WHERE collection = 'projects' ORDER BY field")" \
    "budget:legacy_value
members:dangling_ref
owner:dangling_ref
stage:lookup
stage:lookup
stage:lookup
stage:lookup_row_added
startedAt:default_applied
startedAt:default_applied
status:default_applied
status:default_applied" "each repair is recorded, the member whose row is missing too"
is "$(q -d "$db" -c "SELECT count(*) FROM \"_PeopleToProjects\" j JOIN people a ON a.id = j.\"A\"
                     JOIN projects b ON b.id = j.\"B\"")" 3 \
    "the join table holds the listed pairs whose rows exist"
is "$(q -d "$db" -c "SELECT body || ':' || pinned || ':' || coalesce(rank::text, 'NULL') || ':' || coalesce(meta::text, 'NULL')
                     FROM notes ORDER BY body")" 'first:true:1:{"k": [1, 2.5, "x"]}
second:false:NULL:NULL' "booleans (missing: default), integers and jsonb convert"
is "$(q -d "$db" -c "SELECT collection || ':' || source_id || ':' || field FROM nextcrm_migration.errors ORDER BY id")" \
    "projects:650000000000000000000104:budget
notes:650000000000000000000203:rank" \
    "an integer beyond int4 and a budget numeric(12,2) cannot hold exactly are errors naming collection, _id and field"
like "$(q -d "$db" -c "SELECT message FROM nextcrm_migration.errors WHERE field = 'budget'")" \
    'field "budget" holds 0.125, which numeric\(12,2\) cannot hold exactly' "the numeric is never rounded"

# The conversion kinds of a reshaped target.
is "$(q -d "$db" -c "SELECT name || ':' || role FROM people ORDER BY name")" "Ada:admin
Grace:user
Linus:user" "the role is derived from is_admin by the profile's decision table (admins stay admins)"
is "$(q -d "$db" -c "SELECT collection || '|' || source_id || '|' || coalesce(field, '(whole)') || '|' || reason || '|' || document::text
                     FROM nextcrm_migration.kept_aside ORDER BY collection, source_id")" \
    'people|650000000000000000000001|is_admin|the target has no admin flag (role is derived from it)|{"is_admin": true}
people|650000000000000000000003|is_admin|the target has no admin flag (role is derived from it)|{"is_admin": false}
secrets|650000000000000000000301|(whole)|the target has no place for secrets|{"_id": {"$oid": "650000000000000000000301"}, "key": "sk-secret-1", "org": "org-1"}
secrets|650000000000000000000302|(whole)|the target has no place for secrets|{"_id": {"$oid": "650000000000000000000302"}, "key": "sk-secret-2", "note": {"$numberDouble": "1.5"}}' \
    "a dropped field and a collection with no place are kept whole, exactly, with the profile's reason"
is "$(q -d "$db" -c "SELECT p.name || ':' || coalesce(s.name, 'NULL') || ':' || p.budget FROM projects p
                     LEFT JOIN stages s ON s.id = p.stage_id ORDER BY p.name")" "Compiler:Done:12.50
Engine:Active:1500.00
Parser:Blocked:2.50" \
    "lookups: the profile's map (IN_PROGRESS), the operator's (review), a new name added; numerics exact"
is "$(q -d "$db" -c "SELECT string_agg(name, ',' ORDER BY name) FROM stages")" "Active,Blocked,Done" \
    "the one name without a counterpart became a lookup row"
is "$(q -d "$db" -c "SELECT source_id || ':' || kind || ':' || original || ':' || replacement FROM nextcrm_migration.repairs
                     WHERE collection = 'projects' AND field = 'stage' ORDER BY source_id, id")" \
    "650000000000000000000101:lookup:IN_PROGRESS:Active
650000000000000000000102:lookup:review:Done
650000000000000000000103:lookup: Blocked:Blocked
650000000000000000000103:lookup_row_added: Blocked:Blocked" "each looked-up value is a repair row keeping the original"
is "$(q -d "$db" -c "SELECT n.body || ':' || coalesce(p.name, 'NULL') FROM notes n LEFT JOIN people p ON p.id = n.author ORDER BY n.body")" \
    "first:Ada
second:Grace" "a merged key fills a missing reference"
is "$(q -d "$db" -c "SELECT source_id || ':' || field || ':' || kind || ':' || original FROM nextcrm_migration.repairs
                     WHERE collection = 'notes' AND field = 'writer' ORDER BY source_id")" \
    "650000000000000000000201:writer:merge_conflict:650000000000000000000003
650000000000000000000202:writer:merged:650000000000000000000002" \
    "both keys set and different: a repair row keeps the other value"

out=$(q -d "$db" -c "SELECT status, count(*) FROM nextcrm_validate_strict('src', 1, 100, 'mini')
                     GROUP BY status ORDER BY status" 2>&1)
ok $? "nextcrm_validate_strict passes for the mini profile"
like "$out" '^pass\|[0-9]+$' "every check of the mini profile passes: $out"
is "$(q -d "$db" -c "SELECT \"table\" || ':' || \"check\" || ':' || status || ':' || actual
                     FROM nextcrm_validate('src', 1, 100, 'mini')
                     WHERE family = 'kept_aside' OR \"check\" IN ('numerics', 'lookups', 'derived')
                        OR (\"table\" = 'secrets' AND family = 'counts')
                     ORDER BY \"table\", \"check\"")" "people:derived:pass:3 equal
people:fields kept aside:pass:2 exact
projects:lookups:pass:3 equal
projects:numerics:pass:3 equal
secrets:documents accounted:pass:0 missing
secrets:documents kept whole:pass:2 exact
secrets:row count:pass:2" "the validator compares derived values, lookups, numerics and what was kept aside"

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

is "$(q -d "$db" -c "SELECT count(*), count(DISTINCT collection) FROM nextcrm_mapping('mini')")" "26|4" \
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
