#!/usr/bin/env bash
# The 23 former loose references are enforced by triggers, not foreign keys
# (prisma/migrations/*_loose_reference_triggers): they must behave as the
# foreign keys did -- a dangling key refused as a foreign-key violation, ON
# DELETE SET NULL (RESTRICT for Sections.board), ON UPDATE CASCADE, TRUNCATE
# refused while references are left, a concurrent DELETE of the referenced row
# never slipping through -- also for a role without superuser or ownership,
# under a hostile search_path, in bulk, with NULLs; and what differs from a
# foreign key (profiles/nextcrm/README.md, "Loose references") is what is stated.
. "$(dirname "$0")/../lib/tap.sh"
. "$NEXTCRM_ROOT/test/lib/schema.sh"

db=schema_loose_$$
app=crm_app_$$
schema_create_db "$db"
Q() { q -d "$db" "$@" 2>&1; } # an error shows up as a wrong value
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

u1=00000000-0000-4000-8000-000000000001
u2=00000000-0000-4000-8000-000000000002
u3=00000000-0000-4000-8000-000000000003
gone=00000000-0000-4000-8000-0000000000ff
Q -c "INSERT INTO \"Users\" (id, email) VALUES ('$u1', 'u1@x'), ('$u2', 'u2@x'), ('$u3', 'u3@x')" >/dev/null
ok $? "three users"

# --- as the foreign key did ------------------------------------------------------
got=$(Q -v VERBOSITY=verbose -c "INSERT INTO \"crm_Contacts\" (id, last_name, \"createdBy\")
                                 VALUES (gen_random_uuid(), 'c', '$gone')")
like "$got" "ERROR:  23503: insert or update on table \"crm_Contacts\" violates foreign key constraint \"crm_Contacts_createdBy_fkey\"" \
    "a dangling createdBy: foreign_key_violation, the message PostgreSQL gives for a foreign key"
like "$got" "DETAIL:  Key \\(createdBy\\)=\\($gone\\) is not present in table \"Users\"\\." "with its DETAIL"
like "$got" "CONSTRAINT NAME:  crm_Contacts_createdBy_fkey" "and the constraint name the loader and Prisma read"
is "$(Q -c "SELECT count(*) FROM \"crm_Contacts\"")" 0 "the row is not there"

c1=10000000-0000-4000-8000-000000000001
c2=10000000-0000-4000-8000-000000000002
Q -c "INSERT INTO \"crm_Contacts\" (id, last_name, \"createdBy\", \"updatedBy\", last_activity_by)
      VALUES ('$c1', 'one', '$u1', '$u2', NULL), ('$c2', 'two', NULL, NULL, NULL)" >/dev/null
ok $? "references to existing users and NULLs are accepted"
got=$(Q -c "INSERT INTO \"crm_Contacts\" (id, last_name, \"createdBy\")
            SELECT gen_random_uuid(), 'bulk', u FROM (VALUES ('$u1'::uuid), ('$u2'), ('$gone'), ('$u3')) v(u)")
like "$got" 'violates foreign key constraint "crm_Contacts_createdBy_fkey"' \
    "a multi-row INSERT with one dangling key among good ones is refused whole"
like "$got" "Key \\(createdBy\\)=\\($gone\\)" "naming the dangling key"
got=$(Q -c "UPDATE \"crm_Contacts\" SET \"updatedBy\" = '$gone' WHERE id = '$c1'")
like "$got" 'violates foreign key constraint "crm_Contacts_updatedBy_fkey"' "an UPDATE to a dangling key is refused"
Q -c "UPDATE \"crm_Contacts\" SET last_name = 'One' WHERE id = '$c1'" >/dev/null
ok $? "an UPDATE of other columns is not"
got=$(Q -c "INSERT INTO \"crm_Contacts\" (id, last_name, \"createdBy\") VALUES ('$c1', 'x', '$gone')
            ON CONFLICT (id) DO UPDATE SET \"createdBy\" = EXCLUDED.\"createdBy\"")
like "$got" 'violates foreign key constraint "crm_Contacts_createdBy_fkey"' "INSERT … ON CONFLICT DO UPDATE to a dangling key is refused"
got=$(Q -c "MERGE INTO \"crm_Contacts\" c USING (VALUES ('$c1'::uuid)) v(id) ON c.id = v.id
            WHEN MATCHED THEN UPDATE SET \"updatedBy\" = '$gone'")
like "$got" 'violates foreign key constraint "crm_Contacts_updatedBy_fkey"' "so is MERGE"
got=$(printf '%s\t%s\t%s\n' 10000000-0000-4000-8000-0000000000c0 copied "$gone" |
      Q -c "COPY \"crm_Contacts\" (id, last_name, \"createdBy\") FROM STDIN")
like "$got" 'violates foreign key constraint "crm_Contacts_createdBy_fkey"' "and COPY"
got=$(Q -c "BEGIN; SET CONSTRAINTS ALL DEFERRED;
            UPDATE \"crm_Contacts\" SET \"updatedBy\" = '$gone' WHERE id = '$c1';
            UPDATE \"crm_Contacts\" SET \"updatedBy\" = '$u2' WHERE id = '$c1'; COMMIT;")
like "$got" 'violates foreign key constraint' \
    "SET CONSTRAINTS ALL DEFERRED defers nothing: checked at the statement's end, as the NOT DEFERRABLE foreign key was"

Q -c "UPDATE \"Users\" SET id = '20000000-0000-4000-8000-000000000001' WHERE id = '$u1'" >/dev/null
ok $? "a user's id changes"
is "$(Q -c "SELECT \"createdBy\" FROM \"crm_Contacts\" WHERE id = '$c1'")" 20000000-0000-4000-8000-000000000001 \
    "ON UPDATE CASCADE: the contact's createdBy follows it"
