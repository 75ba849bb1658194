// Runs the fixture application's NextCRM-style reads and writes
// (test/app-fixture, compiled) through Prisma Client (engineType "client" +
// @prisma/adapter-pg) against a database the extension migrated, and
// compares every result with SQL on the same database.  Also runs the
// MongoDB-era shapes (src/legacy) to show how each fails, and measures the
// semantic differences docs/MIGRATING.md states.
//
// Prints one "key=value" line per observation; the calling TAP script
// (test/integration/app_fixture.sh) asserts on them.
//
// usage: node app-catalogue.cjs GENERATED_CLIENT_DIR COMPILED_FIXTURE_DIR
//        (DATABASE_URL set; ICU_DATABASE_URL: an ICU en-US database with the
//        schema, for the sorting check)
"use strict";
const path = require("path");
const { Client } = require("pg");
const { PrismaPg } = require("@prisma/adapter-pg");
const { PrismaClient } = require(process.argv[2]);
const dist = process.argv[3];
const load = (f) => require(path.join(dist, f));
const pages = load("crm/pages.js");
const writes = load("crm/writes.js");
const projects = load("projects.js");

function show(key, value) {
  console.log(`${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
}

// An ordered id list from a subquery yielding `id`.
const IDS = (sub) =>
  `(SELECT coalesce(json_agg(x.id::text ORDER BY x.id::text COLLATE "C"), '[]'::json) FROM (${sub}) x)`;

// Each entry: the fixture's Prisma call, and the SQL giving the same value.
const catalogue = [
  ["account_detail", (p, i) => pages.accountDetail(p, i.accountId),
    `SELECT json_build_object(
       'name', a.name,
       'contacts', ${IDS(`SELECT id FROM "crm_Contacts" WHERE "accountsIDs" = a.id`)},
       'opportunities', ${IDS(`SELECT id FROM "crm_Opportunities" WHERE account = a.id`)},
       'documents', ${IDS(`SELECT "A" AS id FROM "_DocumentsToAccounts" WHERE "B" = a.id`)},
       'watchers', ${IDS(`SELECT "A" AS id FROM "_AccountWatchers" WHERE "B" = a.id`)},
       'tasks', ${IDS(`SELECT id FROM "crm_Accounts_Tasks" WHERE account = a.id`)},
       'task_comments', ${IDS(`SELECT c.id FROM "tasksComments" c JOIN "crm_Accounts_Tasks" t
                               ON t.id = c.assigned_crm_account_task WHERE t.account = a.id`)},
       'invoices', ${IDS(`SELECT id FROM "Invoices" WHERE assigned_account_id = a.id`)},
       'leads', ${IDS(`SELECT id FROM "crm_Leads" WHERE "accountsIDs" = a.id`)})
     FROM "crm_Accounts" a WHERE a.id = $1`, (i) => [i.accountId]],
  ["contact_detail", (p, i) => pages.contactDetail(p, i.contactId),
    `SELECT json_build_object(
       'last_name', c.last_name,
       'opportunities', ${IDS(`SELECT "B" AS id FROM "_ContactsToOpportunities" WHERE "A" = c.id`)},
       'documents', ${IDS(`SELECT "A" AS id FROM "_DocumentsToContacts" WHERE "B" = c.id`)},
       'account', c."accountsIDs")
     FROM "crm_Contacts" c WHERE c.id = $1`, (i) => [i.contactId]],
  ["opportunity_detail", (p, i) => pages.opportunityDetail(p, i.opportunityId),
    `SELECT json_build_object(
       'contacts', ${IDS(`SELECT "A" AS id FROM "_ContactsToOpportunities" WHERE "B" = o.id`)},
       'documents', ${IDS(`SELECT "A" AS id FROM "_DocumentsToOpportunities" WHERE "B" = o.id`)},
       'account', o.account)
     FROM "crm_Opportunities" o WHERE o.id = $1`, (i) => [i.opportunityId]],
  ["documents_of_account", (p, i) => pages.documentsOfAccount(p, i.accountId),
    `SELECT ${IDS(`SELECT "A" AS id FROM "_DocumentsToAccounts" WHERE "B" = $1`)}`, (i) => [i.accountId]],
  ["documents_of_contact", (p, i) => pages.documentsOfContact(p, i.contactId),
    `SELECT ${IDS(`SELECT "A" AS id FROM "_DocumentsToContacts" WHERE "B" = $1`)}`, (i) => [i.contactId]],
  ["documents_of_opportunity", (p, i) => pages.documentsOfOpportunity(p, i.opportunityId),
    `SELECT ${IDS(`SELECT "A" AS id FROM "_DocumentsToOpportunities" WHERE "B" = $1`)}`, (i) => [i.opportunityId]],
  ["documents_of_crm_task", (p, i) => pages.documentsOfCrmTask(p, i.crmTaskId),
    `SELECT ${IDS(`SELECT "A" AS id FROM "_DocumentsToCrmAccountsTasks" WHERE "B" = $1`)}`, (i) => [i.crmTaskId]],
  ["opportunities_of_contact", (p, i) => pages.opportunitiesOfContact(p, i.contactId),
    `SELECT ${IDS(`SELECT "B" AS id FROM "_ContactsToOpportunities" WHERE "A" = $1`)}`, (i) => [i.contactId]],
  ["contacts_of_account", (p, i) => pages.contactsOfAccount(p, i.accountId),
    `SELECT ${IDS(`SELECT id FROM "crm_Contacts" WHERE "accountsIDs" = $1`)}`, (i) => [i.accountId]],
  ["account_watchers", (p, i) => pages.accountWatchers(p, i.watchedAccountId),
    `SELECT ${IDS(`SELECT "A" AS id FROM "_AccountWatchers" WHERE "B" = $1`)}`, (i) => [i.watchedAccountId]],
  ["accounts_watched_by", (p, i) => pages.accountsWatchedBy(p, i.userId),
    `SELECT ${IDS(`SELECT "B" AS id FROM "_AccountWatchers" WHERE "A" = $1`)}`, (i) => [i.userId]],
  ["crm_task_detail", (p, i) => pages.crmTaskDetail(p, i.crmTaskId),
    `SELECT json_build_object(
       'documents', ${IDS(`SELECT "A" AS id FROM "_DocumentsToCrmAccountsTasks" WHERE "B" = $1`)},
       'comments', ${IDS(`SELECT id FROM "tasksComments" WHERE assigned_crm_account_task = $1`)})`,
    (i) => [i.crmTaskId]],
  ["task_detail", (p, i) => projects.taskDetail(p, i.taskId),
    `SELECT json_build_object(
       'comments', ${IDS(`SELECT id FROM "tasksComments" WHERE task = $1`)},
       'commentsByTask', ${IDS(`SELECT id FROM "tasksComments" WHERE task = $1`)},
       'documents', ${IDS(`SELECT "A" AS id FROM "_DocumentsToTasks" WHERE "B" = $1`)})`,
    (i) => [i.taskId]],
  ["board_detail", (p, i) => projects.boardDetail(p, i.boardId),
    `SELECT json_build_object(
       'watchers', ${IDS(`SELECT "B" AS id FROM "_BoardWatchers" WHERE "A" = $1`)},
       'sections', ${IDS(`SELECT id FROM "Sections" WHERE board = $1`)},
       'tasks', ${IDS(`SELECT t.id FROM "Tasks" t JOIN "Sections" s ON s.id = t.section WHERE s.board = $1`)})`,
    (i) => [i.boardId]],
  ["boards_watched_by", (p, i) => projects.boardsWatchedBy(p, i.userId),
    `SELECT ${IDS(`SELECT "A" AS id FROM "_BoardWatchers" WHERE "B" = $1`)}`, (i) => [i.userId]],
  ["dashboard_counts", (p, i) => pages.dashboardCounts(p, i.userId),
    `SELECT json_build_object(
       'accounts', (SELECT count(*) FROM "crm_Accounts"),
       'contacts', (SELECT count(*) FROM "crm_Contacts"),
       'leads', (SELECT count(*) FROM "crm_Leads"),
       'opportunities', (SELECT count(*) FROM "crm_Opportunities"),
       'tasks', (SELECT count(*) FROM "Tasks"),
       'myTasks', (SELECT count(*) FROM "Tasks" WHERE "user" = $1),
       'openCrmTasks', (SELECT count(*) FROM "crm_Accounts_Tasks" WHERE "taskStatus" = 'ACTIVE'),
       'documents', (SELECT count(*) FROM "Documents"),
       'stages', (SELECT coalesce(json_agg(json_build_array(sales_stage, n)
                                  ORDER BY sales_stage::text COLLATE "C" NULLS LAST), '[]'::json)
                  FROM (SELECT sales_stage, count(*)::int AS n FROM "crm_Opportunities"
                        GROUP BY sales_stage) s))`, (i) => [i.userId]],
];

// The records to look at: for each kind, the one with the most related rows,
// so that an empty result cannot pass for a correct one.
const PICK = `SELECT json_build_object(
  'accountId', (SELECT a.id FROM "crm_Accounts" a ORDER BY
      (SELECT count(*) FROM "crm_Contacts" c WHERE c."accountsIDs" = a.id)
    + (SELECT count(*) FROM "_DocumentsToAccounts" d WHERE d."B" = a.id)
    + (SELECT count(*) FROM "_AccountWatchers" w WHERE w."B" = a.id)
    + (SELECT count(*) FROM "crm_Accounts_Tasks" t WHERE t.account = a.id) DESC, a.id LIMIT 1),
  'watchedAccountId', (SELECT a.id FROM "crm_Accounts" a ORDER BY
      (SELECT count(*) FROM "_AccountWatchers" w WHERE w."B" = a.id) DESC, a.id LIMIT 1),
  'contactId', (SELECT c.id FROM "crm_Contacts" c ORDER BY
      (SELECT count(*) FROM "_ContactsToOpportunities" x WHERE x."A" = c.id)
    + (SELECT count(*) FROM "_DocumentsToContacts" d WHERE d."B" = c.id) DESC, c.id LIMIT 1),
  'opportunityId', (SELECT o.id FROM "crm_Opportunities" o ORDER BY
      (SELECT count(*) FROM "_ContactsToOpportunities" x WHERE x."B" = o.id)
    + (SELECT count(*) FROM "_DocumentsToOpportunities" d WHERE d."B" = o.id) DESC, o.id LIMIT 1),
  'crmTaskId', (SELECT t.id FROM "crm_Accounts_Tasks" t ORDER BY
      (SELECT count(*) FROM "tasksComments" c WHERE c.assigned_crm_account_task = t.id) DESC, t.id LIMIT 1),
  'taskId', (SELECT t.id FROM "Tasks" t ORDER BY
      (SELECT count(*) FROM "tasksComments" c WHERE c.task = t.id)
    + (SELECT count(*) FROM "_DocumentsToTasks" d WHERE d."B" = t.id) DESC, t.id LIMIT 1),
  'boardId', (SELECT b.id FROM "Boards" b ORDER BY
      (SELECT count(*) FROM "_BoardWatchers" w WHERE w."A" = b.id)
    + (SELECT count(*) FROM "Sections" s WHERE s.board = b.id) DESC, b.id LIMIT 1),
  'userId', (SELECT u.id FROM "Users" u ORDER BY
      (SELECT count(*) FROM "_AccountWatchers" w WHERE w."A" = u.id)
    + (SELECT count(*) FROM "_BoardWatchers" w WHERE w."B" = u.id) DESC, u.id LIMIT 1),
  'documentId', (SELECT id FROM "Documents" ORDER BY id LIMIT 1))`;

const plain = (v) => JSON.parse(JSON.stringify(v));
const size = (v) => (Array.isArray(v) ? v.length : v && typeof v === "object"
  ? Object.values(v).reduce((n, x) => n + (Array.isArray(x) ? x.length : 0), 0) : 0);

async function outcome(fn) {
  try {
    const value = await fn();
    return { ok: true, value };
  } catch (e) {
    return { ok: false, code: e.code || e.name, message: String(e.message).split("\n").pop() };
  }
}

async function main() {
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: process.env.DATABASE_URL }) });
  const sql = new Client({ connectionString: process.env.DATABASE_URL });
  await sql.connect();
  const one = async (text, params = []) => Object.values((await sql.query(text, params)).rows[0])[0];
  try {
    const ids = await one(PICK);
    show("ids.all_found", Object.values(ids).every((v) => v));

    // --- reads --------------------------------------------------------------
    for (const [name, run, query, params] of catalogue) {
      const got = plain(await run(prisma, ids));
      const want = plain(await one(query, params(ids)));
      const same = JSON.stringify(got) === JSON.stringify(want);
      show(`read.${name}`, same ? "same" : `DIFFERENT prisma=${JSON.stringify(got)} sql=${JSON.stringify(want)}`);
      show(`read.${name}.size`, size(got));
    }

    // --- writes -------------------------------------------------------------
    const contactId = await writes.createContact(prisma, ids.userId, ids.accountId);
    show("write.create_contact", await one(
      `SELECT json_build_array("createdBy" = $2, "updatedBy" = $2, "accountsIDs" = $3, assigned_to = $2)
       FROM "crm_Contacts" WHERE id = $1`, [contactId, ids.userId, ids.accountId]));
    // Editing it with another user: the foreign key's ON DELETE SET NULL
    // clears updatedBy when that user is deleted; createdBy stays.
    const editor = await prisma.users.create({ data: { v: 0, email: "catalogue-editor@example.com" } });
    await writes.updateContact(prisma, contactId, editor.id, ids.accountId);
    show("write.update_contact", await one(
      `SELECT json_build_array("updatedBy" = $2, "createdBy" = $3, "accountsIDs" = $4)
       FROM "crm_Contacts" WHERE id = $1`, [contactId, editor.id, ids.userId, ids.accountId]));
    await prisma.users.delete({ where: { id: editor.id } });
    show("write.delete_user", await one(
      `SELECT json_build_array("updatedBy" IS NULL, "createdBy" = $2) FROM "crm_Contacts" WHERE id = $1`,
      [contactId, ids.userId]));
    // A scalar write naming no user: the foreign key refuses it (P2003).
    const gone = "00000000-0000-4000-8000-0000000000ff";
    const dangling = await outcome(() => prisma.crm_Accounts.create({
      data: { v: 0, name: "Catalogue dangling", createdBy: gone } }));
    show("write.dangling_created_by", dangling.ok ? "ran" : dangling.code);
    show("write.dangling_created_by.message", dangling.ok ? "" : dangling.message);
    show("write.dangling_created_by.rows", Number(await one(
      `SELECT count(*) FROM "crm_Accounts" WHERE "createdBy" = $1`, [gone])));
    const accountId = await writes.createAccount(prisma, ids.userId);
    show("write.create_account", await one(
      `SELECT json_build_array("createdBy" = $2, "updatedBy" = $2) FROM "crm_Accounts" WHERE id = $1`,
      [accountId, ids.userId]));
    const nested = await writes.createAccountWithContact(prisma, ids.userId);
    show("write.create_account_with_contact", await one(
      `SELECT json_build_array("createdBy" = $2, (SELECT count(*)::int FROM "crm_Contacts" WHERE "accountsIDs" = $1), $3::int)
       FROM "crm_Accounts" WHERE id = $1`, [nested.id, ids.userId, nested.contacts]));
    await writes.watchAccount(prisma, accountId, ids.userId);
    const watch = `SELECT count(*)::int FROM "_AccountWatchers" WHERE "A" = $1 AND "B" = $2`;
    show("write.watch_account", await one(watch, [ids.userId, accountId]));
    show("write.watch_account.read", (await pages.accountWatchers(prisma, accountId)).includes(ids.userId));
    await writes.unwatchAccount(prisma, accountId, ids.userId);
    show("write.unwatch_account", await one(watch, [ids.userId, accountId]));

    const crmComment = await writes.commentCrmTask(prisma, ids.crmTaskId, ids.userId);
    show("write.crm_comment", await one(
      `SELECT json_build_array(assigned_crm_account_task = $2, task IS NULL) FROM "tasksComments" WHERE id = $1`,
      [crmComment, ids.crmTaskId]));
    show("write.crm_comment.read", (await pages.crmTaskDetail(prisma, ids.crmTaskId)).comments.includes(crmComment));
    const taskComment = await projects.commentTask(prisma, ids.taskId, ids.userId);
    show("write.task_comment", await one(
      `SELECT json_build_array(task = $2, assigned_crm_account_task IS NULL) FROM "tasksComments" WHERE id = $1`,
      [taskComment, ids.taskId]));
    show("write.task_comment.read", (await projects.taskDetail(prisma, ids.taskId)).comments.includes(taskComment));
    await projects.watchBoard(prisma, ids.boardId, ids.userId);
    show("write.watch_board", await one(
      `SELECT count(*)::int FROM "_BoardWatchers" WHERE "A" = $1 AND "B" = $2`, [ids.boardId, ids.userId]));

    // --- MongoDB-era shapes (src/legacy), as they fail ---------------------
    const legacyDocs = load("legacy/documents.js");
    const legacyContacts = load("legacy/contacts.js");
    const legacyCrm = load("legacy/crm/task-comments.js");
    const legacyWatch = load("legacy/watchers.js");
    const r1 = await outcome(() => legacyDocs.documentsByAccount(prisma, ids.accountId));
    show("legacy.m_n_filter", r1.ok ? "ran" : r1.code);
    const r2 = await outcome(() => legacyWatch.boardWatchersToNotify(prisma, ids.boardId));
    show("legacy.watchers_filter", r2.ok ? "ran" : r2.code);
    const r3 = await outcome(() => legacyContacts.createContact(prisma, ids.userId, ids.accountId));
    show("legacy.loose_reference_beside_connect", r3.ok ? "ran" : r3.code);
    const r3b = await outcome(() => legacyContacts.createContactFromBody(prisma,
      { userId: ids.userId, last_name: "Body", assigned_to: ids.userId }));
    show("legacy.loose_reference_untyped", r3b.ok ? "ran" : r3b.code);
    const r4 = await outcome(() => legacyContacts.createAccount(prisma, ids.userId));
    show("legacy.loose_reference_scalars_only", r4.ok ? "ran" : r4.code);
    const r5 = await outcome(() => legacyCrm.addCommentToCrmTask(prisma, ids.crmTaskId, ids.userId));
    show("legacy.crm_comment_write", r5.ok ? "ran" : r5.code);
    const r6 = await outcome(() => legacyCrm.crmTaskPage(prisma, ids.crmTaskId));
    show("legacy.crm_comment_read", r6.ok ? r6.value.length : r6.code);
    show("legacy.crm_comment_read.sql", Number(await one(
      `SELECT count(*) FROM "tasksComments" WHERE assigned_crm_account_task = $1`, [ids.crmTaskId])));

    // --- semantic differences (docs/MIGRATING.md) ---------------------------
    // `not` and NULL: SQL's three-valued logic.
    await prisma.crm_Accounts.create({ data: { v: 0, name: "Catalogue null status", status: null } });
    const notActive = await prisma.crm_Accounts.count({ where: { status: { not: "Active" } } });
    const orNull = await prisma.crm_Accounts.count({
      where: { OR: [{ status: { not: "Active" } }, { status: null }] } });
    show("not.prisma", notActive);
    show("not.prisma_or_null", orNull);
    show("not.sql_neq", Number(await one(`SELECT count(*) FROM "crm_Accounts" WHERE status <> 'Active'`)));
    show("not.sql_distinct", Number(await one(
      `SELECT count(*) FROM "crm_Accounts" WHERE status IS DISTINCT FROM 'Active'`)));
    show("not.nulls", Number(await one(`SELECT count(*) FROM "crm_Accounts" WHERE status IS NULL`)));
    const notIn = await prisma.crm_Accounts.count({ where: { status: { notIn: ["Active"] } } });
    show("notin.prisma", notIn);

    // Case: text comparisons are case-sensitive unless mode: "insensitive".
    await prisma.crm_Accounts.create({ data: { v: 0, name: "ACME Catalogue Corp" } });
    show("case.contains", await prisma.crm_Accounts.count({ where: { name: { contains: "acme catalogue" } } }));
    show("case.contains_insensitive", await prisma.crm_Accounts.count({
      where: { name: { contains: "acme catalogue", mode: "insensitive" } } }));
    show("case.equals_insensitive", await prisma.crm_Accounts.count({
      where: { name: { equals: "acme catalogue corp", mode: "insensitive" } } }));

    for (const [op, value] of [["equals", "acme catalogue corp"], ["startsWith", "acme catalogue"],
                               ["endsWith", "catalogue corp"], ["in", ["acme catalogue corp"]]])
      show(`case.${op}`, await prisma.crm_Accounts.count({ where: { name: { [op]: value } } }));
    show("case.equals_exact", await prisma.crm_Accounts.count({ where: { name: "ACME Catalogue Corp" } }));

    // Ids are uuids: a MongoDB ObjectId (an old link or bookmark) is no id.
    const oid = await outcome(() => prisma.crm_Accounts.findUnique({ where: { id: "65a1f0c2e4b0a1b2c3d4e5f6" } }));
    show("oid.find_unique", oid.ok ? `ran:${oid.value}` : oid.code);
    show("oid.find_unique.message", oid.ok ? "" : oid.message);
    const mapped = await one(`SELECT nextcrm_map_oid(nextcrm_unmap_oid($1::uuid))::text`, [ids.accountId]);
    show("oid.mapped_is_account", mapped === ids.accountId);

    // Sorting follows the database's collation.
    const words = ["apple", "Banana", "Äpfel", "banana", "Zebra", "ápple"];
    const sortIn = async (client) => {
      await client.crm_Industry_Type.deleteMany({ where: { name: { in: words } } });
      await client.crm_Industry_Type.createMany({ data: words.map((name) => ({ v: 0, name })) });
      const rows = await client.crm_Industry_Type.findMany({
        where: { name: { in: words } }, orderBy: { name: "asc" } });
      return rows.map((r) => r.name);
    };
    show("sort.db_collation", await one(`SELECT datcollate FROM pg_database WHERE datname = current_database()`));
    show("sort.prisma", await sortIn(prisma));
    show("sort.code_points", [...words].sort());
    if (process.env.ICU_DATABASE_URL) {
      const icu = new PrismaClient({ adapter: new PrismaPg({ connectionString: process.env.ICU_DATABASE_URL }) });
      try {
        show("sort.icu_prisma", await sortIn(icu));
      } finally {
        await icu.$disconnect();
      }
      show("sort.icu_en", [...words].sort(new Intl.Collator("en-US").compare));
    }

    // Deleting a CRM task with its comments (last: it removes data read above).
    await writes.deleteCrmTask(prisma, ids.crmTaskId);
    show("write.delete_crm_task", await one(
      `SELECT json_build_array((SELECT count(*)::int FROM "tasksComments" WHERE assigned_crm_account_task = $1),
                               (SELECT count(*)::int FROM "crm_Accounts_Tasks" WHERE id = $1))`, [ids.crmTaskId]));
  } finally {
    await sql.end();
    await prisma.$disconnect();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
