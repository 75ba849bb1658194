#!/usr/bin/env bash
# What resume guarantees when the source changed between runs (README,
# "Resume"): on a live server it continues with the documents whose _id is
# above the last committed one, so a document deleted and one inserted below
# that _id shift nothing -- the deleted one stays migrated, the inserted one
# is not read, and nextcrm_validate() names both -- and a document inserted
# above it is migrated.  A mongodump file that changed below the checkpoint is
# an error.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
cmd() { "$BUILD_DIR/nextcrm_mongo_cmd" "$MONGO_URI" resume_changed "$1" >/dev/null; }
oid() { printf '65a1f0c2%016x' "$1"; }
N=20000

# TodoList documents (no references, no unique keys) with ascending _ids
# 1..N, inserted 500 per command (one command is one argument: < 128 kB).
cmd '{"drop": "TodoList"}' 2>/dev/null
python3 - "$N" >"$work/inserts" <<'PY'
import json, sys
n = int(sys.argv[1])
for start in range(1, n + 1, 500):
    docs = [{"_id": {"$oid": "65a1f0c2%016x" % i}, "createdAt": "2024-01-01", "description": "d%d" % i,
             "title": "t%d" % i, "url": "https://x/%d" % i, "user": "u"}
            for i in range(start, min(start + 500, n + 1))]
    print(json.dumps({"insert": "TodoList", "documents": docs}))
PY
while read -r line; do
    cmd "$line" || echo "# an insert failed"
done <"$work/inserts"

make_target resume_changed "uri '$MONGO_URI', database 'resume_changed'"
q -d resume_changed -c "SELECT * FROM nextcrm_migrate_table('src', 'TodoList')" >"$work/first.out" 2>&1 &
caller=$!
wait_for_batches resume_changed 2
q -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity
      WHERE datname = 'resume_changed' AND query LIKE '%nextcrm_migrate_table%' AND pid <> pg_backend_pid()
        AND backend_type = 'client backend'" >/dev/null
wait $caller
read -r phase done_before last < <(q -d resume_changed -F ' ' -c \
    "SELECT phase, processed, last_id FROM nextcrm_migration.checkpoint WHERE collection = 'TodoList'")
is "$phase" running "the run stopped inside TodoList"
holds "done_before >= 1000 && done_before < N" "after $done_before of $N documents"
is "$last" "$(oid "$done_before")" "its checkpoint is the last committed _id"

# Between the runs: delete a migrated document, insert one below the
# checkpoint, insert one above everything.
deleted=$(oid 7)
deleted_after=$(oid $((N - 5)))
changed=$(oid 8)
lower=$(oid 0)
upper=$(printf '65a1f0c3%016x' 1)
for id in $deleted $deleted_after; do
    cmd "{\"delete\": \"TodoList\", \"deletes\": [{\"q\": {\"_id\": {\"\$oid\": \"$id\"}}, \"limit\": 1}]}"
    ok $? "deleted $id from the source"
done
cmd "{\"update\": \"TodoList\", \"updates\": [{\"q\": {\"_id\": {\"\$oid\": \"$changed\"}},
      \"u\": {\"\$set\": {\"title\": \"changed\"}}}]}"
ok $? "changed the title of $changed (migrated) in the source"
for id in $lower $upper; do
    cmd "{\"insert\": \"TodoList\", \"documents\": [{\"_id\": {\"\$oid\": \"$id\"}, \"createdAt\": \"2024-01-01\",
          \"description\": \"new\", \"title\": \"new\", \"url\": \"https://x/new\", \"user\": \"u\"}]}"
    ok $? "inserted $id into the source"
done

q -d resume_changed -c "SELECT * FROM nextcrm_migrate_table('src', 'TodoList')" >"$work/second.out" 2>&1
ok $? "the resumed run succeeds"
count() { q -d resume_changed -c "SELECT count(*) FROM \"TodoList\" WHERE $1"; }
is "$(q -d resume_changed -c "SELECT phase, processed FROM nextcrm_migration.checkpoint
                              WHERE collection = 'TodoList'")" "done|$N" \
    "TodoList is done after reading each document once: $N, minus the one deleted above the checkpoint, plus the one inserted there"
is "$(count true)" $N "the target holds $N rows"
is "$(count "description ~ '^d[0-9]+\$'")" $((N - 1)) "every original document but the one deleted above, each once"
is "$(count "id = nextcrm_map_oid('$upper')")" 1 "the document inserted above the checkpoint is migrated"
is "$(count "id = nextcrm_map_oid('$deleted_after')")" 0 "the one deleted above it is not"
is "$(count "id = nextcrm_map_oid('$lower')")" 0 "the one inserted below it is not"
is "$(count "id = nextcrm_map_oid('$deleted')")" 1 "the one deleted below it stays migrated"
is "$(count "id = nextcrm_map_oid('$changed') AND title = 't8'")" 1 "the one changed below it keeps its old value"
is "$(q -d resume_changed -c "SELECT count(*) FROM nextcrm_migration.errors")" 0 "no error"

report=$(q -d resume_changed -c "SELECT \"check\" || ': ' || actual || ' ' || coalesce(details, '')
                                  FROM nextcrm_validate('src', 1, 100000)
                                 WHERE \"table\" = 'TodoList' AND status = 'fail' ORDER BY 1")
like "$report" "documents accounted: 1 missing source documents neither migrated nor in the error table: $lower" \
    "nextcrm_validate names the document inserted below the checkpoint"
like "$report" "ids map back: 1 unmapped" "and counts the deleted one as a row without a source document"

# A mongodump file replaced between runs below the checkpoint: an error
# naming the collection, never a skipped or doubled document.
"$BUILD_DIR/nextcrm_gen" --docs 20000 --seed 5 --dump-dir "$work/dump" 2>/dev/null
chmod -R a+rX "$work/dump"
make_target resume_dump "dump_dir '$work/dump'"
# A cancel may land between two collections; then the run is resumed and
# cancelled again, a few batches later, until it stops inside one.
coll=
for ((attempt = 0; attempt < 8 && ${#coll} == 0; attempt++)); do
    batches=$(q -d resume_dump -c "SELECT count(*) FROM nextcrm_migration.batch_log" 2>/dev/null)
    q -d resume_dump -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1 &
    caller=$!
    wait_for_batches resume_dump $((${batches:-0} + 3))
    q -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity
          WHERE datname = 'resume_dump' AND query LIKE '%nextcrm_migrate_all%' AND pid <> pg_backend_pid()
            AND backend_type = 'client backend'" >/dev/null
    wait $caller
    coll=$(q -d resume_dump -c "SELECT collection FROM nextcrm_migration.checkpoint
                                WHERE phase = 'running' AND processed > 1")
done
if [[ -n $coll ]]; then
    # The same documents in another order: the count alone would not notice.
    "$BUILD_DIR/nextcrm_gen" --docs 20000 --seed 6 --dump-dir "$work/other" 2>/dev/null
    cp "$work/other/$coll.bson" "$work/dump/$coll.bson" 2>/dev/null ||
        cp "$work/other/$coll.bson.gz" "$work/dump/$coll.bson.gz"
    out=$(q -d resume_dump -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
    like "$out" "the source of $coll changed since the last checkpoint" \
        "a dump file changed below the checkpoint ($coll) is an error"
else
    ok 1 "the dump run stopped inside a collection (in 8 tries it stopped between collections)"
fi

q -c "DROP DATABASE resume_changed" >/dev/null
q -c "DROP DATABASE resume_dump" >/dev/null
done_testing
