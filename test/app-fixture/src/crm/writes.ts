// CRM writes as NextCRM's routes make them, in the form that works on the
// PostgreSQL schema.
import type { PrismaClient } from "@prisma/client";

// A new contact assigned to an account: the creator is connected through
// its relation, since the write also connects the account.
export async function createContact(prisma: PrismaClient, userId: string, accountId: string) {
  const c = await prisma.crm_Contacts.create({
    data: {
      v: 0,
      last_name: "Catalogue",
      first_name: "Contact",
      status: true,
      createdBy_ref: { connect: { id: userId } },
      updatedBy_ref: { connect: { id: userId } },
      assigned_accounts: { connect: { id: accountId } },
      assigned_to_user: { connect: { id: userId } },
    },
  });
  return c.id;
}

// Editing a contact: the editor is connected through its relation too,
// since the write also connects the account.
export async function updateContact(prisma: PrismaClient, id: string, userId: string, accountId: string) {
  const c = await prisma.crm_Contacts.update({
    where: { id },
    data: {
      v: 1,
      updatedBy_ref: { connect: { id: userId } },
      assigned_accounts: { connect: { id: accountId } },
    },
  });
  return c.id;
}

// A write with scalars only keeps the MongoDB-era form.
export async function createAccount(prisma: PrismaClient, userId: string) {
  const a = await prisma.crm_Accounts.create({
    data: { v: 0, name: "Catalogue account", createdBy: userId, updatedBy: userId, assigned_to: userId },
  });
  return a.id;
}

// Watching and unwatching an account.
export async function watchAccount(prisma: PrismaClient, accountId: string, userId: string) {
  await prisma.crm_Accounts.update({
    where: { id: accountId },
    data: { watching_users: { connect: { id: userId } } },
  });
}
export async function unwatchAccount(prisma: PrismaClient, accountId: string, userId: string) {
  await prisma.crm_Accounts.update({
    where: { id: accountId },
    data: { watching_users: { disconnect: { id: userId } } },
  });
}

// A comment on a CRM task.
export async function commentCrmTask(prisma: PrismaClient, crmTaskId: string, userId: string) {
  const c = await prisma.tasksComments.create({
    data: { v: 0, comment: "catalogue: CRM task", assigned_crm_account_task: crmTaskId, user: userId },
  });
  return c.id;
}

// Deleting a CRM task together with its comments.
export async function deleteCrmTask(prisma: PrismaClient, crmTaskId: string) {
  await prisma.tasksComments.deleteMany({ where: { assigned_crm_account_task: crmTaskId } });
  await prisma.crm_Accounts_Tasks.delete({ where: { id: crmTaskId } });
}

// A loose reference as a scalar beside a nested write of a relation whose
// key the other side holds: the unchecked input takes both.
export async function createAccountWithContact(prisma: PrismaClient, userId: string) {
  const a = await prisma.crm_Accounts.create({
    data: {
      v: 0,
      name: "Catalogue account with contact",
      createdBy: userId,
      contacts: { create: { v: 0, last_name: "Nested", status: true } },
    },
    include: { contacts: true },
  });
  return { id: a.id, contacts: a.contacts.length };
}
