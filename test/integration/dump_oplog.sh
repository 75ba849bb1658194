#!/usr/bin/env bash
# mongodump --oplog (issue 19, item 1): a whole-server folder with oplog.bson
# beside prelude.json is read as the whole-server dump it is, the archive's
# oplog namespace is no database, and the oplog's operations on the migrated
# database are applied as mongorestore --oplogReplay applies them: a user
# deleted while mongodump ran is not migrated (the references to it dangle
# and are recorded as any dangling reference is), a user and an account
# created meanwhile are, updates ($set, $v:2 diff, an update of an _id the
# dump lacks, which upserts) give the documents their new values, an update
# form not applied makes its document an error row, a command (failed when
# it would change documents, skipped when it changes none) and an entry for
# a collection the profile does not map are recorded, entries on other
# databases are ignored, a transaction written over several entries is
# applied at its commit and one not committed when the oplog ends is not.  Folder, archive and gzip archive alike; validation
# passes and counts the oplog's effect; retrying the errors does not migrate
# the document whose update failed in an older state; a run killed with
# kill -9 resumes without recording (or applying) an entry twice.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
fx=$NEXTCRM_ROOT/test/fixtures/mongodump

# BSON written and read without a driver: the types the oplog needs.
cat >"$work/bsonlib.py" <<'PY'
import struct
class Oid(bytes): pass
class Ts(tuple): pass
class Uuid(bytes): pass
class Long(int): pass
def enc(v):
    if isinstance(v, Uuid):
        return 5, struct.pack("<i", len(v)) + b"\x04" + bytes(v)
    if isinstance(v, Oid):
        return 7, bytes(v)
    if isinstance(v, Ts):
        return 0x11, struct.pack("<II", v[1], v[0])
    if isinstance(v, bool):
        return 8, bytes([1 if v else 0])
    if isinstance(v, Long):
        return 0x12, struct.pack("<q", v)
    if isinstance(v, float):
        return 1, struct.pack("<d", v)
    if isinstance(v, str):
        b = v.encode() + b"\0"
        return 2, struct.pack("<i", len(b)) + b
    if isinstance(v, int):
        return 0x10, struct.pack("<i", v)
    if isinstance(v, list):
        return 4, doc({str(i): x for i, x in enumerate(v)})
    return 3, doc(v)
def doc(d):
    body = b""
    for k, v in d.items():
        t, b = enc(v)
        body += bytes([t]) + k.encode() + b"\0" + b
    return struct.pack("<i", len(body) + 5) + body + b"\0"
FIXED = {1: 8, 7: 12, 8: 1, 9: 8, 10: 0, 16: 4, 17: 8, 18: 8, 19: 16, 0x7F: 0, 0xFF: 0}
def top(d):
    """A document's top-level fields: name -> (type, raw bytes)."""
    out, i = {}, 4
    while d[i] != 0:
        t = d[i]; j = d.index(b"\0", i + 1); name = d[i + 1:j].decode(); i = j + 1
        if t in FIXED: n = FIXED[t]
        elif t in (2, 13, 14): n = 4 + struct.unpack_from("<i", d, i)[0]
        elif t in (3, 4, 15): n = struct.unpack_from("<i", d, i)[0]
        elif t == 5: n = 5 + struct.unpack_from("<i", d, i)[0]
        elif t == 11: k = d.index(b"\0", i); n = d.index(b"\0", k + 1) + 1 - i
        else: raise ValueError("type %d" % t)
        out[name] = (t, d[i:i + n]); i += n
    return out
def raw(fields):
    """A document from top()'s fields."""
    body = b"".join(bytes([t]) + k.encode() + b"\0" + b for k, (t, b) in fields.items())
    return struct.pack("<i", len(body) + 5) + body + b"\0"
def docs(path):
    data = open(path, "rb").read(); i = 0
    while i < len(data):
        n = struct.unpack_from("<i", data, i)[0]; yield top(data[i:i + n]); i += n
PY

# Ids from the fixture: a user accounts are assigned to (deleted while
# mongodump ran), three more users (renamed, diffed, $inc-ed) and new ids.
WORK=$work python3 - "$fx/dir/nextcrm" >"$work/ids" <<'PY'
import os, sys
sys.path.insert(0, os.environ["WORK"])
from bsonlib import docs
d = sys.argv[1]
users = [u["_id"][1].hex() for u in docs(d + "/Users.bson") if u["_id"][0] == 7]
assigned = [a["assigned_to"][1].hex() for a in docs(d + "/crm_Accounts.bson")
            if a.get("assigned_to", (0,))[0] == 7]
