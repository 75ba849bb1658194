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
N=2500

# TodoList documents (no references, no unique keys) with ascending _ids
# 1..N: three batches.  todo_docs prints them as insert commands of 500
# (one command is one argument: < 128 kB); with a folder, it writes them as
# a mongodump's TodoList.bson instead, in ascending order, or descending
# with "reversed".
todo_docs() { # [folder [reversed]]
    python3 - "$N" "$@" <<'PY'
import json, struct, sys
n = int(sys.argv[1])
def doc(i):
    return {"_id": "65a1f0c2%016x" % i, "createdAt": "2024-01-01", "description": "d%d" % i,
            "title": "t%d" % i, "url": "https://x/%d" % i, "user": "u"}
if len(sys.argv) == 2:
    for start in range(1, n + 1, 500):
        docs = [dict(doc(i), _id={"$oid": doc(i)["_id"]}) for i in range(start, min(start + 500, n + 1))]
        print(json.dumps({"insert": "TodoList", "documents": docs}))
    sys.exit()
def bson(d):
    body = b"\x07_id\x00" + bytes.fromhex(d.pop("_id"))
    for k, v in d.items():
        s = v.encode() + b"\x00"
        body += b"\x02" + k.encode() + b"\x00" + struct.pack("<i", len(s)) + s
    return struct.pack("<i", len(body) + 5) + body + b"\x00"
order = range(n, 0, -1) if sys.argv[3:] == ["reversed"] else range(1, n + 1)
with open(sys.argv[2] + "/TodoList.bson", "wb") as f:
    for i in order:
        f.write(bson(doc(i)))
PY
}

# Runs the migration of TodoList in database $1 until its second batch
# waits to commit (a session of the test holds batch_log id 2, the id a
# fresh run gives that batch), then cancels the worker, which rolls that
# batch back: the run stops after the first batch, inside TodoList.
stop_in_second_batch() { # db out-file
    hold_start "$1" "$(hold_batch_sql 2)"
    q -d "$1" -c "SELECT * FROM nextcrm_migrate_table('src', 'TodoList')" >"$2" 2>&1 &
    local caller=$! worker activity
    IFS='|' read -r worker activity < <(wait_for_blocked_worker "$1" "$HOLDER")
    is "$activity" "migrating TodoList, batch 2" "the worker of $1 waits inside TodoList's second batch"
    q -c "SELECT pg_cancel_backend($worker)" >/dev/null
    wait $caller
    hold_end
}

cmd '{"drop": "TodoList"}' 2>/dev/null
todo_docs >"$work/inserts"
while read -r line; do
    cmd "$line" || echo "# an insert failed"
done <"$work/inserts"

make_target resume_changed "uri '$MONGO_URI', database 'resume_changed'"
stop_in_second_batch resume_changed "$work/first.out"
read -r phase done_before last < <(q -d resume_changed -F ' ' -c \
    "SELECT phase, processed, last_id FROM nextcrm_migration.checkpoint WHERE collection = 'TodoList'")
is "$phase" running "the run stopped inside TodoList"
is "$done_before" 1000 "after its first batch"
is "$last" "$(oid 1000)" "its checkpoint is the last committed _id"

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
mkdir "$work/dump"
todo_docs "$work/dump"
chmod -R a+rX "$work/dump"
make_target resume_dump "dump_dir '$work/dump'"
stop_in_second_batch resume_dump "$work/dump.out"
is "$(q -d resume_dump -c "SELECT phase, processed FROM nextcrm_migration.checkpoint
                           WHERE collection = 'TodoList'")" "running|1000" "the dump's run stopped inside TodoList"
# The same documents in another order: the count alone would not notice.
todo_docs "$work/dump" reversed
out=$(q -d resume_dump -c "SELECT * FROM nextcrm_migrate_table('src', 'TodoList')" 2>&1)
like "$out" "the source of TodoList changed since the last checkpoint" \
    "a dump file changed below the checkpoint is an error"

q -c "DROP DATABASE resume_changed" >/dev/null
q -c "DROP DATABASE resume_dump" >/dev/null
done_testing
