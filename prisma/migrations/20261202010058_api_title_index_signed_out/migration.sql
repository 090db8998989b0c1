-- AlterTable
ALTER TABLE "User" ADD COLUMN     "signedOutAt" TIMESTAMPTZ(6);

-- CreateIndex
CREATE INDEX "Post_status_title_id_idx" ON "Post"("status", "title", "id");
