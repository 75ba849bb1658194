// CRM reads as NextCRM's pages make them, in the form that works on the
// PostgreSQL schema.  Each returns a plain, ordered value so that the
// runtime test can compare it with SQL.
import type { PrismaClient } from "@prisma/client";

const ids = (rows: { id: string }[]) => rows.map((r) => r.id).sort();

// The account detail page: the account with everything it shows.
export async function accountDetail(prisma: PrismaClient, id: string) {
  const a = await prisma.crm_Accounts.findUnique({
    where: { id },
    include: {
      contacts: true,
      opportunities: true,
      assigned_documents: true,
      watching_users: true,
      crm_accounts_tasks: { include: { comments: true } },
      invoices: true,
      leads: true,
      assigned_to_user: { select: { name: true } },
    },
  });
  if (!a) return null;
  return {
    name: a.name,
    contacts: ids(a.contacts),
    opportunities: ids(a.opportunities),
    documents: ids(a.assigned_documents),
    watchers: ids(a.watching_users),
    tasks: ids(a.crm_accounts_tasks),
    task_comments: ids(a.crm_accounts_tasks.flatMap((t) => t.comments)),
    invoices: ids(a.invoices),
    leads: ids(a.leads),
  };
}

// The contact detail page.
export async function contactDetail(prisma: PrismaClient, id: string) {
  const c = await prisma.crm_Contacts.findUnique({
    where: { id },
    include: {
      assigned_opportunities: true,
      assigned_documents: true,
      assigned_accounts: true,
      assigned_to_user: true,
    },
  });
  if (!c) return null;
  return {
    last_name: c.last_name,
    opportunities: ids(c.assigned_opportunities),
    documents: ids(c.assigned_documents),
    account: c.assigned_accounts?.id ?? null,
  };
}

// The opportunity detail page.
export async function opportunityDetail(prisma: PrismaClient, id: string) {
  const o = await prisma.crm_Opportunities.findUnique({
    where: { id },
    include: { contacts: true, documents: true, assigned_account: true, assigned_sales_stage: true },
  });
  if (!o) return null;
  return { contacts: ids(o.contacts), documents: ids(o.documents), account: o.assigned_account?.id ?? null };
}

// Many-to-many filters: the documents, opportunities and watchers of a record.
export async function documentsOfAccount(prisma: PrismaClient, id: string) {
  return ids(await prisma.documents.findMany({ where: { accounts: { some: { id } } } }));
}
export async function documentsOfContact(prisma: PrismaClient, id: string) {
  return ids(await prisma.documents.findMany({ where: { contacts: { some: { id } } } }));
}
export async function documentsOfOpportunity(prisma: PrismaClient, id: string) {
  return ids(await prisma.documents.findMany({ where: { opportunities: { some: { id } } } }));
}
export async function documentsOfCrmTask(prisma: PrismaClient, id: string) {
  return ids(await prisma.documents.findMany({ where: { crm_accounts_tasks: { some: { id } } } }));
}
export async function opportunitiesOfContact(prisma: PrismaClient, id: string) {
  return ids(await prisma.crm_Opportunities.findMany({ where: { contacts: { some: { id } } } }));
}
export async function contactsOfAccount(prisma: PrismaClient, id: string) {
  return ids(await prisma.crm_Contacts.findMany({ where: { accountsIDs: id } }));
}
export async function accountWatchers(prisma: PrismaClient, id: string) {
  return ids(await prisma.users.findMany({ where: { watching_accounts: { some: { id } } } }));
}
export async function accountsWatchedBy(prisma: PrismaClient, userId: string) {
  return ids(await prisma.crm_Accounts.findMany({ where: { watching_users: { some: { id: userId } } } }));
}

// The CRM task page: the task and its comments, newest first.
export async function crmTaskDetail(prisma: PrismaClient, id: string) {
  const t = await prisma.crm_Accounts_Tasks.findUnique({
    where: { id },
    include: { documents: true, assigned_user: true, crm_accounts: true },
  });
  const comments = await prisma.tasksComments.findMany({
    where: { assigned_crm_account_task: id },
    include: { assigned_user: { select: { name: true, avatar: true } } },
    orderBy: { createdAt: "desc" },
  });
  return t && { documents: ids(t.documents), comments: ids(comments) };
}

// Dashboard counts.
export async function dashboardCounts(prisma: PrismaClient, userId: string) {
  const [accounts, contacts, leads, opportunities, tasks, myTasks, openCrmTasks, documents] =
    await Promise.all([
      prisma.crm_Accounts.count(),
      prisma.crm_Contacts.count(),
      prisma.crm_Leads.count(),
      prisma.crm_Opportunities.count(),
      prisma.tasks.count(),
      prisma.tasks.count({ where: { user: userId } }),
      prisma.crm_Accounts_Tasks.count({ where: { taskStatus: "ACTIVE" } }),
      prisma.documents.count(),
    ]);
  const byStage = await prisma.crm_Opportunities.groupBy({ by: ["sales_stage"], _count: { _all: true } });
  return {
    accounts, contacts, leads, opportunities, tasks, myTasks, openCrmTasks, documents,
    // By stage id, code-point order, the stage-less count last.
    stages: byStage
      .map((s): [string | null, number] => [s.sales_stage, s._count._all])
      .sort(([a], [b]) => (a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1)),
  };
}
