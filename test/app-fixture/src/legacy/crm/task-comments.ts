// MongoDB-era comments on CRM tasks (crm_Accounts_Tasks): the task's id in
// tasksComments.task.
import type { PrismaClient } from "@prisma/client";
import { getTaskComments } from "../task-comments";

// The CRM task page reads its comments through the shared helper.
export async function crmTaskPage(prisma: PrismaClient, taskId: string) {
  return getTaskComments(prisma, taskId);
}

export async function addCommentToCrmTask(prisma: PrismaClient, taskId: string, userId: string) {
  const task = await prisma.crm_Accounts_Tasks.findUnique({ where: { id: taskId } });
  if (!task) return null;
  return prisma.tasksComments.create({
    data: {
      v: 0,
      comment: "called back",
      task: taskId, // check-app: crm-task comment
      user: userId,
    },
  });
}

export async function deleteCrmTask(prisma: PrismaClient, id: string) {
  await prisma.tasksComments.deleteMany({ where: { task: id } }); // check-app: crm-task comment
  await prisma.crm_Accounts_Tasks.delete({ where: { id } });
}
