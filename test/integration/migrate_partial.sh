#!/usr/bin/env bash
# Partial and repeated runs cannot lose references (issue 10, requirements 6
# and 7): nextcrm_migrate_table() refuses an unknown collection and a
# collection whose referenced collections are not complete; restart => true
# resets only that collection and the collections that reference it; every
# order of calls ends in the same tables as one nextcrm_migrate_all(); a
# reference recorded as dangling to a document the target has fails
# validation (and the pgTAP suite); nextcrm_retry_errors() restores the
# references, list elements and junction pairs lost to a failed document once
# it migrates, and marks their repair rows resolved.
#
# One full migration serves as the reference that every other state is
# compared with; restarts run in copies of it (CREATE DATABASE ... TEMPLATE),
# and the order of calls is taken once: the state after its first calls is
# copied, and nextcrm_migrate_all() completes the copy while single calls
# complete the original.  The lost reference is planted in the copy restarted
# from Boards, so one validation shows both.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
gen=$BUILD_DIR/nextcrm_gen
N=3000
"$gen" --docs $N --seed 11 --dump-dir "$work/dump" 2>/dev/null
ok $? "generated $N documents into a mongodump directory"
chmod -R a+rX "$work/dump"
dump_opts="dump_dir '$work/dump'"

# The target tables only (not the migration's record), one md5 each.
table_digests() { # db
    local db=$1 t sql=""
    for t in $(target_tables "$db"); do
        sql+="SELECT '$t' AS t, md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) AS d FROM $t x UNION ALL "
    done
    q -d "$db" -c "${sql% UNION ALL } ORDER BY 1"
}
failed_checks() { # db
    q -d "$1" -c "SELECT string_agg(concat_ws(' ', family, \"table\", \"check\"), '; ' ORDER BY 1)
                    FROM nextcrm_validate('src', 1, 100000)
                   WHERE status = 'fail' AND family <> 'summary'"
}
# mark DB TABLE: sets the name of TABLE's first row to 'marker', keeping the
# old one aside (schema test_marker: no target table) for unmark.
mark() { # db table
    q -d "$1" -c "CREATE SCHEMA test_marker" \
        -c "CREATE TABLE test_marker.m AS SELECT id, name FROM \"$2\" ORDER BY id LIMIT 1" \
        -c "UPDATE \"$2\" t SET name = 'marker' FROM test_marker.m m WHERE t.id = m.id" >/dev/null
}
unmark() { # db table
    q -d "$1" -c "UPDATE \"$2\" t SET name = m.name FROM test_marker.m m WHERE t.id = m.id" \
        -c "DROP SCHEMA test_marker CASCADE" >/dev/null
}

make_target part_base "$dump_opts"
q -d part_base -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1
is "$(q -d part_base -c "SELECT status FROM nextcrm_migration.run")" done "the full run completes"
base=$(digest part_base)

# --- An unknown collection (in a fresh target, used for the order below) ----
make_target part_each "$dump_opts"
out=$(q -d part_each -v VERBOSITY=verbose -c "SELECT * FROM nextcrm_migrate_table('src', 'NoSuchThing')" 2>&1)
fails $? "nextcrm_migrate_table(srv, 'NoSuchThing') is an error"
like "$out" '22023: "NoSuchThing" is not a NextCRM collection' "it names the name, with invalid_parameter_value"
like "$out" "HINT:  Valid names are: Boards, Documents, .*TodoList, Users, crm_Accounts, .*tasksComments\." \
    "its hint lists the valid names"
out=$(q -d part_base -c "SELECT * FROM nextcrm_migrate_table('src', 'crm_accounts', restart => true)" 2>&1)
like "$out" '"crm_accounts" is not a NextCRM collection' "names are case-sensitive, also with restart"
long=$(printf 'x%.0s' {1..80})
like "$(q -d part_each -c "SELECT * FROM nextcrm_migrate_table('src', '$long')" 2>&1)" \
    "\"$long\" is not a NextCRM collection" "so is a name longer than any collection's"
is "$(q -d part_each -c "SELECT count(*) FROM nextcrm_migration.checkpoint")" 0 \
    "nothing was started for it"
is "$(digest part_base)" "$base" "and a refused restart changes nothing"

