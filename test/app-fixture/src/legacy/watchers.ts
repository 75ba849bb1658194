// MongoDB-era watcher lists.
import type { PrismaClient } from "@prisma/client";

export async function accountWatchersToNotify(prisma: PrismaClient, accountId: string) {
  return prisma.users.findMany({
    where: { watching_accountsIDs: { has: accountId } }, // check-app: m-n relation
    select: { email: true },
  });
}

export async function boardWatchersToNotify(prisma: PrismaClient, boardId: string) {
  return prisma.users.findMany({
    where: {
      watching_boardsIDs: { has: boardId }, // check-app: m-n relation
    },
  });
}

export async function watchAccount(prisma: PrismaClient, accountId: string, userId: string) {
  return prisma.users.update({
    where: { id: userId },
    data: { watching_accountsIDs: { push: accountId } }, // check-app: m-n relation
  });
}
