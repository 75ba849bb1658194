// The typical reads of NextCRM v0.21.2, through a Prisma Client generated
// from v0.21.2's own schema.prisma (engineType "client" + @prisma/adapter-pg),
// on a database migrated by the nextcrm-v0.21.2 profile.  Each read prints
// its row count and an md5 of a canonical text of what it returned (rows and
// lists sorted by id as text, which is the order of uuid in PostgreSQL),
// which test/integration/v0212_app.sh compares with the same text computed
// in SQL.  A read that fails prints KEY.error and the exit status is 1; the
// others still run.
//
// usage: node v0212-queries.cjs <generated client dir>   (DATABASE_URL set)
const { createHash } = require("node:crypto");
const { PrismaPg } = require("@prisma/adapter-pg");
const { PrismaClient } = require(process.argv[2]);

const md5 = (s) => createHash("md5").update(s).digest("hex");
const byId = (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const ids = (rows) => rows.map((r) => r.id).sort().join(",");
const lastLine = (e) => String(e && e.message ? e.message : e).trim().split("\n").pop();
let failed = false;

// Runs one read: read() returns [rows, canonical text].
async function step(key, read) {
  try {
    const [rows, text] = await read();
    console.log(`${key}.count=${rows.length}`);
    console.log(`${key}.md5=${md5(text)}`);
  } catch (e) {
    console.log(`${key}.error=${lastLine(e)}`);
    failed = true;
  }
}

async function main() {
  const prisma = new PrismaClient({
    adapter: new PrismaPg({ connectionString: process.env.DATABASE_URL }),
  });
  try {
    // Accounts (not soft-deleted) with their contacts and opportunities.
    await step("accounts", async () => {
      const accounts = await prisma.crm_Accounts.findMany({
        where: { deletedAt: null },
        include: { contacts: { select: { id: true } }, opportunities: { select: { id: true } } },
      });
      accounts.sort(byId);
      return [accounts, accounts.map((a) => `${a.id}|${a.name}|${ids(a.contacts)}|${ids(a.opportunities)}`).join(";")];
    });

    // Each contact's documents, through the explicit join table.
    await step("contact_documents", async () => {
      const contacts = await prisma.crm_Contacts.findMany({
        where: { documents: { some: {} } },
        include: { documents: { include: { document: { select: { id: true, document_name: true } } } } },
      });
      contacts.sort(byId);
      return [contacts, contacts.map((c) => `${c.id}|${c.documents.map((d) => d.document).sort(byId)
        .map((d) => `${d.id}/${d.document_name}`).join(",")}`).join(";")];
    });

    // Every document with its system type.  The column's enum also accepts
    // INVOICE, schema.prisma's does not (UPSTREAM-v0.21.2 §4.3): a row of
    // that type would make this read fail; the profile's value map leaves
    // none.
    await step("documents", async () => {
      const docs = await prisma.documents.findMany({
        select: { id: true, document_name: true, document_system_type: true },
      });
      docs.sort(byId);
      return [docs, docs.map((d) => `${d.id}|${d.document_name}|${d.document_system_type ?? ""}`).join(";")];
    });

    // Boards with their sections and each section's tasks.
    await step("boards", async () => {
      const boards = await prisma.boards.findMany({
        include: { sections: { include: { tasks: { select: { id: true, title: true, position: true } } } } },
      });
      boards.sort(byId);
      return [boards, boards.map((b) => `${b.id}|${b.title}|${b.sections.sort(byId)
        .map((s) => `${s.id}/${s.title}/${s.position ?? ""}:${s.tasks.sort(byId)
          .map((t) => `${t.id}/${t.title}/${t.position}`).join(",")}`).join(" ")}`).join(";")];
    });

    // Tasks with their comments.
    await step("task_comments", async () => {
      const tasks = await prisma.tasks.findMany({
        where: { comments: { some: {} } },
        include: { comments: { select: { id: true, comment: true } } },
      });
      tasks.sort(byId);
      return [tasks, tasks.map((t) => `${t.id}|${t.comments.sort(byId)
        .map((c) => `${c.id}/${c.comment}`).join(",")}`).join(";")];
    });

    // The users list of the admin pages.
    await step("users", async () => {
      const users = await prisma.users.findMany({
        select: { id: true, email: true, name: true, role: true, userStatus: true },
      });
      users.sort(byId);
      return [users, users.map((u) => `${u.id}|${u.email}|${u.name ?? ""}|${u.role}|${u.userStatus}`).join(";")];
    });
  } finally {
    await prisma.$disconnect();
  }
}

main().then(
  () => process.exit(failed ? 1 : 0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
