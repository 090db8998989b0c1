-- AlterTable
ALTER TABLE "Category" ADD COLUMN     "version" INTEGER NOT NULL DEFAULT 1;

-- AlterTable
ALTER TABLE "Post" ADD COLUMN     "publishPinned" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "Tag" ADD COLUMN     "version" INTEGER NOT NULL DEFAULT 1;

-- AlterTable
ALTER TABLE "User" ADD COLUMN     "version" INTEGER NOT NULL DEFAULT 1;

-- CreateTable
CREATE TABLE "Autosave" (
    "id" SERIAL NOT NULL,
    "userId" INTEGER NOT NULL,
    "postId" INTEGER,
    "slot" VARCHAR(40) NOT NULL,
    "fields" JSONB NOT NULL,
    "baseVersion" INTEGER,
    "updatedAt" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Autosave_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Autosave_postId_idx" ON "Autosave"("postId");

-- CreateIndex
CREATE INDEX "Autosave_updatedAt_idx" ON "Autosave"("updatedAt");

-- CreateIndex
CREATE UNIQUE INDEX "Autosave_userId_slot_key" ON "Autosave"("userId", "slot");

-- AddForeignKey
ALTER TABLE "Autosave" ADD CONSTRAINT "Autosave_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Autosave" ADD CONSTRAINT "Autosave_postId_fkey" FOREIGN KEY ("postId") REFERENCES "Post"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Posts already published keep their publish time: it was chosen (or taken) when they went out.
UPDATE "Post" SET "publishPinned" = true WHERE "status" = 'PUBLISHED';
-- A draft whose publish time differs from its creation time by more than five minutes had its time
-- set by a writer (the old form pre-filled the creation time): keep it as chosen.
UPDATE "Post" SET "publishPinned" = true
WHERE "status" = 'DRAFT' AND abs(extract(epoch FROM ("publish" - "createdAt"))) > 300;