# --- Tasks before Sections, then every collection with its own call --------
out=$(q -d part_each -v VERBOSITY=verbose -c "SELECT * FROM nextcrm_migrate_table('src', 'Tasks')" 2>&1)
fails $? "nextcrm_migrate_table(srv, 'Tasks') before Sections is refused"
like "$out" '55000: collection "Tasks" references collections whose migration is not complete' \
    "with object_not_in_prerequisite_state"
like "$out" "DETAIL:  Not complete: Users, Boards, Sections\." "naming what it needs, in order"
is "$(q -d part_each -c "SELECT count(*) FROM nextcrm_migration.checkpoint WHERE processed > 0")" 0 \
    "no document was read"
q -d part_each -c "SELECT * FROM nextcrm_migrate_table('src', 'Users')" \
    -c "SELECT * FROM nextcrm_migrate_table('src', 'Boards')" >/dev/null 2>&1
out=$(q -d part_each -c "SELECT * FROM nextcrm_migrate_table('src', 'Tasks')" 2>&1)
like "$out" "Not complete: Sections\." "with Users and Boards done, only Sections is missing"
q -d part_each -c "SELECT * FROM nextcrm_migrate_table('src', 'Sections')" >/dev/null 2>&1
ok $? "Sections migrates once Boards is complete"
q -d part_each -c "SELECT * FROM nextcrm_migrate_table('src', 'Tasks')" >/dev/null 2>&1
ok $? "then Tasks"
is "$(q -d part_each -c "SELECT count(*) FROM nextcrm_migration.repairs
                         WHERE collection = 'Tasks' AND field = 'section' AND kind = 'dangling_ref'")" \
    "$(q -d part_base -c "SELECT count(*) FROM nextcrm_migration.repairs
                          WHERE collection = 'Tasks' AND field = 'section' AND kind = 'dangling_ref'")" \
    "Tasks lost no more section references than in one full run"
# This state (four collections complete, the others not started), twice.
q -c "CREATE DATABASE part_order TEMPLATE part_each" >/dev/null
q -d part_order -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1
is "$(q -d part_order -c "SELECT status FROM nextcrm_migration.run")" done \
    "nextcrm_migrate_all() completes the rest"
is "$(digest part_order)" "$base" "every table and record equals the one full run"

# Every other collection with its own call, in dependency order (one
# session, one statement each): the same result.
calls=$(q -d part_base -c "SELECT format('SELECT * FROM nextcrm_migrate_table(''src'', %L);', collection)
                             FROM nextcrm_migration.checkpoint
                            WHERE collection NOT IN ('Users', 'Boards', 'Sections', 'Tasks')
                            ORDER BY position")
is "$(wc -l <<<"$calls")" 25 "25 collections left"
q -d part_each <<<"$calls" >/dev/null 2>&1
ok $? "each migrates with its own nextcrm_migrate_table() call"
is "$(q -d part_each -c "SELECT status FROM nextcrm_migration.run")" done \
    "29 nextcrm_migrate_table() calls in dependency order complete the migration"
is "$(digest part_each)" "$base" "and equal the one full run"

# --- restart => true of one collection ---------------------------------------
q -c "CREATE DATABASE part_todo TEMPLATE part_base" >/dev/null
# Markers: a changed row elsewhere must survive; TodoList's rows must come back.
mark part_todo crm_Accounts
q -d part_todo -c "DELETE FROM \"TodoList\" WHERE id IN (SELECT id FROM \"TodoList\" LIMIT 3)" >/dev/null
before=$(q -d part_todo -c "SELECT string_agg(collection || finished_at, ',' ORDER BY collection)
                            FROM nextcrm_migration.checkpoint WHERE collection <> 'TodoList'")
q -d part_todo -c "SELECT * FROM nextcrm_migrate_table('src', 'TodoList', restart => true)" >/dev/null 2>&1
ok $? "nextcrm_migrate_table(srv, 'TodoList', restart => true) after a full run succeeds"
is "$(q -d part_todo -c "SELECT count(*) FROM \"crm_Accounts\" WHERE name = 'marker'")" 1 \
    "another collection's rows are untouched"
is "$(q -d part_todo -c "SELECT string_agg(collection || finished_at, ',' ORDER BY collection)
                          FROM nextcrm_migration.checkpoint WHERE collection <> 'TodoList'")" "$before" \
    "every other collection's checkpoint is untouched"
is "$(q -d part_todo -c "SELECT count(*) FROM \"TodoList\"")" \
    "$(q -d part_base -c "SELECT count(*) FROM \"TodoList\"")" "TodoList is migrated again, whole"
