#!/usr/bin/env bash
# The files of a dump are opened as PostgreSQL opens its own (issue 20,
# item 3): relative to the dump directory, never through a symbolic link,
# and only when what was opened is a regular file.  A named pipe where a
# collection's file should be is an error naming it for a scan, a count and
# a migration -- never a wait -- and a role with nothing but USAGE on the
# server never reads a file outside the dump, however fast a link is
# swapped in.  Every psql here is bounded by timeout(1): a hang is a failure,
# not a stuck suite.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/migrate.sh"

work=$(mktemp -d)
chmod 755 "$work"
flipper=
trap '[[ -n $flipper ]] && kill "$flipper" 2>/dev/null; rm -rf "$work"' EXIT
fx=$NEXTCRM_ROOT/test/fixtures/mongodump
bounded() { timeout -k 5 120 "$@"; } # far above the seconds these take
tq() { bounded psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }

# A dump folder with one of its files replaced by a named pipe.
pipe_dump() { # folder file-to-replace
    mkdir -p "$1"
    cp "$fx"/dir/nextcrm/* "$1"/
    rm "$1/$2"
    mkfifo "$1/$2"
    chmod -R a+rX "$1"
}

for file in Users.metadata.json Users.bson; do
    dir=$work/pipe_${file//./_}
    pipe_dump "$dir" "$file"
    db=files_pipe_${file//./_}
    make_target "$db" "dump_dir '$dir'"
    q -d "$db" -c "CREATE FOREIGN TABLE users_ft (doc jsonb OPTIONS (document 'true'))
                   SERVER src OPTIONS (collection 'Users')" >/dev/null
    out=$(tq -d "$db" -c "SELECT count(*) FROM users_ft" 2>&1)
    rc=$?
    is "$rc" 1 "$file a pipe: the scan ends with an error, not a wait"
    like "$out" "ERROR:  .*\"$dir/$file\" is a named pipe, not a regular file" \
        "$file a pipe: the scan's error names the file and what it is"
    out=$(tq -d "$db" -c "SELECT documents FROM nextcrm_mongo_collections('src') WHERE collection = 'Users'" 2>&1)
    rc=$?
    holds "rc != 124 && rc != 137" "$file a pipe: counting the collections returns"
    like "$out" "\"$dir/$file\" is a named pipe|^\$" \
        "$file a pipe: the count is an error naming the file, or no number"
    out=$(tq -d "$db" -c "SELECT * FROM nextcrm_migrate_all('src')" 2>&1)
    rc=$?
    holds "rc != 124 && rc != 137" "$file a pipe: the migration returns"
    is "$(q -d "$db" -c "SELECT phase FROM nextcrm_migration.checkpoint WHERE collection = 'Users'")" \
        failed "$file a pipe: Users is recorded as failed"
    like "$(q -d "$db" -c "SELECT message FROM nextcrm_migration.checkpoint WHERE collection = 'Users'")" \
        "\"$dir/$file\" is a named pipe, not a regular file" "$file a pipe: its message names the file"
    is "$(q -d "$db" -c "SELECT status FROM nextcrm_migration.run")" failed "$file a pipe: the run ends failed"
done

# An archive option naming a pipe: like file_fdw, CREATE SERVER does not
# look at the path (restore.sh), and the first call that reads it fails at
# once naming it; so does a pipe put there after the server was created.
mkfifo "$work/archive.pipe"
chmod a+r "$work/archive.pipe"
make_target files_pipe_archive "archive '$work/archive.pipe'"
out=$(tq -d files_pipe_archive -c "SELECT count(*) FROM nextcrm_mongo_collections('src')" 2>&1)
rc=$?
holds "rc != 124 && rc != 137" "an archive that is a pipe: the call returns"
like "$out" "ERROR:  archive \"$work/archive.pipe\" is (a named pipe, )?not a regular file" \
    "an archive that is a pipe: the error names it"
cp "$fx/nextcrm.archive" "$work/archive.later"
chmod a+r "$work/archive.later"
make_target files_pipe_archive "archive '$work/archive.later'"
rm "$work/archive.later"
mkfifo "$work/archive.later"
chmod a+r "$work/archive.later"
out=$(tq -d files_pipe_archive -c "SELECT count(*) FROM nextcrm_mongo_collections('src')" 2>&1)
rc=$?
holds "rc != 124 && rc != 137" "an archive that became a pipe: the call returns"
like "$out" "ERROR:  archive \"$work/archive.later\" is (a named pipe, )?not a regular file" \
    "an archive that became a pipe: the error names it"

# A secret outside the dump, readable by the server's account alone.
secret=$work/outside/secret.bson
mkdir "$work/outside"
python3 - "$secret" <<'PY'
import struct, sys
def doc(value):
    key = b"_id\x00"
    s = value.encode() + b"\x00"
    body = b"\x02" + key + struct.pack("<i", len(s)) + s + b"\x00"
    return struct.pack("<i", len(body) + 4) + body
open(sys.argv[1], "wb").write(doc("OUTSIDE-SECRET-MARKER") * 3)
PY
chmod 600 "$secret"
chmod 711 "$work/outside"

# A link to it in place of Users.bson is refused, with the reason.
dir=$work/linked
mkdir "$dir"
cp "$fx"/dir/nextcrm/* "$dir"/
cp "$dir/Users.bson" "$work/users_regular.bson"
rm "$dir/Users.bson"
ln -s "$secret" "$dir/Users.bson"
chmod -R a+rX "$dir"
make_target files_link "dump_dir '$dir'"
q -d files_link -c "CREATE FOREIGN TABLE users_ft (doc jsonb OPTIONS (document 'true'))
                    SERVER src OPTIONS (collection 'Users')" >/dev/null
out=$(tq -d files_link -c "SELECT doc FROM users_ft" 2>&1)
like "$out" "ERROR:  .*\"$dir/Users.bson\" is a symbolic link" "a link out of the dump is refused"
like "$out" "HINT:  Copy the file into the dump directory instead of linking to it\." \
    "the refusal says what to do"
unlike_secret() { [[ $1 != *OUTSIDE-SECRET-MARKER* ]]; }
unlike_secret "$out"
ok $? "the refusal shows nothing of the file"

# The race: Users.bson swapped between a regular file and a link to the
# secret as fast as the shell can, while a role with only USAGE on the server
# scans it again and again.  Whatever each scan meets, it must never return
# the secret's documents.
q -c "DROP ROLE IF EXISTS files_reader" >/dev/null 2>&1
q -c "CREATE ROLE files_reader LOGIN" >/dev/null
q -d files_link >/dev/null <<SQL
GRANT USAGE ON FOREIGN SERVER src TO files_reader;
CREATE SCHEMA reader AUTHORIZATION files_reader;
SQL
tq -d files_link -U files_reader -c "CREATE FOREIGN TABLE reader.users (doc jsonb OPTIONS (document 'true'))
                                     SERVER src OPTIONS (collection 'Users')" >/dev/null
ok $? "the role with USAGE on the server creates its own foreign table"
(
    while :; do
        ln -f "$work/users_regular.bson" "$dir/.regular" 2>/dev/null
        mv -Tf "$dir/.regular" "$dir/Users.bson"
        ln -sfn "$secret" "$dir/.link"
        mv -Tf "$dir/.link" "$dir/Users.bson"
    done
) &
flipper=$!
scans=1000
result=$(tq -d files_link -U files_reader <<SQL 2>&1
DO \$\$
DECLARE
  leaked int := 0; read_ok int := 0; refused int := 0; n int;
BEGIN
  FOR i IN 1..$scans LOOP
    BEGIN
      SELECT count(*) FILTER (WHERE doc::text LIKE '%OUTSIDE-SECRET-MARKER%') INTO n FROM reader.users;
      IF n > 0 THEN leaked := leaked + 1; END IF;
      read_ok := read_ok + 1;
    EXCEPTION WHEN OTHERS THEN
      IF SQLERRM LIKE '%OUTSIDE-SECRET-MARKER%' THEN leaked := leaked + 1; END IF;
      refused := refused + 1;
    END;
  END LOOP;
  RAISE NOTICE 'scans %, read %, refused %, leaked %', $scans, read_ok, refused, leaked;
END
\$\$;
SQL
)
kill "$flipper"
wait "$flipper" 2>/dev/null
flipper=
like "$result" "NOTICE:  scans $scans, read [0-9]+, refused [0-9]+, leaked 0\$" \
    "$scans scans during the swaps: none returned the outside file ($(sed -n 's/.*NOTICE:  //p' <<<"$result"))"

done_testing