Q -c "UPDATE \"Users\" SET id = '$u1' WHERE id = '20000000-0000-4000-8000-000000000001'" >/dev/null

Q -c "DELETE FROM \"Users\" WHERE id = '$u2'" >/dev/null
ok $? "deleting a user who is a contact's updatedBy succeeds"
is "$(Q -c "SELECT coalesce(\"updatedBy\"::text, 'NULL') || ' ' || \"createdBy\" FROM \"crm_Contacts\" WHERE id = '$c1'")" \
    "NULL $u1" "ON DELETE SET NULL: updatedBy is NULL, createdBy untouched"

# Sections.board: required, ON DELETE RESTRICT.
b1=30000000-0000-4000-8000-000000000001
Q -c "INSERT INTO \"Boards\" (id, __v, description, title, \"user\") VALUES ('$b1', 0, 'd', 't', '$u1');
      INSERT INTO \"Sections\" (id, __v, board, title) VALUES (gen_random_uuid(), 0, '$b1', 's')" >/dev/null
ok $? "a board with a section"
got=$(Q -v VERBOSITY=verbose -c "DELETE FROM \"Boards\" WHERE id = '$b1'")
like "$got" "ERROR:  23503: update or delete on table \"Boards\" violates foreign key constraint \"Sections_board_fkey\" on table \"Sections\"" \
    "ON DELETE RESTRICT: deleting a board with a section is refused"
like "$got" "DETAIL:  Key \\(id\\)=\\($b1\\) is still referenced from table \"Sections\"\\." "with PostgreSQL's DETAIL"

# TRUNCATE: a foreign key refuses it unless the referencing table goes too.
got=$(Q -c "TRUNCATE \"Boards\" CASCADE")
like "$got" 'ERROR:  cannot truncate a table referenced in a foreign key constraint' \
    "TRUNCATE … CASCADE of Boards is refused while Sections reference it (CASCADE does not follow triggers)"
is "$(Q -c "SELECT count(*) FROM \"Sections\"") $(Q -c "SELECT count(*) FROM \"Boards\"")" "1 1" "nothing was truncated"
Q -c "TRUNCATE \"Boards\", \"Sections\" CASCADE" >/dev/null
ok $? "TRUNCATE of both together is allowed"

