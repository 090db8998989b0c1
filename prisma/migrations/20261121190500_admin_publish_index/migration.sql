-- The admin change list orders all posts (every status) by publish DESC, id DESC and probes
-- publish ranges for its date hierarchy: without this index both read the whole table.
-- CreateIndex
CREATE INDEX "Post_publish_id_idx" ON "Post"("publish" DESC, "id" DESC);
