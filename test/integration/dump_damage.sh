#!/usr/bin/env bash
# Damage is contained (issue 10, requirement 2): a truncated .bson, a
# corrupt .bson.gz and a corrupt collection inside an archive each fail their
# collection only.  The documents before the damage are migrated; the
# collection is recorded as failed with file, byte offset and documents read;
# collections that reference it are skipped with the reason; every other
# collection completes equal to a clean run; the run ends 'failed', the
# caller's WARNINGs and result rows name the collection, validation fails it;
# after the file is restored a re-run completes equal to a clean run.  The
# dump's *.bson files that are not NextCRM collections are named in the run's
# record.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
cp -r "$NEXTCRM_ROOT/test/fixtures/mongodump" "$work/fx"
chmod -R u+w,a+rX "$work/fx"
fx=$work/fx

# The clean run every damaged one is compared with.
make_target damage_clean "dump_dir '$fx/dir', database 'nextcrm'"
q -d damage_clean -c "SELECT * FROM nextcrm_migrate_all('src')" >/dev/null 2>&1
ok $? "clean: nextcrm_migrate_all() succeeds"
clean_digest=$(digest damage_clean)

# One md5 per row of a table, sorted.
row_md5s() { q -d "$1" -c "SELECT md5(x::text) FROM \"$2\" x ORDER BY 1"; }
# The collections a run completed, each with its table's digest.
done_digests() { # db [other-db: digest the same tables there]
    local t
    for t in $(q -d "$1" -c "SELECT collection FROM nextcrm_migration.checkpoint
                              WHERE phase = 'done' ORDER BY collection"); do
        echo "$t=$(q -d "${2:-$1}" -c "SELECT md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) FROM \"$t\" x")"
    done
}
# Direct referrers of crm_Contacts: they must be skipped.
referrers=$(q -d damage_clean -c "SELECT string_agg(DISTINCT collection, ',' ORDER BY collection)
                                    FROM nextcrm_mapping()
                                   WHERE kind IN ('ref', 'ref_array') AND ref_model = 'crm_Contacts'
                                     AND collection <> 'crm_Contacts'")
[[ -n $referrers ]]
ok $? "crm_Contacts has referrers ($referrers)"

# Checks shared by the three shapes: $1 db, $2 label, $3 regex of the
# recorded message, $4 the caller's output.
check_contained() {
    local db=$1 label=$2 msg_re=$3 out=$4
    is "$(q -d "$db" -c "SELECT status FROM nextcrm_migration.run")" failed "$label: the run ends failed"
    like "$(q -d "$db" -c "SELECT message FROM nextcrm_migration.run")" \
        '^collections failed: (.*, )?crm_Contacts(,|;|$)' "$label: the run's message names crm_Contacts"
    is "$(q -d "$db" -c "SELECT phase FROM nextcrm_migration.checkpoint WHERE collection = 'crm_Contacts'")" \
        failed "$label: crm_Contacts is recorded as failed"
    local message processed
    message=$(q -d "$db" -c "SELECT message FROM nextcrm_migration.checkpoint WHERE collection = 'crm_Contacts'")
    processed=$(q -d "$db" -c "SELECT processed FROM nextcrm_migration.checkpoint WHERE collection = 'crm_Contacts'")
    like "$message" "$msg_re" "$label: the message names the file, the byte offset and the documents read"
    holds "processed > 0 && processed < 444" "$label: $processed of 444 documents read before the damage"
    is "$(q -d "$db" -c "SELECT migrated + failed FROM nextcrm_migration.checkpoint WHERE collection = 'crm_Contacts'")" \
        "$processed" "$label: each document read is migrated or an error"
    row_md5s "$db" crm_Contacts >"$work/got"
    row_md5s damage_clean crm_Contacts >"$work/clean"
    is "$(comm -23 "$work/got" "$work/clean" | wc -l)|$(wc -l <"$work/got")" \
        "0|$(q -d "$db" -c "SELECT migrated FROM nextcrm_migration.checkpoint WHERE collection = 'crm_Contacts'")" \
        "$label: the documents before the damage are in the target, as a clean run has them"
    local r bad=""
    for r in ${referrers//,/ }; do
        [[ $(q -d "$db" -c "SELECT phase || '|' || message FROM nextcrm_migration.checkpoint WHERE collection = '$r'") == \
            "skipped|skipped: depends on failed crm_Contacts" ]] || bad+=" $r"
    done
    is "$bad" "" "$label: the collections referencing crm_Contacts are skipped with the reason"
    is "$(q -d "$db" -c "SELECT count(*) FROM nextcrm_migration.checkpoint WHERE phase NOT IN ('done', 'failed', 'skipped')")" \
        0 "$label: every other collection ran to its end"
    done_digests "$db" >"$work/mine"
    done_digests "$db" damage_clean >"$work/theirs"
    is "$(diff "$work/mine" "$work/theirs" && wc -l <"$work/mine")" \
        "$(q -d "$db" -c "SELECT count(*) FROM nextcrm_migration.checkpoint WHERE phase = 'done'")" \
        "$label: every completed collection equals the clean run's table"
    like "$out" 'WARNING:  collection "crm_Contacts" failed: ' "$label: the caller warns naming crm_Contacts"
    like "$out" 'crm_Contacts\|[0-9]+\|[0-9]+\|[0-9]+\|[0-9]+\|[0-9.]+\|[0-9]*\|failed: ' \
        "$label: the caller's result row says crm_Contacts failed"
    like "$out" "crm_Opportunities\|[0-9]*\|0\|0\|0\|0\|\|skipped: depends on failed crm_Contacts" \
        "$label: the caller's result row says crm_Opportunities was skipped"
    local v
    v=$(q -d "$db" -c "SELECT string_agg(\"table\" || '/' || \"check\", ', ' ORDER BY \"table\", \"check\")
                         FROM nextcrm_validate('src', 1, 50) WHERE status = 'fail' AND \"table\" = 'crm_Contacts'")
    like "$v" 'crm_Contacts/migration complete' "$label: validation fails crm_Contacts as not migrated"
    like "$v" 'crm_Contacts/source readable' "$label: validation fails crm_Contacts's damaged source"
}

# Re-run after the good file is back: resumes, completes, equals clean.
check_rerun() { # db label
    q -d "$1" -c "SELECT * FROM nextcrm_migrate_all('src')" >"$work/rerun.out" 2>&1
    ok $? "$2: the re-run after the repair succeeds"
    is "$(q -d "$1" -c "SELECT status FROM nextcrm_migration.run")" done "$2: the re-run completes"
    is "$(q -d "$1" -c "SELECT count(*) FROM nextcrm_migration.checkpoint WHERE message IS NOT NULL OR phase <> 'done'")" \
        0 "$2: no collection is left failed or skipped"
    is "$(digest "$1")" "$clean_digest" "$2: the re-run's target equals a clean run"
    is "$(q -d "$1" -c "SELECT string_agg(status, ',') FROM nextcrm_validate('src', 1, 50) WHERE status = 'fail'")" \
        "" "$2: validation passes after the re-run"
}

# 1. A folder whose crm_Contacts.bson ends inside document 51, and a .bson
#    that is not a NextCRM collection.
cp -r "$fx/dir" "$work/dir"
good=$work/good_contacts.bson
cp "$fx/dir/nextcrm/crm_Contacts.bson" "$good"
cut=$(python3 - "$good" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
at = 0
for _ in range(50):
    at += struct.unpack_from("<i", data, at)[0]
print(at + 37)  # inside document 51
PY
)
head -c "$cut" "$good" >"$work/dir/nextcrm/crm_Contacts.bson"
cp "$fx/dir/nextcrm/Boards.bson" "$work/dir/nextcrm/legacy_notes.bson"
chmod -R a+rX "$work"
make_target damage_dir "dump_dir '$work/dir', database 'nextcrm'"
out=$(q -d damage_dir -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
ok $? "dir: nextcrm_migrate_all() returns its rows"
check_contained damage_dir dir \
    "^dump file \"$work/dir/nextcrm/crm_Contacts.bson\" is truncated or corrupt after 50 documents \(at byte $((cut - 37))\)\$" "$out"
is "$(q -d damage_dir -c "SELECT processed FROM nextcrm_migration.checkpoint WHERE collection = 'crm_Contacts'")" \
    50 "dir: exactly the 50 whole documents were read"
is "$(q -d damage_dir -c "SELECT unmapped_collections FROM nextcrm_migration.run")" "{legacy_notes}" \
    "dir: the run's record names the dump's collection that is not NextCRM's"
like "$out" 'NOTICE:  1 collections in the dump are not NextCRM collections' "dir: and so does a NOTICE"

# A second run with the file still damaged fails the same way, nothing more.
out=$(q -d damage_dir -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
check_contained damage_dir "dir, again" \
    "^dump file \"$work/dir/nextcrm/crm_Contacts.bson\" is truncated or corrupt after 50 documents \(at byte $((cut - 37))\)\$" "$out"

# nextcrm_migrate_table on a skipped dependent is refused with the reason.
out=$(q -d damage_dir -c "SELECT * FROM nextcrm_migrate_table('src', 'crm_Opportunities')" 2>&1)
like "$out" 'ERROR:  collection "crm_Opportunities" references collections whose migration is not complete' \
    "dir: a skipped dependent cannot be migrated alone"

cp "$good" "$work/dir/nextcrm/crm_Contacts.bson"
check_rerun damage_dir dir

# 2. The gzip folder with bytes of crm_Contacts.bson.gz's stream zeroed.
cp -r "$fx/gzip" "$work/gzip"
gz=$work/gzip/nextcrm/crm_Contacts.bson.gz
cp "$gz" "$work/good_contacts.bson.gz"
python3 - "$gz" <<'PY'
import sys
p = sys.argv[1]
data = bytearray(open(p, "rb").read())
mid = len(data) // 2
data[mid:mid + 64] = bytes(64)
open(p, "wb").write(bytes(data))
PY
chmod -R a+rX "$work"
make_target damage_gzip "dump_dir '$work/gzip'"
out=$(q -d damage_gzip -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
ok $? "gzip: nextcrm_migrate_all() returns its rows"
check_contained damage_gzip gzip \
    "^(could not read dump file \"$gz\" after [0-9]+ documents \(at byte [0-9]+\): .+|dump file \"$gz\" is truncated or corrupt after [0-9]+ documents \(at byte [0-9]+\))\$" "$out"
cp "$work/good_contacts.bson.gz" "$gz"
check_rerun damage_gzip gzip

# 3. An archive whose 100th crm_Contacts document holds an element of no BSON
#    type (its length prefix intact, so the other collections' blocks after
#    it are still read).
archive=$work/damaged.archive
cp "$fx/nextcrm.archive" "$archive"
python3 - "$archive" "$good" <<'PY'
import struct, sys
arch = bytearray(open(sys.argv[1], "rb").read())
data = open(sys.argv[2], "rb").read()
at = 0
for _ in range(99):
    at += struct.unpack_from("<i", data, at)[0]
doc = data[at:at + struct.unpack_from("<i", data, at)[0]]
pos = arch.find(doc)
assert pos > 0 and arch.find(doc, pos + 1) < 0
arch[pos + 4] = 0xEE  # the first element's type byte
open(sys.argv[1], "wb").write(bytes(arch))
PY
ok $? "archive: the 100th crm_Contacts document found and damaged"
chmod -R a+rX "$work"
make_target damage_archive "archive '$archive'"
out=$(q -d damage_archive -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
ok $? "archive: nextcrm_migrate_all() returns its rows"
check_contained damage_archive archive \
    "^archive \"$archive\" holds a corrupt document at byte [0-9]+ \(byte [0-9]+ of it\)\. Collection \"crm_Contacts\": 99 documents were read before the damage\.\$" "$out"
is "$(q -d damage_archive -c "SELECT string_agg(collection, ',') FROM nextcrm_migration.checkpoint WHERE phase = 'failed'")" \
    crm_Contacts "archive: crm_Contacts is the only collection that failed"
cp "$fx/nextcrm.archive" "$archive"
check_rerun damage_archive archive

# 4. A collection file that cannot be read as one (a directory where
#    crm_Contacts.bson should be) fails that collection with the reason.
mkdir -p "$work/unreadable"
cp -r "$fx/dir/nextcrm" "$work/unreadable/"
rm "$work/unreadable/nextcrm/crm_Contacts.bson"
mkdir "$work/unreadable/nextcrm/crm_Contacts.bson"
chmod -R a+rX "$work"
make_target damage_unreadable "dump_dir '$work/unreadable/nextcrm'"
out=$(q -d damage_unreadable -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
ok $? "unreadable: nextcrm_migrate_all() returns its rows"
is "$(q -d damage_unreadable -c "SELECT phase || '|' || processed FROM nextcrm_migration.checkpoint WHERE collection = 'crm_Contacts'")" \
    "failed|0" "unreadable: crm_Contacts is recorded as failed, no document read"
like "$(q -d damage_unreadable -c "SELECT message FROM nextcrm_migration.checkpoint WHERE collection = 'crm_Contacts'")" \
    "^collection \"crm_Contacts\" cannot be read from \"$work/unreadable/nextcrm\"\\. .+" \
    "unreadable: the message says why"
like "$out" 'WARNING:  collection "crm_Contacts" failed: collection "crm_Contacts" cannot be read' \
    "unreadable: the caller warns naming it"
is "$(q -d damage_unreadable -c "SELECT count(*) FROM nextcrm_migration.checkpoint WHERE phase = 'skipped'
                                  AND message <> 'skipped: depends on failed crm_Contacts'")|$(q -d damage_unreadable -c "SELECT count(*) > 0 FROM nextcrm_migration.checkpoint WHERE phase = 'skipped'")" \
    "0|t" "unreadable: its dependents are skipped naming it"
rmdir "$work/unreadable/nextcrm/crm_Contacts.bson"
cp "$good" "$work/unreadable/nextcrm/crm_Contacts.bson"
chmod a+r "$work/unreadable/nextcrm/crm_Contacts.bson"
check_rerun damage_unreadable unreadable

done_testing
