-- CreateIndex
CREATE INDEX "Post_featuredImageId_idx" ON "Post"("featuredImageId");

-- CreateIndex
CREATE INDEX "User_avatarId_idx" ON "User"("avatarId");

-- The post's URL date is computed when it is not given: an INSERT with a "publishDate" keeps it (a
-- restore's COPY carries the dates as they were, including a date a post kept in a slug clash when
-- TIME_ZONE changed: recomputing it would break the unique (publishDate, slug) index). An UPDATE
-- computes it when publish changes or the date is NULL, as before.
CREATE OR REPLACE FUNCTION folio_post_publish_date() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  IF (TG_OP = ''INSERT'' AND NEW."publishDate" IS NULL)
     OR (TG_OP = ''UPDATE'' AND (NEW.publish IS DISTINCT FROM OLD.publish OR NEW."publishDate" IS NULL)) THEN
    NEW."publishDate" := (NEW.publish AT TIME ZONE COALESCE((SELECT "value" FROM "SiteState" WHERE "key" = ''time_zone''), ''UTC''))::date\x3B
  END IF\x3B
  RETURN NEW\x3B
END
';
