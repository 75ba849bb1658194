#!/usr/bin/env bash
# Prisma Client 6.19 (engineType "client" + @prisma/adapter-pg, no native
# engines) against the migrated schema, used the way NextCRM uses it:
# connect on many-to-many relations, reads with many-to-many include.
. "$(dirname "$0")/../lib/tap.sh"
. "$NEXTCRM_ROOT/test/lib/schema.sh"
. "$NEXTCRM_ROOT/scripts/lib/prisma.sh"

db=schema_client_$$
schema_create_db "$db"

# The committed generator stays the application's default; this run
# generates a client with engineType "client" from a copy, inside
# prisma/node_modules so that it resolves @prisma/client's runtime.
gen=$PRISMA_DIR/node_modules/.client-check-$$
trap 'rm -rf "$gen"' EXIT
mkdir -p "$gen"
sed 's/^  provider = "prisma-client-js"$/&\n  engineType = "client"\n  output     = "client"/' \
    "$PRISMA_DIR/schema.prisma" >"$gen/schema.prisma"
grep -q 'engineType = "client"' "$gen/schema.prisma"
ok $? "the generator copy asks for engineType \"client\""
export DATABASE_URL
DATABASE_URL=$(schema_db_url "$db")
out=$(prisma_cli generate --schema "$gen/schema.prisma" 2>&1)
ok $? "prisma generate writes the client offline" || printf '# %s\n' "$out"

out=$(NODE_PATH=$PRISMA_DIR/node_modules node "$NEXTCRM_ROOT/test/prisma/client-check.cjs" \
    "$gen/client" 2>&1)
ok $? "the client script runs to the end" || printf '# %s\n' "$out"
val() { sed -n "s/^$1=//p" <<<"$out"; }

is "$(val user.id.is_uuid)" true "ids are uuids drawn by @default(uuid())"
is "$(val user.userStatus)/$(val user.userLanguage)" PENDING/en "enum defaults apply on create"
is "$(val account.status)" Inactive "string defaults apply on create"
is "$(val contact.tags)" "[]" "a list field left out reads as []"
is "$(val doc.document_system_type)" OTHER "the DocumentSystemType default applies"
is "$(val doc.tags.pages)" 3 "Json fields round-trip as jsonb"
is "$(val opp.status)" ACTIVE "the opportunity status enum default applies"
is "$(val account.assigned_documents)" '["contract.pdf"]' \
    "connect from Documents.accounts is read back through crm_Accounts.assigned_documents"
is "$(val account.watching_users)" '["ada@example.com"]' \
    "connect on crm_Accounts.watching_users (_AccountWatchers) reads back"
is "$(val user.watching_accounts)" '["Acme s.r.o."]' "and from the other side, Users.watching_accounts"
is "$(val account.contacts.opportunities)" '["Big deal"]' \
    "nested include through crm_Contacts.assigned_opportunities (_ContactsToOpportunities)"
is "$(val doc.opportunities)" '["Big deal"]' "Documents.opportunities (_DocumentsToOpportunities)"
is "$(val account.createdBy_ref)" ada@example.com "a former loose reference is a relation now"
is "$(val user.Documents_createdBy)" '["contract.pdf"]' "and has its back-relation on Users"
is "$(val fts.contacts)" '["Nováková"]' "a full-text search over notes finds the contact"
is "$(val account.assigned_documents.after_disconnect)" 0 "disconnect removes the join-table row"

# The script's writes are in the tables and join tables Prisma was meant to use.
got=$(q -d "$db" -c "SELECT concat_ws(' ', (SELECT count(*) FROM \"_DocumentsToContacts\"),
                                     (SELECT count(*) FROM \"_AccountWatchers\"),
                                     (SELECT count(*) FROM \"_DocumentsToAccounts\"))" 2>&1)
is "$got" "1 1 0" "join tables hold the connected pairs"

q -c "DROP DATABASE $db" >/dev/null
ok $? "database $db dropped"
done_testing