deleted = next(u for u in users if u in assigned)
others = [u for u in users if u != deleted][:3]
print("DEL=%s UPD=%s DIFF=%s INC=%s" % (deleted, others[0], others[1], others[2]))
PY
ok $? "ids picked from the fixture"
. "$work/ids"
NEW_USER=65f000000000000000000001
NEW_ACC=65f000000000000000000002
UPSERT=65f000000000000000000003
TXN_USER=65f000000000000000000004
UNCOMMITTED=65f000000000000000000005

# The oplog as mongodump --oplog writes it: 13 operations on nextcrm (one
# inside a transaction's applyOps, two in a transaction written over two
# entries, one in a transaction not committed when the oplog ends), a no-op
# and entries of other databases.
WORK=$work python3 - "$work/oplog.bson" "$DEL" "$UPD" "$DIFF" "$INC" "$NEW_USER" "$NEW_ACC" "$UPSERT" \
    "$TXN_USER" "$UNCOMMITTED" <<'PY'
import os, sys
sys.path.insert(0, os.environ["WORK"])
from bsonlib import Oid, Ts, Uuid, doc
out, dele, upd, diff, inc, new_user, new_acc, upsert, txn_user, uncommitted = sys.argv[1:]
o = lambda h: Oid(bytes.fromhex(h))
lsid = {"id": Uuid(bytes(range(16)))}
entries = [
    {"op": "i", "ns": "nextcrm.Users", "o": {"_id": o(new_user), "__v": 0,
     "email": "late.user@example.com", "name": "Late User"}},
    {"op": "u", "ns": "nextcrm.Users", "o": {"$v": 1, "$set": {"name": "Renamed"}}, "o2": {"_id": o(upd)}},
    {"op": "d", "ns": "nextcrm.Users", "o": {"_id": o(dele)}},
    {"op": "n", "ns": "", "o": {"msg": "periodic noop"}},
    {"op": "i", "ns": "other.Users", "o": {"_id": 2}},
    {"op": "c", "ns": "admin.$cmd", "lsid": lsid, "txnNumber": 7, "o": {"applyOps": [
        {"op": "i", "ns": "nextcrm.Users", "o": {"_id": o(txn_user), "__v": 0,
         "email": "txn.user@example.com", "name": "Txn User"}}], "partialTxn": True}},
    {"op": "c", "ns": "admin.$cmd", "o": {"applyOps": [
        {"op": "i", "ns": "nextcrm.crm_Accounts", "o": {"_id": o(new_acc), "__v": 0,
         "name": "Late account", "assigned_to": o(new_user)}},
        {"op": "i", "ns": "other.x", "o": {"_id": 4}}]}},
    {"op": "c", "ns": "admin.$cmd", "lsid": lsid, "txnNumber": 7, "o": {"applyOps": [
        {"op": "u", "ns": "nextcrm.Users", "o": {"$v": 1, "$set": {"name": "Txn Committed"}},
         "o2": {"_id": o(txn_user)}}], "count": 2}},
    {"op": "u", "ns": "nextcrm.Users", "o": {"$v": 2, "diff": {"u": {"username": "diffed"}}},
     "o2": {"_id": o(diff)}},
    {"op": "u", "ns": "nextcrm.Users", "o": {"$v": 1, "$set": {"email": "upserted@example.com",
     "name": "Upserted"}}, "o2": {"_id": o(upsert)}},
    {"op": "i", "ns": "nextcrm.notAModel", "o": {"_id": 1}},
    {"op": "u", "ns": "nextcrm.Users", "o": {"$inc": {"__v": 1}}, "o2": {"_id": o(inc)}},
    {"op": "c", "ns": "nextcrm.$cmd", "o": {"createIndexes": "Users", "indexes": []}},
    {"op": "c", "ns": "nextcrm.$cmd", "o": {"drop": "notAModel"}},
    {"op": "c", "ns": "admin.$cmd", "lsid": lsid, "txnNumber": 8, "o": {"applyOps": [
        {"op": "i", "ns": "nextcrm.Users", "o": {"_id": o(uncommitted), "__v": 0,
         "email": "uncommitted@example.com", "name": "Uncommitted"}}], "partialTxn": True}},
]
for n, e in enumerate(entries):
    e["ts"] = Ts((1700000000, n + 1))
open(out, "wb").write(b"".join(doc(e) for e in entries))
PY
ok $? "an oplog of 13 operations on nextcrm written"

