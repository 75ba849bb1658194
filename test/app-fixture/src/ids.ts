// The records the catalogue reads and writes, chosen by the runtime test
// from the migrated database (test/prisma/app-catalogue.cjs).
export interface Ids {
  userId: string;
  accountId: string;
  watchedAccountId: string;
  contactId: string;
  opportunityId: string;
  crmTaskId: string;
  taskId: string;
  boardId: string;
  documentId: string;
}