unmark part_todo crm_Accounts
is "$(digest part_todo)" "$base" "with the marker undone, the result equals the full run"
is "$(q -d part_todo -c "SELECT status FROM nextcrm_migration.run")" done "and the run is complete"

# A collection others reference: Boards (Sections, Tasks and tasksComments
# reference it, _BoardWatchers joins it with Users).
q -c "CREATE DATABASE part_boards TEMPLATE part_base" >/dev/null
mark part_boards Users
out=$(q -d part_boards -c "SELECT * FROM nextcrm_migrate_table('src', 'Boards', restart => true)" 2>&1)
ok $? "nextcrm_migrate_table(srv, 'Boards', restart => true) succeeds"
like "$out" "Sections: batch 1" "it migrates Sections again"
like "$out" "Tasks: batch 1" "and Tasks"
like "$out" "tasksComments: batch 1" "and tasksComments"
[[ $out =~ "Users: batch" || $out =~ "crm_Accounts: batch" ]]
fails $? "and no collection that does not depend on Boards"
is "$(q -d part_boards -c "SELECT count(*) FROM \"Users\" WHERE name = 'marker'")" 1 "Users is untouched"
unmark part_boards Users
is "$(digest part_boards)" "$base" \
    "with the marker undone, the result (junction tables and records included) equals the full run"

# --- A reference lost as dangling to a document the target has --------------
# What the order Tasks-then-Sections did before it was refused: planted here,
# in the restarted copy, which equals the full run (above).  Its one
# validation shows both that the restart validates and that the planted
# reference fails its check: exactly that check fails, naming that one
# reference.
q -d part_boards >/dev/null <<'SQL'
WITH t AS (SELECT id, section FROM "Tasks" WHERE section IS NOT NULL ORDER BY id LIMIT 1),
     u AS (UPDATE "Tasks" x SET section = NULL FROM t WHERE x.id = t.id RETURNING t.*)
INSERT INTO nextcrm_migration.repairs (collection, source_id, field, kind, original, replacement)
SELECT 'Tasks', nextcrm_unmap_oid(u.id), 'section', 'dangling_ref', nextcrm_unmap_oid(u.section), 'NULL'
  FROM u;
SQL
# The pgTAP suite: one test per check of the report of every document
# sampled, whose failed tests name the failed checks with their details.
pg_prove -v -d part_boards --set server=src --set seed=1 --set sample_size=100000 \
    "$(pg_config --sharedir)/extension/nextcrm_mongo_fdw_validate.sql" >"$work/prove.out" 2>&1
fails $? "the pgTAP suite fails on it"
like "$(cat "$work/prove.out")" 'Failed test [0-9]+: "referential / Tasks / dangling references: fail' \
    "with the dangling-references test"
is "$(sed -nE 's/^not ok [0-9]+ - ([^:]*): fail .*/\1/p' "$work/prove.out" | grep -v '^summary')" \
    "referential / Tasks / dangling references" \
    "the restarted copy validates; nextcrm_validate fails exactly the dangling-references check of Tasks"
like "$(sed -nE 's/^not ok [0-9]+ - referential \/ Tasks \/ dangling references: .* -- //p' "$work/prove.out")" \
    "^references recorded as dangling whose document the source holds and the target has: [0-9a-f]{24}\.section -> Sections [0-9a-f]{24}$" \
    "and names the task, the field and the section"

for d in part_base part_order part_each part_todo part_boards; do
    q -c "DROP DATABASE $d" >/dev/null
done