cp -r "$fx/dir" "$work/server"
cp "$work/oplog.bson" "$work/server/oplog.bson"
"$BUILD_DIR/nextcrm_archive" "$fx/dir/nextcrm" "$work/oplog.archive" --oplog "$work/oplog.bson" &&
    "$BUILD_DIR/nextcrm_archive" "$fx/dir/nextcrm" "$work/oplog.archive.gz" --gzip --oplog "$work/oplog.bson"
ok $? "archives (plain and gzip) with the oplog written"
chmod -R a+rX "$work"

uid() { echo "nextcrm_map_oid('$1')"; }
make_target oplog_clean "dump_dir '$fx/dir'"
q -d oplog_clean -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1
ok $? "clean: the dump without an oplog migrates"
assigned_to_deleted=$(q -d oplog_clean -c "SELECT count(*) FROM \"crm_Accounts\" WHERE assigned_to = nextcrm_map_oid('$DEL')")
holds "assigned_to_deleted > 0" "the user deleted during the dump is assigned $assigned_to_deleted accounts in the dump"
# Users after the oplog: the dump's migrated users, less the deleted one and
# the one whose update is not applied (when they migrate from the dump), plus
# the inserted, the upserted and the transaction's one.
users_after=$(q -d oplog_clean -c "SELECT count(*) + 3 - count(*) FILTER (WHERE id IN ($(uid "$DEL"), $(uid "$INC")))
                                    FROM \"Users\"")
failing=$(q -d oplog_clean -c "SELECT count(*) FROM nextcrm_validate('src', 1, 100000) WHERE status = 'fail'")

