#!/usr/bin/env bash
# Checksums that fail only at the end (issue 19, item 9): a .bson.gz whose
# CRC-32 or an archive collection whose CRC-64 does not match is known bad
# only after its last document was read, and the checksum covers all of
# them.  So nothing of the collection is kept: it is recorded failed (its
# dependents skipped), holds no rows, validation fails it, and once the file
# is repaired the re-run migrates it from its first document and ends equal
# to a clean run.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
fx=$NEXTCRM_ROOT/test/fixtures/mongodump

make_target checksum_clean "dump_dir '$fx/dir', database 'nextcrm'"
q -d checksum_clean -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1
ok $? "clean: nextcrm_migrate_all() succeeds"
clean_digest=$(digest checksum_clean)

check_nothing_kept() { # db label message-regex
    local db=$1 label=$2
    is "$(q -d "$db" -c "SELECT status FROM nextcrm_migration.run")" failed "$label: the run ends failed"
    is "$(q -d "$db" -c "SELECT phase || '|' || processed || '|' || migrated FROM nextcrm_migration.checkpoint
                          WHERE collection = 'crm_Contacts'")" "failed|0|0" \
        "$label: crm_Contacts is failed and counts nothing as migrated"
    like "$(q -d "$db" -c "SELECT message FROM nextcrm_migration.checkpoint WHERE collection = 'crm_Contacts'")" \
        "$3.* None of the documents read from it is kept" "$label: the message says which checksum and why"
    is "$(q -d "$db" -c 'SELECT count(*) FROM "crm_Contacts"')" 0 "$label: no row of crm_Contacts is kept"
    like "$(q -d "$db" -c "SELECT string_agg(\"check\", ',') FROM nextcrm_validate('src', 1, 50)
                            WHERE status = 'fail' AND \"table\" = 'crm_Contacts'")" 'migration complete' \
        "$label: validation fails crm_Contacts"
}

check_rerun() { # db label
    q -d "$1" -c "SELECT * FROM nextcrm_migrate_all('src')" >"$work/rerun.out" 2>&1
    ok $? "$2: the re-run after the repair succeeds"
    is "$(q -d "$1" -c "SELECT status FROM nextcrm_migration.run")" done "$2: the re-run completes"
    is "$(q -d "$1" -c "SELECT processed FROM nextcrm_migration.checkpoint WHERE collection = 'crm_Contacts'")" \
        444 "$2: crm_Contacts was read from its first document"
    is "$(digest "$1")" "$clean_digest" "$2: the re-run's target equals a clean run"
    is "$(q -d "$1" -c "SELECT string_agg(status, ',') FROM nextcrm_validate('src', 1, 50) WHERE status = 'fail'")" \
        "" "$2: validation passes after the re-run"
}

# 1. crm_Contacts.bson.gz with the CRC-32 in its gzip trailer changed: every
#    byte inflates, the check fails after the last document.
cp -r "$fx/gzip" "$work/gzip"
gz=$work/gzip/nextcrm/crm_Contacts.bson.gz
cp "$gz" "$work/good.bson.gz"
python3 - "$gz" <<'PY'
import sys
p = sys.argv[1]
data = bytearray(open(p, "rb").read())
data[-8] ^= 0xFF  # the first byte of the trailer's CRC-32
open(p, "wb").write(bytes(data))
PY
chmod -R a+rX "$work"
make_target checksum_gzip "dump_dir '$work/gzip'"
q -d checksum_gzip -c "SELECT * FROM nextcrm_migrate_all('src')" >"$work/out" 2>&1
ok $? "gzip: nextcrm_migrate_all() returns its rows"
check_nothing_kept checksum_gzip gzip \
    "^dump file \"$gz\" fails its gzip checksum after [0-9]+ documents \\(at byte [0-9]+\\): incorrect data check\\. "
cp "$work/good.bson.gz" "$gz"
check_rerun checksum_gzip gzip

# 2. The archive with the CRC-64 in crm_Contacts's end-of-data header changed.
archive=$work/checksum.archive
cp "$fx/nextcrm.archive" "$archive"
python3 - "$archive" <<'PY'
import struct, sys
p = sys.argv[1]
data = bytearray(open(p, "rb").read())
at, found = 4, 0
def doc_at(i):
    return struct.unpack_from("<i", data, i)[0]
# The prelude: documents up to a terminator.
while doc_at(at) != -1:
    at += doc_at(at)
at += 4
while at < len(data):
    n = doc_at(at)
    header = bytes(data[at:at + n])
    if b"crm_Contacts\x00" in header and b"\x08EOF\x00\x01" in header:
        crc = header.index(b"\x12CRC\x00") + 5
        data[at + crc] ^= 0xFF
        found += 1
    at += n
    while doc_at(at) != -1:  # the block's documents, then its terminator
        at += doc_at(at)
    at += 4
assert found == 1, found
open(p, "wb").write(bytes(data))
PY
ok $? "archive: crm_Contacts's end-of-data CRC changed"
chmod -R a+rX "$work"
make_target checksum_archive "archive '$archive'"
q -d checksum_archive -c "SELECT * FROM nextcrm_migrate_all('src')" >"$work/out" 2>&1
ok $? "archive: nextcrm_migrate_all() returns its rows"
check_nothing_kept checksum_archive archive \
    "^archive \"$archive\" fails the CRC-64 checksum of collection \"crm_Contacts\" at byte [0-9]+\\. Collection \"crm_Contacts\": 444 documents were read before the damage\\."
cp "$fx/nextcrm.archive" "$archive"
check_rerun checksum_archive archive

done_testing
