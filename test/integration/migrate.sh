#!/usr/bin/env bash
# nextcrm_migrate_all() against generated NextCRM data with the quirks of
# SOURCE-SCHEMA §8-9, from a mongodump directory and from FerretDB: every
# document is accounted for, exactly the documents the generator made
# unmigratable are errors, and the junction tables equal the union of both
# sides computed by the generator, independently of the engine.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
gen=$BUILD_DIR/nextcrm_gen
N=3000

"$gen" --docs $N --seed 11 --dump-dir "$work/dump" --manifest "$work/dump.json" 2>/dev/null
ok $? "generated $N documents into a mongodump directory"
chmod -R a+rX "$work/dump"
"$gen" --docs $N --seed 11 --uri "$MONGO_URI" --database migrate_live \
    --manifest "$work/live.json" 2>/dev/null
ok $? "generated $N documents into FerretDB"

declare -A junction_table=(
    [R-DOC-ACC]=_DocumentsToAccounts [R-DOC-LEAD]=_DocumentsToLeads
    [R-DOC-CONT]=_DocumentsToContacts [R-DOC-OPP]=_DocumentsToOpportunities
    [R-DOC-INV]=_DocumentsToInvoices [R-DOC-TASK]=_DocumentsToTasks
    [R-DOC-CRMTASK]=_DocumentsToCrmAccountsTasks [R-CONT-OPP]=_ContactsToOpportunities
    [R-WATCH-ACC]=_AccountWatchers [R-WATCH-BOARD]=_BoardWatchers
)