# Bulk: many contacts, one DELETE of many users.
Q -c "INSERT INTO \"Users\" (id, email) SELECT ('40000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, 'b' || i
        FROM generate_series(1, 2000) i;
      INSERT INTO \"crm_Contacts\" (id, last_name, \"createdBy\", \"updatedBy\")
      SELECT gen_random_uuid(), 'bulk', ('40000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid,
             ('40000000-0000-4000-8000-' || lpad((2001 - i)::text, 12, '0'))::uuid
        FROM generate_series(1, 2000) i" >/dev/null
ok $? "2000 contacts referencing 2000 users in one INSERT"
Q -c "DELETE FROM \"Users\" WHERE email LIKE 'b%' AND email <> 'b1'" >/dev/null
ok $? "one DELETE of 1999 of them"
is "$(Q -c "SELECT count(\"createdBy\") || ' ' || count(\"updatedBy\") FROM \"crm_Contacts\" WHERE last_name = 'bulk'")" \
    "1 1" "every reference to a deleted user is NULL, the one left keeps its two"

# What differs from a foreign key, as docs/MIGRATING.md states it.
is "$(Q -c "SELECT count(*) FROM pg_constraint WHERE conname = 'crm_Contacts_createdBy_fkey'")" 0 \
    "no constraint of that name: \\d shows the references under Triggers, not Foreign-key constraints"
d=$(psql -X -d "$db" -c '\d "crm_Contacts"' 2>&1)
like "$d" 'Triggers:.*"crm_Contacts_createdBy_fkey_ins" AFTER INSERT ON "crm_Contacts" FOR EACH ROW WHEN' \
    "\\d lists the check under Triggers"
[[ $d != *'FOREIGN KEY ("createdBy")'* ]]
ok $? "and no foreign key on createdBy"
got=$(Q -c "SET session_replication_role = replica;
            INSERT INTO \"crm_Contacts\" (id, last_name, \"createdBy\") VALUES (gen_random_uuid(), 'replica', '$gone')")
is "$got" "" "session_replication_role = replica turns the checks off, as it does a foreign key's"
Q -c "DELETE FROM \"crm_Contacts\" WHERE last_name = 'replica'" >/dev/null
got=$(Q -c "ALTER TABLE \"crm_Contacts\" DISABLE TRIGGER ALL;
            INSERT INTO \"crm_Contacts\" (id, last_name, \"createdBy\") VALUES (gen_random_uuid(), 'disabled', '$gone');
            DELETE FROM \"crm_Contacts\" WHERE last_name = 'disabled';
            ALTER TABLE \"crm_Contacts\" ENABLE TRIGGER ALL")
is "$got" "" "ALTER TABLE … DISABLE TRIGGER ALL turns them off too"
pg_dump -d "$db" --schema-only -f "$tmp/dump.sql"
is "$(grep -c '^CREATE TRIGGER "[A-Za-z_]*_fkey_\(ins\|upd\|del\|key\|trunc\)"' "$tmp/dump.sql")" 115 \
    "pg_dump keeps the 115 triggers (23 references x 5)"

# --- a role that is neither superuser nor owner ---------------------------------
q -c "DROP ROLE IF EXISTS $app" >/dev/null 2>&1
q -c "CREATE ROLE $app LOGIN" >/dev/null
Q -c "GRANT USAGE, CREATE ON SCHEMA public TO $app; GRANT CREATE ON DATABASE $db TO $app;
      GRANT SELECT ON \"Users\" TO $app;
      GRANT SELECT, INSERT, UPDATE ON \"crm_Contacts\" TO $app;
      GRANT DELETE ON \"Users\" TO $app" >/dev/null
ok $? "role $app: SELECT on Users, INSERT/UPDATE on crm_Contacts, DELETE on Users, nothing else"
A() { q -d "$db" -U "$app" "$@" 2>&1; }
c3=10000000-0000-4000-8000-000000000003
A -c "INSERT INTO \"crm_Contacts\" (id, last_name, \"createdBy\", \"updatedBy\") VALUES ('$c3', 'app', '$u1', '$u3')" >/dev/null
ok $? "it references a user (FOR KEY SHARE needs UPDATE on Users: the check runs with the owner's rights, as a foreign key's)"
like "$(A -c "INSERT INTO \"crm_Contacts\" (id, last_name, \"createdBy\") VALUES (gen_random_uuid(), 'app', '$gone')")" \
    'violates foreign key constraint "crm_Contacts_createdBy_fkey"' "and is refused a dangling one"
A -c "DELETE FROM \"Users\" WHERE id = '$u3'" >/dev/null
ok $? "it deletes a user without UPDATE on the referencing tables"
is "$(Q -c "SELECT coalesce(\"updatedBy\"::text, 'NULL') FROM \"crm_Contacts\" WHERE id = '$c3'")" NULL \
    "and the contact's updatedBy is set NULL (with the owner's rights, as a foreign key's action)"
