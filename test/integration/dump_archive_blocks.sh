#!/usr/bin/env bash
# Archive blocks the headers do not announce (issue 19, item 10): documents
# of a collection after its end-of-data header, and a collection whose
# blocks the prelude does not list, are read like any other -- counted,
# migrated, the run complete and equal to a clean run -- never dropped or
# reported absent.  The validator's independent count walks the blocks
# apart from the reader: it counts them too, and fails a collection the
# reader passes over (item 7).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
fx=$NEXTCRM_ROOT/test/fixtures/mongodump

make_target blocks_clean "archive '$fx/nextcrm.archive'"
q -d blocks_clean -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1
ok $? "clean: nextcrm_migrate_all() succeeds"
clean_digest=$(digest blocks_clean)

# crm_Contacts's last 50 documents moved to a block after its end-of-data
# header (whose CRC then covers the documents before it, as a writer that
# wrote them late would have it), and Boards left out of the prelude.
python3 - "$fx/nextcrm.archive" "$work/odd.archive" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
table = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0xC96C5795D7870F42 if c & 1 else c >> 1
    table.append(c)
def crc64(b):
    c = 0xFFFFFFFFFFFFFFFF
    for x in b:
        c = table[(c ^ x) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFFFFFFFFFF
def length(at):
    return struct.unpack_from("<i", data, at)[0]
at = 4
prelude = []
while length(at) != -1:
    prelude.append(data[at:at + length(at)])
    at += length(at)
at += 4
blocks = []  # (header, [documents])
while at < len(data):
    header = data[at:at + length(at)]
    at += len(header)
    docs = []
    while length(at) != -1:
        docs.append(data[at:at + length(at)])
        at += length(at)
    at += 4
    blocks.append((header, docs))
def is_contacts(h):
    return b"crm_Contacts\x00" in h
eof = [i for i, (h, _) in enumerate(blocks) if is_contacts(h) and b"\x08EOF\x00\x01" in h]
data_blocks = [i for i, (h, d) in enumerate(blocks) if is_contacts(h) and d]
assert len(eof) == 1 and data_blocks, (eof, data_blocks)
# The last 50 documents of its last block go to a block of their own.
h, docs = blocks[data_blocks[-1]]
assert len(docs) > 50
blocks[data_blocks[-1]] = (h, docs[:-50])
late = (h, docs[-50:])
eof_at = eof[0]
covered = b"".join(d for h, docs in blocks if is_contacts(h) for d in docs)
h = bytearray(blocks[eof_at][0])
pos = bytes(h).index(b"\x12CRC\x00") + 5
struct.pack_into("<Q", h, pos, crc64(covered))
blocks[eof_at] = (bytes(h), [])
blocks.append(late)
prelude = [p for p in prelude if b"\x02collection\x00\x07\x00\x00\x00Boards\x00" not in p]
out = data[:4] + b"".join(prelude) + b"\xff\xff\xff\xff"
for h, docs in blocks:
    out += h + b"".join(docs) + b"\xff\xff\xff\xff"
open(sys.argv[2], "wb").write(out)
print(len(late[1]))
PY
ok $? "an archive with crm_Contacts documents after its end-of-data header and Boards unlisted"
chmod -R a+rX "$work"

make_target blocks_odd "archive '$work/odd.archive'"
is "$(q -d blocks_odd -c "SELECT documents FROM nextcrm_mongo_collections('src') WHERE collection = 'crm_Contacts'")" \
    444 "crm_Contacts counts its 444 documents"
q -d blocks_odd -c "SELECT * FROM nextcrm_migrate_all('src')" >"$work/out" 2>&1
ok $? "nextcrm_migrate_all() succeeds"
holds "$(grep -c 'Absent (not empty):.*Boards' "$work/out") == 0" "Boards is not reported absent"
is "$(q -d blocks_odd -c "SELECT status FROM nextcrm_migration.run")" done "the run completes"
is "$(q -d blocks_odd -c "SELECT processed || '|' || (migrated + failed) || '|' || source_total FROM nextcrm_migration.checkpoint
                           WHERE collection = 'crm_Contacts'")" "444|444|444" \
    "every crm_Contacts document is read and migrated or an error, and the counts agree"
is "$(q -d blocks_odd -c "SELECT phase || '|' || processed FROM nextcrm_migration.checkpoint WHERE collection = 'Boards'")" \
    "done|11" "Boards, which the prelude does not list, is migrated, not absent"
is "$(digest blocks_odd)" "$clean_digest" "the target equals a clean run"

# The validator's independent count of an archive (issue 19 item 7): the
# archive carries no count (its prelude's "size" is 0), so its blocks are
# walked by their length prefixes and namespace headers, apart from the
# reader.  The late documents are counted, and the reader read them all.
is "$(q -d blocks_odd -c "SELECT count(*) >= 20 AND bool_and(status = 'pass')
                           FROM nextcrm_validate('src') WHERE \"check\" = 'independent count'")" t \
    "each collection's independent count agrees with the migration"
