// Exercises the schema through Prisma Client the way NextCRM does: nested
// creates, many-to-many `connect`, and reads with many-to-many `include`.
// Prints one "key=value" line per observation; the calling TAP script
// (test/integration/schema_prisma_client.sh) asserts on them.
//
// usage: node client-check.cjs GENERATED_CLIENT_DIR   (DATABASE_URL set)
"use strict";
const { PrismaPg } = require("@prisma/adapter-pg");
const { PrismaClient } = require(process.argv[2]);

function show(key, value) {
  console.log(`${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
}

async function main() {
  const prisma = new PrismaClient({
    adapter: new PrismaPg({ connectionString: process.env.DATABASE_URL }),
  });
  try {
    const user = await prisma.users.create({
      data: { email: "ada@example.com", name: "Ada", v: 0 },
    });
    show("user.userStatus", user.userStatus);
    show("user.userLanguage", user.userLanguage);
    show("user.id.is_uuid", /^[0-9a-f-]{36}$/.test(user.id));

    const account = await prisma.crm_Accounts.create({
      data: {
        v: 0,
        name: "Acme s.r.o.",
        assigned_to_user: { connect: { id: user.id } },
        createdBy_ref: { connect: { id: user.id } },
        watching_users: { connect: [{ id: user.id }] },
      },
    });
    show("account.status", account.status);

    const contact = await prisma.crm_Contacts.create({
      data: {
        last_name: "Nováková",
        first_name: "Jana",
        notes: ["Account: Acme", "Message: call back"],
        assigned_accounts: { connect: { id: account.id } },
      },
    });
    show("contact.tags", contact.tags);

    // As the document upload route does: one document linked to several
    // records through the many-to-many relations.
    const doc = await prisma.documents.create({
      data: {
        v: 0,
        document_name: "contract.pdf",
        document_file_mimeType: "application/pdf",
        document_file_url: "https://files.example/contract.pdf",
        createdBy: user.id,
        accounts: { connect: [{ id: account.id }] },
        contacts: { connect: [{ id: contact.id }] },
        tags: { source: "upload", pages: 3 },
      },
    });
    show("doc.document_system_type", doc.document_system_type);
    show("doc.tags.pages", doc.tags.pages);

    const opp = await prisma.crm_Opportunities.create({
      data: {
        name: "Big deal",
        assigned_account: { connect: { id: account.id } },
        contacts: { connect: [{ id: contact.id }] },
        documents: { connect: [{ id: doc.id }] },
      },
    });
    show("opp.status", opp.status);

    const readAccount = await prisma.crm_Accounts.findUnique({
      where: { id: account.id },
      include: {
        assigned_documents: true,
        watching_users: true,
        contacts: { include: { assigned_opportunities: true } },
        createdBy_ref: true,
      },
    });
    show("account.assigned_documents", readAccount.assigned_documents.map((d) => d.document_name));
    show("account.watching_users", readAccount.watching_users.map((u) => u.email));
    show("account.contacts.opportunities",
      readAccount.contacts.flatMap((c) => c.assigned_opportunities.map((o) => o.name)));
    show("account.createdBy_ref", readAccount.createdBy_ref.email);

    const readUser = await prisma.users.findUnique({
      where: { id: user.id },
      include: { watching_accounts: true, Documents_createdBy: true },
    });
    show("user.watching_accounts", readUser.watching_accounts.map((a) => a.name));
    show("user.Documents_createdBy", readUser.Documents_createdBy.map((d) => d.document_name));

    const readDoc = await prisma.documents.findUnique({
      where: { id: doc.id },
      include: { opportunities: true, contacts: true, accounts: true },
    });
    show("doc.opportunities", readDoc.opportunities.map((o) => o.name));

    // A full-text search in the documented form, through the client.
    const hits = await prisma.$queryRaw`
      SELECT last_name FROM "crm_Contacts"
      WHERE to_tsvector('simple', coalesce("first_name", '') || ' ' || coalesce("last_name", '')
                        || ' ' || "nextcrm_text_array_to_string"("notes"))
            @@ plainto_tsquery('simple', 'Call BACK')`;
    show("fts.contacts", hits.map((h) => h.last_name));

    await prisma.documents.update({
      where: { id: doc.id },
      data: { accounts: { disconnect: [{ id: account.id }] } },
    });
    const after = await prisma.crm_Accounts.findUnique({
      where: { id: account.id },
      include: { assigned_documents: true },
    });
    show("account.assigned_documents.after_disconnect", after.assigned_documents.length);
  } finally {
    await prisma.$disconnect();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