like "$(A -c "CREATE TABLE public.mine (id uuid, \"createdBy\" uuid);
              CREATE TRIGGER t AFTER DELETE ON public.mine REFERENCING OLD TABLE AS nextcrm_old
              FOR EACH STATEMENT EXECUTE FUNCTION public.nextcrm_loose_ref_action('crm_Contacts', 'createdBy', 'SET NULL', 'x')")" \
    'permission denied for function (public\.)?nextcrm_loose_ref_action' \
    "it cannot attach the SECURITY DEFINER functions to a table of its own"

# --- a hostile search_path ---------------------------------------------------------
# The role puts a schema of its own first, with a "Users" holding the
# dangling id, an always-true = for uuid and functions named like those the
# triggers call: none of them is used.
A >/dev/null <<'SQL'
CREATE SCHEMA evil;
CREATE TABLE evil."Users" (id uuid);
INSERT INTO evil."Users" VALUES ('00000000-0000-4000-8000-0000000000ff');
CREATE FUNCTION evil.yes(uuid, uuid) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR evil.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = evil.yes);
CREATE FUNCTION evil.cardinality(anyarray) RETURNS int LANGUAGE sql AS 'SELECT 0';
CREATE FUNCTION evil.format(text, text) RETURNS text LANGUAGE sql AS $$SELECT 'SELECT 1'$$;
CREATE FUNCTION evil.unnest(uuid[]) RETURNS SETOF uuid LANGUAGE sql AS 'SELECT NULL::uuid WHERE false';
SQL
ok $? "schema evil with a \"Users\", an operator = and functions cardinality, format, unnest"
got=$(A -c "SET search_path = evil, public, pg_catalog;
            INSERT INTO \"crm_Contacts\" (id, last_name, \"createdBy\") VALUES (gen_random_uuid(), 'evil', '$gone')")
like "$got" 'violates foreign key constraint "crm_Contacts_createdBy_fkey"' \
    "with search_path = evil, public a dangling key is still refused"
A -c "SET search_path = evil, public, pg_catalog;
      INSERT INTO \"crm_Contacts\" (id, last_name, \"createdBy\") VALUES (gen_random_uuid(), 'evil', '$u1')" >/dev/null
ok $? "and a good one accepted"

