// MongoDB-era many-to-many filters on the removed id lists.
import type { PrismaClient } from "@prisma/client";

export async function documentsByAccount(prisma: PrismaClient, accountId: string) {
  return prisma.documents.findMany({
    where: {
      accountsIDs: { has: accountId }, // check-app: m-n relation
    },
  });
}

export async function documentsByContact(prisma: PrismaClient, contactId: string) {
  return prisma.documents.findMany({ where: { contactsIDs: { has: contactId } } }); // check-app: m-n relation
}

export async function documentsByTask(prisma: PrismaClient, taskId: string) {
  return prisma.documents.findMany({
    where: { tasksIDs: { has: taskId } }, // check-app: m-n relation
    orderBy: { createdAt: "desc" },
  });
}

export async function opportunitiesByContact(prisma: PrismaClient, contactId: string) {
  return prisma.crm_Opportunities.findMany({
    where: {
      connected_contacts: { // check-app: m-n relation
        has: contactId,
      },
    },
    include: { assigned_account: true },
  });
}

// The same shapes in their new form compile.
export async function documentsByAccountNew(prisma: PrismaClient, accountId: string) {
  return prisma.documents.findMany({ where: { accounts: { some: { id: accountId } } } });
}