for shape in "folder:dump_dir '$work/server'" "archive:archive '$work/oplog.archive'" \
    "gzip archive:archive '$work/oplog.archive.gz'"; do
    label=${shape%%:*}
    db=oplog_${label// /_}
    make_target "$db" "${shape#*:}"
    is "$(q -d "$db" -c "SELECT count(*) FILTER (WHERE documents > 0) || '|' || sum(documents)
                          FROM nextcrm_mongo_collections('src')")" \
        "$(q -d oplog_clean -c "SELECT count(*) FILTER (WHERE documents > 0) || '|' || sum(documents)
                                 FROM nextcrm_mongo_collections('src')")" \
        "$label: the collections and their counts are the dump's"
    out=$(q -d "$db" -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
    ok $? "$label: the migration succeeds"
    summary='oplog: 13 operations on database "nextcrm" made while mongodump ran: 8 applied, 2 failed, 3 skipped'
    like "$out" "NOTICE:  $summary" "$label: the caller is told how many operations were applied"
    is "$(q -d "$db" -c "SELECT status || ': ' || message FROM nextcrm_migration.run")" \
        "done: $summary (nextcrm_migration.oplog_applied)" "$label: the run is complete and its record says so"

    is "$(q -d "$db" -c "SELECT count(*) FROM \"Users\" WHERE id = $(uid "$DEL")")" 0 \
        "$label: the user deleted while mongodump ran is not migrated"
    is "$(q -d "$db" -c "SELECT count(*) FROM \"crm_Accounts\" WHERE assigned_to IS NULL
                          AND id IN (SELECT r.id FROM nextcrm_migration.repairs p
                                     JOIN \"crm_Accounts\" r ON r.id = nextcrm_map_oid(p.source_id)
                                     WHERE p.collection = 'crm_Accounts' AND p.field = 'assigned_to'
                                       AND p.kind = 'dangling_ref' AND p.original LIKE '%$DEL%')")" \
        "$assigned_to_deleted" "$label: its accounts lose the reference, each recorded as a dangling reference"
    is "$(q -d "$db" -c "SELECT name || '|' || email FROM \"Users\" WHERE id = $(uid "$NEW_USER")")" \
        "Late User|late.user@example.com" "$label: the user created while mongodump ran is migrated"
    is "$(q -d "$db" -c "SELECT name FROM \"crm_Accounts\" WHERE id = $(uid "$NEW_ACC")
                          AND assigned_to = $(uid "$NEW_USER")")" \
        "Late account" "$label: so is the account created (in a transaction), assigned to the new user"
    is "$(q -d "$db" -c "SELECT name FROM \"Users\" WHERE id = $(uid "$UPD")")" Renamed \
        "$label: a \$set update gives the field its new value"
    is "$(q -d "$db" -c "SELECT username FROM \"Users\" WHERE id = $(uid "$DIFF")")" diffed \
        "$label: a \$v:2 diff update gives the field its new value"
    is "$(q -d "$db" -c "SELECT name || '|' || email FROM \"Users\" WHERE id = $(uid "$UPSERT")")" \
        "Upserted|upserted@example.com" "$label: an update of an _id the dump lacks upserts it, as applyOps does"
    is "$(q -d "$db" -c "SELECT name || '|' || email FROM \"Users\" WHERE id = $(uid "$TXN_USER")")" \
        "Txn Committed|txn.user@example.com" "$label: a transaction written over two entries is applied at its commit"
    is "$(q -d "$db" -c "SELECT count(*) FROM \"Users\" WHERE id = $(uid "$UNCOMMITTED")")" 0 \
        "$label: a transaction not committed when the oplog ends is not applied"
    is "$(q -d "$db" -c "SELECT ts || ' ' || reason FROM nextcrm_migration.oplog_applied WHERE position = 13")" \
        "(not committed) its transaction had not committed when the oplog ends" "$label: and its record says why"
    is "$(q -d "$db" -c "SELECT string_agg(ts, ' ' ORDER BY position) FROM nextcrm_migration.oplog_applied
                          WHERE position IN (5, 6)")" \
        "Timestamp(1700000000, 8) Timestamp(1700000000, 8)" "$label: the transaction's operations bear its commit's ts"
    is "$(q -d "$db" -c "SELECT count(*) FROM \"Users\" WHERE id = $(uid "$INC")")" 0 \
        "$label: the user whose update cannot be applied is not migrated in an older state"
    like "$(q -d "$db" -c "SELECT field || ' ' || sqlstate || ' ' || message FROM nextcrm_migration.errors
                            WHERE collection = 'Users' AND source_id = '$INC'")" \
        '^\(oplog\) 0A000 oplog entry 10 \(Timestamp\(1700000000, 12\), op u\) cannot be applied: the update operator "\$inc" is not applied$' \
        "$label: it is an error row naming the collection, the _id and the reason"
    is "$(q -d "$db" -c 'SELECT count(*) FROM "Users"')" "$users_after" \
        "$label: Users holds the dump's users, less the deleted and the failed one, plus three ($users_after)"
    is "$(q -d "$db" -c "SELECT string_agg(position || ' ' || op || ' ' || collection || ' ' || outcome, ', '
                                           ORDER BY position) FROM nextcrm_migration.oplog_applied")" \
        "1 i Users applied, 2 u Users applied, 3 d Users applied, 4 i crm_Accounts applied, 5 i Users applied, 6 u Users applied, 7 u Users applied, 8 u Users applied, 9 i notAModel skipped, 10 u Users failed, 11 c Users skipped, 12 c notAModel failed, 13 i Users skipped" \
        "$label: every operation on nextcrm is recorded once with its outcome; other databases' are not"
    is "$(q -d "$db" -c "SELECT string_agg(reason, ' | ' ORDER BY position) FROM nextcrm_migration.oplog_applied
                          WHERE position IN (11, 12)")" \
        'the command "createIndexes" changes no document | the command "drop" is not applied' \
        "$label: the commands' records say why"
    like "$(q -d "$db" -c "SELECT reason FROM nextcrm_migration.oplog_applied WHERE position = 9")" \
        'collection "notAModel" is not migrated' "$label: the unknown collection's record says why"
    # One validation (each costs seconds) for the three assertions below.
    mapfile -t validated < <(q -d "$db" -c "
        SELECT count(*) FILTER (WHERE status = 'fail') || E'\\n'
               || count(*) FILTER (WHERE \"table\" = 'Users' AND status = 'fail') || E'\\n'
               || coalesce(string_agg(status || ' ' || details, ' | ')
                             FILTER (WHERE \"table\" = 'Users' AND \"check\" = 'independent count'), '')
          FROM nextcrm_validate('src', 1, 100000)")
    is "${validated[0]:-}" "$failing" \
        "$label: validation fails no more checks than on the dump without an oplog ($failing)"
    is "${validated[1]:-}" 0 \
        "$label: validation fails no check of Users, which the oplog changed: it reads the source with the oplog applied"
    # The folder's file walked by its length prefixes, the archive's blocks
    # by theirs and their namespace headers.
    like "${validated[2]:-}" \
        "^pass .*(/Users\.bson|\.archive(\.gz)?: nextcrm\.Users) holds [0-9]+ documents \(the reader read [0-9]+ from it before the oplog\)" \
        "$label: Users' independent count is the file's, before the oplog changed what the reader yields"
    out=$(q -d "$db" -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
    like "$out" "the migration is complete; nothing to do" "$label: a re-run has nothing to do"
    if [ "$label" = folder ]; then
        q -d "$db" -c "SELECT * FROM nextcrm_retry_errors('src')" >/dev/null 2>&1
        ok $? "$label: retrying the errors succeeds"
        is "$(q -d "$db" -c "SELECT (SELECT count(*) FROM \"Users\" WHERE id = $(uid "$INC")) || ' '
                              || (SELECT count(*) FROM nextcrm_migration.errors
                                   WHERE collection = 'Users' AND source_id = '$INC' AND field = '(oplog)')
                              || ' ' || (SELECT count(*) || ' ' || count(*) FILTER (WHERE outcome = 'failed')
                                           FROM nextcrm_migration.oplog_applied)")" \
            "0 1 13 2" "$label: a retry reads the document with the oplog again: still an error row, each entry recorded once"
    fi
done

# An entry naming an _id by an equal number of another type (the break
# session's case): the dump holds users with the int32 _ids 7 and 8, the
# oplog updates NumberLong(7) and deletes 8.0.  MongoDB's _id index holds
# them equal, so the update is applied to user 7 and user 8 is deleted: no
# second document, no duplicate-key error row, and user 7 keeps the dump's
# _id (its id is the int32's, in foreign_ids as {"$numberInt": "7"}).
cp -r "$fx/dir" "$work/numeric"
WORK=$work python3 - "$work/numeric" <<'PY'
import os, struct, sys
sys.path.insert(0, os.environ["WORK"])
from bsonlib import Long, Ts, docs, doc, enc, raw
d = sys.argv[1]
user = next(u for u in docs(d + "/nextcrm/Users.bson") if u["_id"][0] == 7)
with open(d + "/nextcrm/Users.bson", "ab") as f:
    for n in (7, 8):
        fields = dict(user)
        fields["_id"] = enc(n)
        fields["email"] = enc("numeric%d@example.com" % n)
        fields["name"] = enc("Numeric %d" % n)
        f.write(raw(fields))
entries = [
    {"op": "u", "ns": "nextcrm.Users", "o": {"$v": 1, "$set": {"name": "Numeric Renamed"}},
     "o2": {"_id": Long(7)}},
    {"op": "d", "ns": "nextcrm.Users", "o": {"_id": 8.0}},
]
for n, e in enumerate(entries):
    e["ts"] = Ts((1700000000, n + 1))
open(d + "/oplog.bson", "wb").write(b"".join(doc(e) for e in entries))
PY
ok $? "a dump with the int32 _ids 7 and 8 and an oplog naming them NumberLong(7) and 8.0"
chmod -R a+rX "$work/numeric"
make_target oplog_numeric "dump_dir '$work/numeric'"
out=$(q -d oplog_numeric -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
ok $? "numeric _ids: the migration succeeds"
like "$out" 'oplog: 2 operations on database "nextcrm" made while mongodump ran: 2 applied, 0 failed, 0 skipped' \
    "numeric _ids: both operations are applied"
numeric_user() {
    q -d oplog_numeric -c "SELECT string_agg(u.name, ', ') FROM \"Users\" u
                            JOIN nextcrm_migration.foreign_ids f ON f.id = u.id AND f.collection = 'Users'
                           WHERE f.source_id = '{\"\$numberInt\": \"$1\"}'"
}
is "$(numeric_user 7)" "Numeric Renamed" \
    "numeric _ids: the update of NumberLong(7) is applied to the user whose _id is the int32 7, which keeps it"
is "$(numeric_user 8)" "" "numeric _ids: the delete of 8.0 deletes the user whose _id is the int32 8"
is "$(q -d oplog_numeric -c "SELECT count(*) FROM \"Users\" WHERE name LIKE 'Numeric%'")" 1 \
    "numeric _ids: no second user from either entry"
is "$(q -d oplog_numeric -c "SELECT count(*) FROM nextcrm_migration.errors
                              WHERE collection = 'Users' AND source_id !~ '^[0-9a-f]{24}\$'")" 0 \
    "numeric _ids: no error row (no duplicate key, no older state)"
is "$(q -d oplog_numeric -c "SELECT string_agg(position || ' ' || op || ' ' || source_id || ' ' || outcome, ', '
                                               ORDER BY position) FROM nextcrm_migration.oplog_applied")" \
    '1 u { "$numberLong" : "7" } applied, 2 d { "$numberDouble" : "8.0" } applied' \
    "numeric _ids: each entry is recorded applied, under the _id as it names it"
is "$(q -d oplog_numeric -c "SELECT count(*) FROM nextcrm_validate('src', 1, 100000)
                              WHERE \"table\" = 'Users' AND status = 'fail'")" 0 \
    "numeric _ids: validation fails no check of Users"

# kill -9 of the worker between batches: the resumed run applies and
# records every entry once, and ends as an uninterrupted run does.  The
# oplog touches the first and the last documents of Tasks, which are read
# in different batches, and Users, read earlier.
N=6000
mkdir "$work/gen"
"$BUILD_DIR/nextcrm_gen" --docs $N --seed 5 --dump-dir "$work/gen/nextcrm" 2>/dev/null
cp "$fx/dir/prelude.json" "$work/gen/"
WORK=$work python3 - "$work/gen" <<'PY'
import os, sys
sys.path.insert(0, os.environ["WORK"])
from bsonlib import Oid, Ts, docs, doc
d = sys.argv[1]
tasks = [t["_id"][1] for t in docs(d + "/nextcrm/Tasks.bson") if t["_id"][0] == 7]
users = [u["_id"][1] for u in docs(d + "/nextcrm/Users.bson") if u["_id"][0] == 7]
assert len(tasks) > 1000, len(tasks)
entries = [
    {"op": "u", "ns": "nextcrm.Tasks", "o": {"$set": {"title": "first, renamed"}}, "o2": {"_id": Oid(tasks[0])}},
    {"op": "d", "ns": "nextcrm.Tasks", "o": {"_id": Oid(tasks[1])}},
    {"op": "u", "ns": "nextcrm.Tasks", "o": {"$v": 2, "diff": {"u": {"title": "last, diffed"}}},
     "o2": {"_id": Oid(tasks[-1])}},
    {"op": "u", "ns": "nextcrm.Users", "o": {"$set": {"name": "Renamed"}}, "o2": {"_id": Oid(users[0])}},
]
for n, e in enumerate(entries):
    e["ts"] = Ts((1700000000, n + 1))
open(d + "/oplog.bson", "wb").write(b"".join(doc(e) for e in entries))
PY
ok $? "a generated dump of $N documents with an oplog written"
chmod -R a+rX "$work/gen"
make_target oplog_base "dump_dir '$work/gen'"
q -d oplog_base -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1
is "$(q -d oplog_base -c "SELECT status FROM nextcrm_migration.run")" done "an uninterrupted run completes"
applied="SELECT string_agg(position || ' ' || outcome, ', ' ORDER BY position) FROM nextcrm_migration.oplog_applied"
is "$(q -d oplog_base -c "$applied")" "1 applied, 2 applied, 3 applied, 4 applied" "and applies the 4 operations"
is "$(q -d oplog_base -c "SELECT count(DISTINCT batch) FROM nextcrm_migration.oplog_applied
                          WHERE collection = 'Tasks'")" 2 "the Tasks operations are recorded by two batches"
base=$(digest oplog_base)

make_target oplog_kill "dump_dir '$work/gen'"
q -d oplog_kill -c "SELECT * FROM nextcrm_migrate_all('src')" >"$work/kill.out" 2>&1 &
caller=$!
wait_for_batches oplog_kill 3
worker=$(q -d oplog_kill -c "SELECT worker_pid FROM nextcrm_migration.run")
expect_kill "$worker"
kill -9 "$worker"
wait $caller
wait_for_server
ok $? "the server is back after kill -9 of the worker ($worker)"
done_before=$(q -d oplog_kill -c "SELECT sum(processed) FROM nextcrm_migration.checkpoint")
holds "done_before > 0 && done_before < N" "the killed run had committed part of the data ($done_before documents)"
q -d oplog_kill -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1
is "$(q -d oplog_kill -c "SELECT status FROM nextcrm_migration.run")" done "the resumed run completes"
is "$(q -d oplog_kill -c "$applied")" "1 applied, 2 applied, 3 applied, 4 applied" \
    "after kill -9 and resume, each operation is recorded once"
is "$(digest oplog_kill)" "$base" "after kill -9 and resume, every table equals the uninterrupted run"
is "$(q -d oplog_kill -c "SELECT string_agg(title, ', ' ORDER BY title) FROM \"Tasks\"
                          WHERE title IN ('first, renamed', 'last, diffed')")" "first, renamed, last, diffed" \
    "the updates of the first and the last Tasks are applied"

done_testing
