// MongoDB-era contact writes: the creator as a scalar next to a connect.
import type { PrismaClient } from "@prisma/client";

export async function createContact(prisma: PrismaClient, userId: string, accountId: string | null) {
  return prisma.crm_Contacts.create({
    data: {
      v: 0,
      createdBy: userId, // check-app: loose reference
      updatedBy: userId,
      last_name: "Nováková",
      status: true,
      ...(accountId !== null ? { assigned_accounts: { connect: { id: accountId } } } : {}),
    },
  });
}

export async function updateContact(prisma: PrismaClient, id: string, userId: string, accountId: string) {
  return prisma.crm_Contacts.update({
    where: { id },
    data: {
      v: 0,
      updatedBy: userId, // check-app: loose reference
      assigned_accounts: { connect: { id: accountId } },
    },
  });
}

// Scalars only: compatible.
export async function createAccount(prisma: PrismaClient, userId: string) {
  return prisma.crm_Accounts.create({ data: { v: 0, name: "Acme", createdBy: userId, updatedBy: userId } });
}

// The same with untyped values (a request body): `any` passes the type
// check, the call still fails at run time.
export async function createContactFromBody(prisma: PrismaClient, body: any) {
  return prisma.crm_Contacts.create({
    data: {
      v: 0,
      createdBy: body.userId, // check-app: loose reference
      last_name: body.last_name,
      status: true,
      assigned_to_user: { connect: { id: body.assigned_to } },
    },
  });
}
