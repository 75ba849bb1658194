// Project reads and writes (boards, tasks and their comments): these keep
// their MongoDB-era form.
import type { PrismaClient } from "@prisma/client";

const ids = (rows: { id: string }[]) => rows.map((r) => r.id).sort();

// The project task page: the task, its documents and comments.
export async function taskDetail(prisma: PrismaClient, id: string) {
  const t = await prisma.tasks.findUnique({
    where: { id },
    include: {
      comments: { include: { assigned_user: { select: { name: true } } } },
      documents: true,
      assigned_section: true,
    },
  });
  const comments = await prisma.tasksComments.findMany({ where: { task: id }, orderBy: { createdAt: "desc" } });
  const documents = await prisma.documents.findMany({ where: { tasks: { some: { id } } } });
  return t && { comments: ids(t.comments), commentsByTask: ids(comments), documents: ids(documents) };
}

// The board page: sections with their tasks, and the board's watchers.
export async function boardDetail(prisma: PrismaClient, id: string) {
  const b = await prisma.boards.findUnique({
    where: { id },
    include: { watchers_users: true, assigned_user: true },
  });
  const sections = await prisma.sections.findMany({
    where: { board: id },
    include: { tasks: true },
    orderBy: { position: "asc" },
  });
  return b && { watchers: ids(b.watchers_users), sections: ids(sections), tasks: ids(sections.flatMap((s) => s.tasks)) };
}

export async function boardsWatchedBy(prisma: PrismaClient, userId: string) {
  return ids(await prisma.boards.findMany({ where: { watchers_users: { some: { id: userId } } } }));
}

// A comment on a project task, then the board's watchers to notify.
export async function commentTask(prisma: PrismaClient, taskId: string, userId: string) {
  const c = await prisma.tasksComments.create({
    data: { v: 0, comment: "catalogue: project task", task: taskId, user: userId },
  });
  return c.id;
}

export async function watchBoard(prisma: PrismaClient, boardId: string, userId: string) {
  await prisma.boards.update({ where: { id: boardId }, data: { watchers_users: { connect: { id: userId } } } });
}