check_source() { # label db manifest server-options
    local label=$1 db=$2 manifest=$3 out
    make_target "$db" "$4"
    out=$(q -d "$db" -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
    ok $? "$label: nextcrm_migrate_all() succeeds"
    is "$(q -d "$db" -c "SELECT status FROM nextcrm_migration.run")" done \
        "$label: the run is complete"

    # Every collection: the source count the generator wrote, and every
    # document either migrated or recorded as an error.
    local bad
    bad=$(manifest_query "$manifest" "$db" "
        SELECT string_agg(format('%s: source %s, manifest %s, migrated %s, failed %s',
                                 c.collection, c.source_total, (m.value->>'documents'),
                                 c.migrated, c.failed), '; ')
          FROM nextcrm_migration.checkpoint c
          JOIN json_each(:'m'::json->'collections') m ON m.key = c.collection
         WHERE c.source_total <> (m.value->>'documents')::bigint
            OR c.migrated + c.failed <> c.source_total")
    is "$bad" "" "$label: every source document is migrated or in the error table"
    is "$(q -d "$db" -c "SELECT count(*) FROM nextcrm_migration.checkpoint")" 29 \
        "$label: all 29 collections were migrated"

    # (One query counts every table: a psql start per table cost a backend each.)
    bad=$(q -d "$db" -c "
        SELECT string_agg(collection || ' ', '' ORDER BY collection)
          FROM nextcrm_migration.checkpoint,
               xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM public.%I', collection),
                                                  false, true, '')) x
         WHERE migrated <> (x[1])::text::bigint")
    is "$bad" "" "$label: each target table holds exactly the migrated documents"

    # Exactly the documents the generator made unmigratable are errors.
    local expected got
    expected=$(manifest_query "$manifest" "$db" "
        SELECT string_agg(e.key || '/' || (d->>'_id'), ' ' ORDER BY e.key, d->>'_id')
          FROM json_each(:'m'::json->'errors') e, json_array_elements(e.value) d")
    got=$(q -d "$db" -c "SELECT string_agg(collection || '/' || source_id, ' '
                                            ORDER BY collection, source_id)
                           FROM nextcrm_migration.errors")
    is "$got" "$expected" "$label: the error table lists exactly the unmigratable documents"
    bad=$(manifest_query "$manifest" "$db" "
        SELECT string_agg(e.key || '/' || (d->>'_id'), ' ')
          FROM json_each(:'m'::json->'errors') e, json_array_elements(e.value) d
         WHERE NOT EXISTS (SELECT 1 FROM nextcrm_migration.errors x
                            WHERE x.collection = e.key AND x.source_id = d->>'_id'
                              AND x.field = d->>'field')")
    is "$bad" "" "$label: each error names the field the generator broke"
    is "$(q -d "$db" -c "SELECT count(*) FROM nextcrm_migration.errors
                          WHERE document IS NULL OR message = '' OR sqlstate !~ '^[0-9A-Z]{5}$'")" 0 \
        "$label: each error has its document, a message and an SQLSTATE"

    # Junction tables equal the generator's union of both sides: for each,
    # its row count, the manifest's distinct pairs and the rows the manifest
    # does not have (one query for the ten).
    local rel table sql="" rows
    for rel in "${!junction_table[@]}"; do
        table=${junction_table[$rel]}
        sql+="${sql:+ UNION ALL }SELECT '$rel',
            (SELECT count(*) FROM \"$table\"),
            (SELECT count(*) FROM (SELECT DISTINCT least(nextcrm_map_oid(p->>0), nextcrm_map_oid(p->>1)),
                                                   greatest(nextcrm_map_oid(p->>0), nextcrm_map_oid(p->>1))
                                     FROM json_array_elements(:'m'::json->'junctions'->'$rel'->'pair_list') p) s),
            (SELECT count(*) FROM (
              SELECT least(\"A\", \"B\") x, greatest(\"A\", \"B\") y FROM \"$table\"
              EXCEPT
              SELECT least(nextcrm_map_oid(p->>0), nextcrm_map_oid(p->>1)),
                     greatest(nextcrm_map_oid(p->>0), nextcrm_map_oid(p->>1))
                FROM json_array_elements(:'m'::json->'junctions'->'$rel'->'pair_list') p) s)"
    done
    local -A junction_got=() junction_expected=()
    while IFS='|' read -r rel rows expected got; do
        junction_got[$rel]="$rows|$got"
        junction_expected[$rel]=$expected
    done < <(manifest_query "$manifest" "$db" "$sql")
    for rel in "${!junction_table[@]}"; do
        expected=${junction_expected[$rel]-}
        is "${junction_got[$rel]-}" "$expected|0" \
            "$label: ${junction_table[$rel]} is the union of both sides ($expected pairs)"
    done

    # Every quirk the generator planted shows up where it belongs: as the
    # repair of its kind, in extra_keys, or in foreign_ids (documents that are
    # errors for another reason excepted).
    # (One query for every quirk: a psql start per quirk cost a backend each.)
    local quirk kind repaired="comment_on_crm_task:rerouted dangling_ref:dangling_ref
        dangling_list_element:dangling_ref hex_string_ref:id_as_string
        numeric_string:legacy_value bool_string:legacy_value date_string:legacy_value
        legacy_json:legacy_value missing_required_default:default_applied"
    sql=""
    for quirk in $repaired; do
        kind=${quirk#*:}
        quirk=${quirk%%:*}
        sql+="${sql:+ UNION ALL }
            SELECT '$quirk', count(*) || '/' || count(*) FILTER (WHERE EXISTS (
                     SELECT 1 FROM nextcrm_migration.repairs r
                      WHERE r.collection = i->>'collection' AND r.source_id = i->>'_id'
                        AND r.kind = '$kind'
                        AND (r.field = i->>'field' OR r.field LIKE (i->>'field') || '.%')))
              FROM json_array_elements(:'m'::json->'quirks'->'$quirk'->'items') i
             WHERE NOT EXISTS (SELECT 1 FROM nextcrm_migration.errors e
                                WHERE e.collection = i->>'collection' AND e.source_id = i->>'_id')"
    done
    for quirk in legacy_key unknown_key; do
        sql+=" UNION ALL
            SELECT '$quirk', count(*) || '/' || count(*) FILTER (WHERE EXISTS (
                     SELECT 1 FROM nextcrm_migration.extra_keys k
                      WHERE k.collection = i->>'collection' AND k.source_id = i->>'_id'
                        AND k.keys ? (i->>'field')))
              FROM json_array_elements(:'m'::json->'quirks'->'$quirk'->'items') i
             WHERE NOT EXISTS (SELECT 1 FROM nextcrm_migration.errors e
                                WHERE e.collection = i->>'collection' AND e.source_id = i->>'_id')"
    done
    sql+=" UNION ALL
        SELECT 'non_objectid_id', count(*) || '/' || count(*) FILTER (WHERE EXISTS (
                 SELECT 1 FROM nextcrm_migration.foreign_ids f
                  WHERE f.collection = i->>'collection' AND f.source_id #>> '{}' = i->>'_id'))
          FROM json_array_elements(:'m'::json->'quirks'->'non_objectid_id'->'items') i"
    local -A quirk_got=()
    while IFS='|' read -r quirk got; do
        quirk_got[$quirk]=$got
    done < <(manifest_query "$manifest" "$db" "$sql")
    for quirk in $repaired; do
        kind=${quirk#*:}
        quirk=${quirk%%:*}
        got=${quirk_got[$quirk]-}
        like "$got" '^([0-9]+)/\1$' "$label: every $quirk is recorded as a $kind repair ($got)"
    done
    for quirk in legacy_key unknown_key; do
        got=${quirk_got[$quirk]-}
        like "$got" '^([1-9][0-9]*)/\1$' "$label: every $quirk is kept in extra_keys ($got)"
    done
    got=${quirk_got[non_objectid_id]-}
    like "$got" '^([1-9][0-9]*)/\1$' "$label: every non-ObjectId _id is in foreign_ids ($got)"

    # Messages never quote a value (docs/REFERENCE.md, "Secrets"): no password hash in
    # an error's message, while its document keeps the values exactly.
    is "$(q -d "$db" -c "SELECT count(*) FROM nextcrm_migration.errors
                          WHERE message ~ '\\\$2[aby]\\\$' OR detail ~ '\\\$2[aby]\\\$'")" 0 \
        "$label: no message of the error table quotes a password hash"

    # NOTICE per batch with the figures a user watches.
    local batches notices
    batches=$(q -d "$db" -c "SELECT count(*) FROM nextcrm_migration.batch_log")
    notices=$(grep -c 'NOTICE: .*: batch [0-9]*, [0-9]*/[0-9]* ([0-9.]*%), overall [0-9.]*%, [0-9]* docs/s, ETA ' <<<"$out")
    is "$notices" "$batches" "$label: one progress NOTICE per committed batch"

    # Where the time went: every collection's stages are recorded, none is
    # negative, and together they fit in its wall time (the accounting, not
    # a time limit); the run's report names its slowest stage.
    bad=$(q -d "$db" -c "
        SELECT string_agg(format('%s: read %s, convert %s, check %s, load %s, commit %s, wall %s',
                                 collection, read_seconds, convert_seconds, check_seconds,
                                 load_seconds, commit_seconds,
                                 extract(epoch FROM finished_at - started_at)), '; ')
          FROM nextcrm_migration.checkpoint
         WHERE least(read_seconds, convert_seconds, check_seconds, load_seconds,
                     commit_seconds) < 0
            OR started_at IS NULL OR finished_at IS NULL
            OR read_seconds + convert_seconds + check_seconds + load_seconds + commit_seconds
               > extract(epoch FROM finished_at - started_at)")
    is "$bad" "" "$label: each collection's stages are non-negative and fit in its wall time"
    is "$(q -d "$db" -c "SELECT count(*) FROM nextcrm_migration.checkpoint
                          WHERE processed > 0 AND (read_seconds = 0 OR convert_seconds = 0
                                OR load_seconds = 0 OR commit_seconds = 0)")" 0 \
        "$label: every collection with documents spent time reading, converting, loading, committing"
    is "$(q -d "$db" -c "SELECT seconds >= setup_seconds + finish_seconds
                                AND seconds >= (SELECT sum(read_seconds + convert_seconds
                                      + check_seconds + load_seconds + commit_seconds)
                                                  FROM nextcrm_migration.checkpoint)
                                AND seconds >= foreign_key_seconds
                                AND setup_seconds > 0 AND finish_seconds > 0 AND foreign_key_seconds > 0
                           FROM nextcrm_migration.run")" t \
        "$label: the run's seconds hold its setup, its batches' stages, adding its foreign keys and its finish"
    like "$out" "NOTICE: .*the migration took [0-9.]+ s; its slowest stage, [a-z (),]+, took [0-9.]+ s \\([0-9]+%\\)" \
        "$label: the run's report gives its total against its slowest stage"
    like "$out" "DETAIL: .*Setting up and counting [0-9.]+ s, reading [0-9.]+ s, converting [0-9.]+ s, checking references [0-9.]+ s, loading [0-9.]+ s, committing batches [0-9.]+ s, building indexes [0-9.]+ s, adding foreign keys [0-9.]+ s, finishing" \
        "$label: and every stage"

    # The non-unique indexes, dropped for the load, are all back as the
    # schema defines them, and every constraint is one PostgreSQL validated.
    is "$(q -d "$db" -c "SELECT count(*) FROM nextcrm_migration.deferred_index")" 0 \
        "$label: no index is left deferred"
    is "$(indexes_of "$db")" "$(indexes_of migrate_schema)" \
        "$label: the target has every index of the schema, as defined there"
    is "$(q -d "$db" -c "SELECT count(*) > 0 AND bool_and(convalidated)
                          FROM pg_constraint WHERE connamespace = 'public'::regnamespace")" t \
        "$label: every constraint of the target is validated"

    # A second call changes nothing.
    local before after
    before=$(digest "$db")
    out=$(q -d "$db" -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
    like "$out" "the migration is complete; nothing to do" "$label: a finished migration says so"
    after=$(digest "$db")
    is "$after" "$before" "$label: and changes nothing"
}

# The schema alone, from the bundled Prisma migrations: the indexes a
# migrated target must have.
indexes_of() { # db
    q -d "$1" -c "SELECT string_agg(pg_get_indexdef(i.indexrelid), E'\\n' ORDER BY pg_get_indexdef(i.indexrelid))
                    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
                   WHERE c.relnamespace = 'public'::regnamespace AND c.relname <> '_prisma_migrations'"
}
q -c "DROP DATABASE IF EXISTS migrate_schema" -c "CREATE DATABASE migrate_schema" >/dev/null
for f in "$NEXTCRM_ROOT"/prisma/migrations/*/migration.sql; do
    q -d migrate_schema -f "$f" >/dev/null 2>&1 || echo "# applying $f failed"
done
((${#NEXTCRM_ROOT} > 0 && $(q -d migrate_schema -c "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
                                                     WHERE c.relnamespace = 'public'::regnamespace AND NOT i.indisunique") > 0))
ok $? "the schema alone has non-unique indexes to compare with"

check_source dump migrate_dump "$work/dump.json" "dump_dir '$work/dump'"
check_source FerretDB migrate_live "$work/live.json" "uri '$MONGO_URI', database 'migrate_live'"

# Retrying the recorded failures after the data was fixed: the fixed
# document migrates, its error row goes, nothing else changes.
db=migrate_live
bad_user=$(q -d "$db" -c "SELECT source_id FROM nextcrm_migration.errors
                          WHERE collection = 'Users' AND field = 'userLanguage'")
"$BUILD_DIR/nextcrm_mongo_cmd" "$MONGO_URI" migrate_live \
    "{\"update\": \"Users\", \"updates\": [{\"q\": {\"_id\": {\"\$oid\": \"$bad_user\"}},
      \"u\": {\"\$set\": {\"userLanguage\": \"en\"}}}]}" >/dev/null
ok $? "fixed the source document $bad_user"
errors_before=$(q -d "$db" -c "SELECT count(*) FROM nextcrm_migration.errors")
users_before=$(q -d "$db" -c "SELECT count(*) FROM \"Users\"")
q -d "$db" -c "SELECT * FROM nextcrm_retry_errors('src')" >/dev/null 2>&1
ok $? "nextcrm_retry_errors() succeeds"
is "$(q -d "$db" -c "SELECT count(*) FROM \"Users\" WHERE id = nextcrm_map_oid('$bad_user')
                      AND \"userLanguage\" = 'en'")" 1 "the fixed user arrived"
is "$(q -d "$db" -c "SELECT count(*) FROM nextcrm_migration.errors")" $((errors_before - 1)) \
    "its error row is gone, the others stay"
is "$(q -d "$db" -c "SELECT count(*) FROM \"Users\"")" $((users_before + 1)) "no other row was added"
is "$(q -d "$db" -c "SELECT bool_and(migrated + failed = source_total) FROM nextcrm_migration.checkpoint")" t \
    "the accounting still adds up"

# The schema came from the bundled Prisma migrations, recorded as Prisma does.
db=migrate_dump
for f in "$NEXTCRM_ROOT"/prisma/migrations/*/migration.sql; do
    name=$(basename "$(dirname "$f")")
    sum=$(sha256sum "$f" | cut -d' ' -f1)
    is "$(q -d "$db" -c "SELECT checksum FROM _prisma_migrations WHERE migration_name = '$name'
                          AND finished_at IS NOT NULL AND rolled_back_at IS NULL")" "$sum" \
        "_prisma_migrations records $name with the file's checksum"
done

# Security: the migration's tables are not readable by PUBLIC, and a role
# that was not granted the functions cannot run a migration.
q -c "DROP ROLE IF EXISTS regress_plain; CREATE ROLE regress_plain LOGIN" >/dev/null
is "$(q -d "$db" -c "SELECT has_table_privilege('regress_plain', 'nextcrm_migration.errors', 'SELECT')
                     OR has_table_privilege('regress_plain', 'nextcrm_migration.repairs', 'SELECT')")" f \
    "PUBLIC cannot read the error and repair tables"
out=$(q -d "$db" -U regress_plain -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
like "$out" "permission denied" "a role without the grant cannot run the migration"
q -c "DROP ROLE regress_plain" >/dev/null

for d in migrate_dump migrate_live migrate_schema; do q -c "DROP DATABASE $d" >/dev/null; done
done_testing
