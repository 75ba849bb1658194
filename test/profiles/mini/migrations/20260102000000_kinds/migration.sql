-- The conversion kinds of a reshaped target (issue 18): a lookup table
-- seeded by the migration, a derived column, a numeric column, a reference
-- fed by two source keys.  Fields kept aside have no column.

-- CreateTable
CREATE TABLE "stages" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,

    CONSTRAINT "stages_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "stages_name_key" ON "stages"("name");

-- Seed
INSERT INTO "stages" ("name") VALUES ('Active'), ('Done');

-- AlterTable
ALTER TABLE "people" ADD COLUMN "role" TEXT NOT NULL DEFAULT 'user';

-- AlterTable
ALTER TABLE "projects" ADD COLUMN "budget" DECIMAL(12,2) NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "projects" ADD COLUMN "stage_id" UUID;

-- AlterTable
ALTER TABLE "notes" ADD COLUMN "author" UUID;

-- AddForeignKey
ALTER TABLE "projects" ADD CONSTRAINT "projects_stage_id_fkey" FOREIGN KEY ("stage_id") REFERENCES "stages"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "notes" ADD CONSTRAINT "notes_author_fkey" FOREIGN KEY ("author") REFERENCES "people"("id") ON DELETE SET NULL ON UPDATE CASCADE;