# --- a concurrent DELETE of the referenced row ------------------------------------
# Deterministic: each step waits for the other session to be blocked on a
# lock (pg_stat_activity) or done, never for time.
session() { # name: a psql reading statements from fifo $tmp/name, output in $tmp/name.out
    mkfifo "$tmp/$1"
    psql -X -q -At -d "$db" <"$tmp/$1" >"$tmp/$1.out" 2>&1 &
}
blocked_or_done() { # pid query-prefix: until the backend running it waits on a lock, or pid ended
    while kill -0 "$1" 2>/dev/null; do
        [[ $(q -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db'
                    AND wait_event_type = 'Lock' AND query LIKE '$2%'") == 1 ]] && return 0
        sleep 0.05
    done
    return 1
}
u4=00000000-0000-4000-8000-000000000004
u5=00000000-0000-4000-8000-000000000005
Q -c "INSERT INTO \"Users\" (id, email) VALUES ('$u4', 'u4@x'), ('$u5', 'u5@x')" >/dev/null

# 1. A references u4 in an open transaction; B deletes u4: B waits for A,
#    then sets A's (committed) reference NULL.
session a
exec 7>"$tmp/a"
c4=10000000-0000-4000-8000-000000000004
echo "BEGIN; INSERT INTO \"crm_Contacts\" (id, last_name, \"createdBy\") VALUES ('$c4', 'race', '$u4'); SELECT 'a inserted';" >&7
wait_for_output 'a inserted\|ERROR' "$tmp/a.out"
q -d "$db" -c "DELETE FROM \"Users\" WHERE id = '$u4'" >"$tmp/b.out" 2>&1 &
bpid=$!
blocked_or_done $bpid 'DELETE FROM "Users"'
ok $? "B's DELETE of the user waits for A's transaction (the row is locked FOR KEY SHARE)"
echo "COMMIT;" >&7
exec 7>&-
wait
is "$(cat "$tmp/b.out")" "" "after A commits, B's DELETE succeeds"
is "$(Q -c "SELECT coalesce(\"createdBy\"::text, 'NULL') FROM \"crm_Contacts\" WHERE id = '$c4'")" NULL \
    "and A's reference is set NULL: no dangling createdBy"

# 2. B deletes u5 in an open transaction; A references u5: A waits, and is
#    refused once B commits.
rm -f "$tmp/a" "$tmp/a.out"
session a
exec 7>"$tmp/a"
echo "BEGIN; DELETE FROM \"Users\" WHERE id = '$u5'; SELECT 'b deleted';" >&7
wait_for_output 'b deleted\|ERROR' "$tmp/a.out"
q -d "$db" -c "INSERT INTO \"crm_Contacts\" (id, last_name, \"createdBy\") VALUES (gen_random_uuid(), 'race2', '$u5')" \
    >"$tmp/c.out" 2>&1 &
cpid=$!
blocked_or_done $cpid 'INSERT INTO "crm_Contacts"'
ok $? "A's INSERT referencing a user being deleted waits for the deleting transaction"
echo "COMMIT;" >&7
exec 7>&-
wait
like "$(cat "$tmp/c.out")" 'violates foreign key constraint "crm_Contacts_createdBy_fkey"' \
    "and is refused once the DELETE commits"
is "$(Q -c "SELECT count(*) FROM \"crm_Contacts\" c WHERE \"createdBy\" IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM \"Users\" u WHERE u.id = c.\"createdBy\")")" 0 \
    "no contact's createdBy dangles"

# 3. As 1, with the DELETE in a REPEATABLE READ or SERIALIZABLE transaction
#    whose snapshot is older than A's (READ COMMITTED) commit.  A foreign
#    key's ON DELETE action looks with a fresh snapshot and also sets A's row
#    NULL; a trigger sees only its transaction's snapshot, so A's reference is
#    left dangling: the difference docs/MIGRATING.md states, measured here.
race_snapshot() { # isolation user-id contact-id: prints B's output, then A's reference
    rm -f "$tmp/a" "$tmp/a.out"
    session a
    exec 7>"$tmp/a"
    echo "BEGIN; INSERT INTO \"crm_Contacts\" (id, last_name, \"createdBy\") VALUES ('$3', 'race3', '$2'); SELECT 'a inserted';" >&7
    wait_for_output 'a inserted\|ERROR' "$tmp/a.out"
    printf '%s\n' "BEGIN ISOLATION LEVEL $1;" "DELETE FROM \"Users\" WHERE id = '$2';" "COMMIT;" |
        psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" >"$tmp/b.out" 2>&1 &
    local bpid=$!
    blocked_or_done $bpid 'DELETE FROM "Users"' || echo "B did not wait"
    echo "COMMIT;" >&7
    exec 7>&-
    wait
    cat "$tmp/b.out" "$tmp/a.out" | grep -v '^a inserted$'
    Q -c "SELECT coalesce(\"createdBy\"::text, 'NULL') || ' ' || (SELECT count(*) FROM \"Users\" WHERE id = '$2')
          FROM \"crm_Contacts\" WHERE id = '$3'"
}
u6=00000000-0000-4000-8000-000000000006
u7=00000000-0000-4000-8000-000000000007
Q -c "INSERT INTO \"Users\" (id, email) VALUES ('$u6', 'u6@x'), ('$u7', 'u7@x')" >/dev/null
got=$(race_snapshot 'SERIALIZABLE' "$u6" 10000000-0000-4000-8000-000000000006)
is "$got" "$u6 0" \
    "SERIALIZABLE DELETE racing with a new reference: the DELETE commits and the reference dangles (the stated difference)"
got=$(race_snapshot 'REPEATABLE READ' "$u7" 10000000-0000-4000-8000-000000000007)
is "$got" "$u7 0" "REPEATABLE READ: the same"
is "$(Q -c "SELECT count(*) FROM \"crm_Contacts\" WHERE last_name = 'race3'")" 2 "both contacts were written"

q -c "DROP DATABASE $db" >/dev/null
ok $? "database $db dropped"
q -c "DROP ROLE $app" >/dev/null
ok $? "role $app dropped"
done_testing
