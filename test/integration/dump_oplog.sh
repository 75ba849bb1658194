#!/usr/bin/env bash
# mongodump --oplog (issue 19, item 1): a whole-server folder with oplog.bson
# beside prelude.json is read as the whole-server dump it is (the database's
# folder, not the top folder as one database), and the archive's oplog
# namespace is no database.  The oplog's operations on the migrated database
# are not applied by this version: the run migrates every collection, then
# ends failed saying how many operations the oplog holds -- never complete.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
fx=$NEXTCRM_ROOT/test/fixtures/mongodump

# An oplog as mongodump --oplog writes it: three operations on nextcrm, one
# more inside a transaction's applyOps, and entries that are not nextcrm's.
python3 - "$work/oplog.bson" <<'PY'
import struct, sys
def enc(v):
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
entries = [
    {"op": "i", "ns": "nextcrm.Boards", "o": {"_id": "late-board", "title": "x"}},
    {"op": "u", "ns": "nextcrm.Boards", "o": {"$set": {"title": "y"}}, "o2": {"_id": "late-board"}},
    {"op": "d", "ns": "nextcrm.Boards", "o": {"_id": "late-board"}},
    {"op": "n", "ns": "", "o": {"msg": "periodic noop"}},
    {"op": "i", "ns": "other.Users", "o": {"_id": 2}},
    {"op": "c", "ns": "admin.$cmd", "o": {"applyOps": [
        {"op": "i", "ns": "nextcrm.Tasks", "o": {"_id": 3}},
        {"op": "i", "ns": "other.x", "o": {"_id": 4}}]}},
]
open(sys.argv[1], "wb").write(b"".join(doc(e) for e in entries))
PY
ok $? "an oplog of 4 operations on nextcrm written"

cp -r "$fx/dir" "$work/server"
cp "$work/oplog.bson" "$work/server/oplog.bson"
"$BUILD_DIR/nextcrm_archive" "$fx/dir/nextcrm" "$work/oplog.archive" --oplog "$work/oplog.bson"
ok $? "an archive with the oplog written"
chmod -R a+rX "$work"

make_target oplog_clean "dump_dir '$fx/dir'"
q -d oplog_clean -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1
ok $? "clean: the dump without an oplog migrates"

for shape in "folder:dump_dir '$work/server'" "archive:archive '$work/oplog.archive'"; do
    label=${shape%%:*}
    db=oplog_$label
    make_target "$db" "${shape#*:}"
    is "$(q -d "$db" -c "SELECT count(*) FILTER (WHERE documents > 0) || '|' || sum(documents)
                          FROM nextcrm_mongo_collections('src')")" \
        "$(q -d oplog_clean -c "SELECT count(*) FILTER (WHERE documents > 0) || '|' || sum(documents)
                                 FROM nextcrm_mongo_collections('src')")" \
        "$label: the collections and their counts are the database's"
    is "$(q -d "$db" -c "SELECT count(*) FROM nextcrm_mongo_collections('src') WHERE collection = 'oplog'")" \
        0 "$label: the oplog is not listed as a collection"
    out=$(q -d "$db" -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
    like "$out" "ERROR:  the migration failed: the dump's oplog \\(.*\\) holds 4 operations on database \"nextcrm\" made while mongodump ran, which this version does not apply" \
        "$label: the caller's error says the oplog's operations are not applied"
    is "$(q -d "$db" -c "SELECT status FROM nextcrm_migration.run")" failed "$label: the run ends failed"
    like "$(q -d "$db" -c "SELECT message FROM nextcrm_migration.run")" "holds 4 operations on database \"nextcrm\"" \
        "$label: the run's record says how many"
    per_collection="SELECT string_agg(collection || '=' || phase || '/' || migrated || '/' || failed, ','
                            ORDER BY collection) FROM nextcrm_migration.checkpoint"
    is "$(q -d "$db" -c "$per_collection")" "$(q -d oplog_clean -c "$per_collection")" \
        "$label: every collection is migrated, as from the dump without its oplog"
    out=$(q -d "$db" -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
    like "$out" "ERROR:  the migration failed: the dump's oplog" "$label: a re-run ends the same way"
    is "$(q -d "$db" -c "SELECT status FROM nextcrm_migration.run")" failed "$label: and is not complete"
done

done_testing