like "$(q -d blocks_odd -c "SELECT details FROM nextcrm_validate('src')
                             WHERE \"table\" = 'crm_Contacts' AND \"check\" = 'independent count'")" \
    "/odd\.archive: nextcrm\.crm_Contacts holds 444 documents; the source read yielded 444 documents" \
    "crm_Contacts' count walks the blocks after its end-of-data header too"
like "$(q -d blocks_odd -c "SELECT details FROM nextcrm_validate('src')
                             WHERE \"table\" = 'Boards' AND \"check\" = 'independent count'")" \
    "/odd\.archive: nextcrm\.Boards holds 11 documents" "Boards, unlisted, is counted from its blocks"

# A reader that reads fewer: the prelude calls crm_Contacts a view, so the
# reader skips its 444 documents (gzip-compressed, as --gzip --archive
# writes it).  The migration and the row count agree with the reader; the
# independent count does not.
python3 - "$work/odd.archive" "$work/view.archive" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
at, out = 4, [data[:4]]
while struct.unpack_from("<i", data, at)[0] != -1:
    n = struct.unpack_from("<i", data, at)[0]
    frame = data[at:at + n]
    if b"\x02collection\x00\x0d\x00\x00\x00crm_Contacts\x00" in frame:
        old = b"\x02type\x00\x0b\x00\x00\x00collection\x00"
        assert old in frame
        body = frame[4:].replace(old, b"\x02type\x00\x05\x00\x00\x00view\x00")
        frame = struct.pack("<i", len(body) + 4) + body
    out.append(frame)
    at += n
out.append(data[at:])
open(sys.argv[2], "wb").write(b"".join(out))
PY
gzip -n "$work/view.archive" && chmod a+r "$work/view.archive.gz"
ok $? "a gzip archive whose prelude calls crm_Contacts a view"
make_target blocks_view "archive '$work/view.archive.gz'"
q -d blocks_view -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1
ok $? "view: the migration ends without an error"
is "$(q -d blocks_view -c "SELECT string_agg(\"table\" || ' ' || \"check\" || ' ' || actual, ', ')
                            FROM nextcrm_validate('src') WHERE status = 'fail' AND family = 'counts'")" \
    "crm_Contacts independent count 0 read, 0 accounted" "view: only that collection fails, on its independent count"
like "$(q -d blocks_view -c "SELECT details FROM nextcrm_validate('src')
                              WHERE \"table\" = 'crm_Contacts' AND \"check\" = 'independent count'")" \
    "/view\.archive\.gz: nextcrm\.crm_Contacts holds 444 documents; the source read yielded 0 documents, the migration accounts for 0" \
    "view: the check names the archive, the namespace and both counts"
is "$(q -d blocks_view -c "SELECT status FROM nextcrm_validate('src') WHERE family = 'summary'")" fail \
    "view: the summary fails"

done_testing
