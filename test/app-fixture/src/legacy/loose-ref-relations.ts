// Not MongoDB-era code: writes and reads in the form an earlier version of
// this project's schema required, when the loose references were relations
// (createdBy_ref, updatedBy_ref, with back-relations such as
// Users.Documents_createdBy).  They are plain scalars again.
import type { PrismaClient } from "@prisma/client";

export async function createContactThroughRelation(prisma: PrismaClient, userId: string, accountId: string) {
  return prisma.crm_Contacts.create({
    data: {
      v: 0,
      last_name: "Relation",
      status: true,
      createdBy_ref: { connect: { id: userId } }, // check-app: loose reference
      assigned_accounts: { connect: { id: accountId } },
    },
  });
}

export async function accountWithCreator(prisma: PrismaClient, id: string) {
  return prisma.crm_Accounts.findUnique({ where: { id }, include: { createdBy_ref: true } }); // check-app: loose reference
}

export async function documentsOfUser(prisma: PrismaClient, userId: string) {
  return prisma.users.findUnique({ where: { id: userId }, include: { Documents_createdBy: true } }); // check-app: loose reference
}
