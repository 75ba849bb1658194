// A comments helper shared by the project-task and the CRM-task pages.
import type { PrismaClient } from "@prisma/client";

export async function getTaskComments(prisma: PrismaClient, taskId: string) {
  return prisma.tasksComments.findMany({
    where: { task: taskId }, // check-app: crm-task comment
    include: { assigned_user: { select: { name: true } } },
    orderBy: { createdAt: "desc" },
  });
}
