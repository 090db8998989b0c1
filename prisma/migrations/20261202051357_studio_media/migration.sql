-- AlterTable
ALTER TABLE "Post" ADD COLUMN     "featuredImageId" INTEGER,
ADD COLUMN     "metaTitle" VARCHAR(300) NOT NULL DEFAULT '',
ADD COLUMN     "previewKey" VARCHAR(64) NOT NULL DEFAULT '',
ADD COLUMN     "wordCount" INTEGER NOT NULL DEFAULT 0;

-- The date in a posts URL follows the sites TIME_ZONE (was: always UTC). It stops being a generated
-- column (its expression could only name one fixed zone) and keeps its values: a trigger sets it from
-- `publish` in the zone recorded in "SiteState" on every write of `publish`, whoever writes (the save
-- path, the seed, loaddata, the benchs bulk inserts). The server re-dates every post at start-up when
-- TIME_ZONE differs from the recorded zone (src/posts/timezone.ts).
ALTER TABLE "Post" ALTER COLUMN "publishDate" DROP EXPRESSION;

-- AlterTable
ALTER TABLE "User" ADD COLUMN     "avatarId" INTEGER;

-- CreateTable
CREATE TABLE "Media" (
    "id" SERIAL NOT NULL,
    "hash" VARCHAR(64) NOT NULL,
    "storageKey" VARCHAR(200) NOT NULL,
    "filename" VARCHAR(255) NOT NULL,
    "mime" VARCHAR(50) NOT NULL,
    "width" INTEGER NOT NULL,
    "height" INTEGER NOT NULL,
    "bytes" INTEGER NOT NULL,
    "alt" VARCHAR(500) NOT NULL DEFAULT '',
    "renditions" JSONB NOT NULL DEFAULT '[]',
    "uploadedById" INTEGER,
    "createdAt" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "version" INTEGER NOT NULL DEFAULT 1,

    CONSTRAINT "Media_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PostMedia" (
    "postId" INTEGER NOT NULL,
    "mediaId" INTEGER NOT NULL,

    CONSTRAINT "PostMedia_pkey" PRIMARY KEY ("postId","mediaId")
);

-- CreateTable
CREATE TABLE "SiteState" (
    "key" VARCHAR(50) NOT NULL,
    "value" TEXT NOT NULL,
    "updatedAt" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SiteState_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE UNIQUE INDEX "Media_hash_key" ON "Media"("hash");

-- CreateIndex
CREATE INDEX "Media_createdAt_id_idx" ON "Media"("createdAt" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "PostMedia_mediaId_idx" ON "PostMedia"("mediaId");

-- AddForeignKey
ALTER TABLE "User" ADD CONSTRAINT "User_avatarId_fkey" FOREIGN KEY ("avatarId") REFERENCES "Media"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Post" ADD CONSTRAINT "Post_featuredImageId_fkey" FOREIGN KEY ("featuredImageId") REFERENCES "Media"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Media" ADD CONSTRAINT "Media_uploadedById_fkey" FOREIGN KEY ("uploadedById") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PostMedia" ADD CONSTRAINT "PostMedia_postId_fkey" FOREIGN KEY ("postId") REFERENCES "Post"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PostMedia" ADD CONSTRAINT "PostMedia_mediaId_fkey" FOREIGN KEY ("mediaId") REFERENCES "Media"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- The zone post URL dates are in now: UTC, as before this migration.
INSERT INTO "SiteState" ("key", "value") VALUES ('time_zone', 'UTC');

-- The body is an escape string with each semicolon written \x3B: Prisma runs a migration through its
-- driver adapter, which splits the script at every semicolon (dollar quotes included).
CREATE FUNCTION folio_post_publish_date() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  IF TG_OP = ''INSERT'' OR NEW.publish IS DISTINCT FROM OLD.publish OR NEW."publishDate" IS NULL THEN
    NEW."publishDate" := (NEW.publish AT TIME ZONE COALESCE((SELECT "value" FROM "SiteState" WHERE "key" = ''time_zone''), ''UTC''))::date\x3B
  END IF\x3B
  RETURN NEW\x3B
END
';

CREATE TRIGGER post_publish_date BEFORE INSERT OR UPDATE ON "Post"
  FOR EACH ROW EXECUTE FUNCTION folio_post_publish_date();

-- Reading time on cards without loading bodies: the words of the body as stored (the save path counts
-- the prose only from now on: code and markup count here too, close enough for existing posts).
UPDATE "Post" SET "wordCount" = COALESCE(array_length(regexp_split_to_array(btrim(body), E'\\s+'), 1), 0) WHERE btrim(body) <> '';