# --- nextcrm_retry_errors() restores what a failed document cost -------------
live=partial_live
"$gen" --docs $N --seed 11 --uri "$MONGO_URI" --database $live 2>/dev/null
ok $? "generated $N documents into FerretDB"
live_opts="uri '$MONGO_URI', database '$live'"
make_target part_live_base "$live_opts"
q -d part_live_base -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1
live_tables=$(table_digests part_live_base)
# A user that tasks reference, that boards share with, and that watches a
# board: the three ways a reference is kept.
user=$(q -d part_live_base -c "SELECT nextcrm_unmap_oid(u.id) FROM \"Users\" u
                               WHERE EXISTS (SELECT 1 FROM \"Tasks\" t WHERE t.\"user\" = u.id)
                                 AND EXISTS (SELECT 1 FROM \"Boards\" b WHERE u.id = ANY (b.\"sharedWith\"))
                                 AND EXISTS (SELECT 1 FROM \"_BoardWatchers\" w WHERE w.\"B\" = u.id)
                               ORDER BY (SELECT count(*) FROM \"Tasks\" t WHERE t.\"user\" = u.id) DESC LIMIT 1")
like "$user" "^[0-9a-f]{24}$" "a user referenced by tasks, shared boards and board watchers ($user)"
lang=$(q -d part_live_base -c "SELECT \"userLanguage\" FROM \"Users\" WHERE id = nextcrm_map_oid('$user')")
set_lang() {
    "$BUILD_DIR/nextcrm_mongo_cmd" "$MONGO_URI" $live \
        "{\"update\": \"Users\", \"updates\": [{\"q\": {\"_id\": {\"\$oid\": \"$user\"}},
          \"u\": {\"\$set\": {\"userLanguage\": \"$1\"}}}]}" >/dev/null
}
set_lang xx
ok $? "broke the user in FerretDB (userLanguage 'xx')"
make_target part_live "$live_opts"
q -d part_live -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1
is "$(q -d part_live -c "SELECT count(*) FROM nextcrm_migration.errors
                         WHERE collection = 'Users' AND source_id = '$user'")" 1 "the user is an error"
lost() { # kind-of-loss
    q -d part_live -c "SELECT count(*) FROM nextcrm_migration.repairs
                       WHERE kind = 'dangling_ref' AND original = '$user' AND resolved_at IS NULL
                         AND CASE '$1' WHEN 'scalar' THEN replacement = 'NULL'
                                       WHEN 'list' THEN field ~ '\\.[0-9]+$' AND replacement = '(dropped)'
                                       ELSE field !~ '\\.' AND replacement = '(dropped)' END"
}
scalar=$(lost scalar) list=$(lost list) pairs=$(lost junction)
holds "scalar > 0 && list > 0 && pairs > 0" "references to it were lost as dangling: $scalar columns, $list list elements, $pairs junction pairs"
report=$(q -d part_live -c "SELECT concat_ws(' ', family, \"table\", \"check\", status)
                             FROM nextcrm_validate('src', 1, 100000)
                            WHERE status = 'fail' AND family <> 'summary'
                               OR \"check\" = 'dangling references' AND \"table\" = 'Tasks'")
is "$(grep '^referential Tasks dangling references ' <<<"$report")" "referential Tasks dangling references warn" \
    "validation warns (the user is in the error table) without failing"
is "$(grep -v '^referential Tasks dangling references ' <<<"$report")" "" "and no check fails"
set_lang "$lang"
ok $? "fixed the user in FerretDB"
# The pass that puts references back reads them a chunk of whole documents at
# a time (nextcrm_mongo_fdw.restore_chunk_rows, 10,000 rows by default, so its
# memory does not grow with their number): with chunks of 3 rows, documents
# whose rows a chunk's end would cut and many chunks occur here, and the
# result must still equal a clean migration's.  (load_limits.sh's list of
# 20,000 dangling ids is longer than a default chunk: read whole.)
holds "scalar + list + pairs > 3 * 3" "more dangling references than three chunks hold"
q -c "ALTER DATABASE part_live SET nextcrm_mongo_fdw.restore_chunk_rows = 3" >/dev/null
q -d part_live -c "SELECT * FROM nextcrm_retry_errors('src')" >/dev/null 2>&1
ok $? "nextcrm_retry_errors() succeeds"
is "$(lost scalar)/$(lost list)/$(lost junction)" 0/0/0 "no reference to the user is left dangling"
is "$(q -d part_live -c "SELECT count(*) FROM nextcrm_migration.repairs
                         WHERE kind = 'dangling_ref' AND original = '$user' AND resolved_at IS NOT NULL")" \
    $((scalar + list + pairs)) "each of those repair rows is marked resolved"
is "$(table_digests part_live)" "$live_tables" \
    "every target table (columns, list order, junction pairs) equals a clean migration"
is "$(q -d part_live -c "SELECT count(*) FROM nextcrm_migration.errors")" \
    "$(q -d part_live_base -c "SELECT count(*) FROM nextcrm_migration.errors")" \
    "the error table is back to the clean migration's"
is "$(failed_checks part_live)" "" "and it validates"
is "$(q -d part_live -c "SELECT bool_and(migrated + failed = source_total) FROM nextcrm_migration.checkpoint")" t \
    "the accounting adds up"

for d in part_live_base part_live; do
    q -c "DROP DATABASE $d" >/dev/null
done
done_testing
