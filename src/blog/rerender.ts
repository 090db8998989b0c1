// Re-rendering stored posts when the renderer changes (src/blog/markdown.ts RENDER_VERSION).
//
// bodyHtml, wordCount and the PostMedia rows are derived from the Markdown at save time, so posts saved
// by an older renderer keep its output until re-rendered. At start-up (src/server.ts, once per start:
// the primary) checkRenderVersion() compares RENDER_VERSION with "SiteState".render_version; when the
// stored one is older or missing it enqueues the "posts.rerender" job (once per version: several
// processes starting together queue one). The job (or `npm run posts:rerender`, for operators) re-renders every
// post in batches of BATCH, oldest id first, then makes every cached page stale and records the version.
//
// Not an edit: no revision, no version bump, no audit entry, updatedAt untouched; the text is the same,
// only its rendering changed. A writer saving meanwhile wins: each row is updated only where its
// version and body are still those that were rendered (a save renders with the new renderer itself),
// and its PostMedia rows are replaced in that same transaction, only when the row was updated.
import { prisma } from "../db/index.ts";
import { defineJob, enqueue } from "../jobs/index.ts";
import { invalidate, PAGE_TAGS } from "../cache/index.ts";
import { logger } from "../web/logger.ts";
import { RENDER_VERSION, renderBody } from "./markdown.ts";

/** The "SiteState" key recording the renderer version the stored bodies were rendered with. */
export const RENDER_VERSION_KEY = "render_version";
/** Posts read and rendered per round (a 5,000-word body renders in a few ms). */
export const BATCH = 100;

export interface RerenderResult {
  /** Posts looked at. */
  posts: number;
  /** Posts whose stored rendering changed. */
  changed: number;
  /** Posts saved by a writer while being re-rendered (their save's rendering was kept). */
  skipped: number;
}

/** The renderer version the stored bodies were rendered with (0: never recorded, i.e. before RENDER_VERSION existed). */
export async function storedRenderVersion(): Promise<number> {
  const row = await prisma.siteState.findUnique({ where: { key: RENDER_VERSION_KEY } });
  const n = row ? Number.parseInt(row.value, 10) : 0;
  return Number.isFinite(n) ? n : 0;
}

async function recordRenderVersion(version: number): Promise<void> {
  // Never lowers it (an older process finishing late).
  await prisma.$executeRaw`
    INSERT INTO "SiteState" ("key", "value", "updatedAt") VALUES (${RENDER_VERSION_KEY}, ${String(version)}, now())
    ON CONFLICT ("key") DO UPDATE SET "value" = EXCLUDED."value", "updatedAt" = now()
    WHERE CASE WHEN "SiteState"."value" ~ '^[0-9]{1,9}$' THEN "SiteState"."value"::int < ${version} ELSE true END`;
}

const sameIds = (a: number[], b: number[]) => {
  const x = [...new Set(a)].sort((p, q) => p - q);
  const y = [...new Set(b)].sort((p, q) => p - q);
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

/** A post as read for its re-render. */
export interface StoredBody {
  id: number;
  body: string;
  bodyHtml: string;
  wordCount: number;
  version: number;
  /** The images its PostMedia rows list. */
  mediaIds: number[];
}

/**
 * Re-renders one post as read (`row`): "same" when nothing would change, "changed" when stored, and
 * "skipped" when a writer saved it since it was read (its version or body moved: the save's rendering stays).
 */
export async function rerenderOne(row: StoredBody): Promise<"same" | "changed" | "skipped"> {
  const r = await renderBody(row.body);
  if (r.html === row.bodyHtml && r.wordCount === row.wordCount && sameIds(r.mediaIds, row.mediaIds)) return "same";
  const updated = await prisma.$transaction(async (tx) => {
    const n = await tx.$executeRaw`
      UPDATE "Post" SET "bodyHtml" = ${r.html}, "wordCount" = ${r.wordCount}
      WHERE "id" = ${row.id} AND "version" = ${row.version} AND "body" = ${row.body}`;
    if (n === 0) return false;
    await tx.postMedia.deleteMany({ where: { postId: row.id } });
    if (r.mediaIds.length) await tx.postMedia.createMany({ data: r.mediaIds.map((mediaId) => ({ postId: row.id, mediaId })), skipDuplicates: true });
    return true;
  });
  return updated ? "changed" : "skipped";
}

/**
 * Re-renders every post's body with the current renderer (see the header), then makes every cached
 * page stale and records RENDER_VERSION. Safe to run while writers save, and to run twice.
 */
export async function rerenderPosts(opts: { batch?: number; log?: (msg: string) => void } = {}): Promise<RerenderResult> {
  const batch = Math.max(1, opts.batch ?? BATCH);
  const result: RerenderResult = { posts: 0, changed: 0, skipped: 0 };
  let after = 0;
  for (;;) {
    const rows = await prisma.post.findMany({
      where: { id: { gt: after } },
      orderBy: { id: "asc" },
      take: batch,
      select: { id: true, body: true, bodyHtml: true, wordCount: true, version: true, media: { select: { mediaId: true } } },
    });
    if (rows.length === 0) break;
    for (const { media, ...row } of rows) {
      result.posts++;
      const outcome = await rerenderOne({ ...row, mediaIds: media.map((m) => m.mediaId) });
      if (outcome !== "same") result[outcome]++;
    }
    after = rows[rows.length - 1]!.id;
    opts.log?.(`re-rendered ${result.posts} posts so far (${result.changed} changed)`);
  }
  // Post pages show bodyHtml, cards the reading time: every page.
  if (result.changed) await invalidate("posts", PAGE_TAGS.all);
  await recordRenderVersion(RENDER_VERSION);
  return result;
}

interface RerenderData {
  version: number;
}

/** The background re-render (queued by checkRenderVersion). Retried from the start on failure: the work is idempotent. */
export const rerenderJob = defineJob<RerenderData>({
  name: "posts.rerender",
  retryLimit: 5,
  retryDelaySeconds: 60,
  retryBackoff: true,
  expireInSeconds: 3600,
  async handle({ version }) {
    // Queued for `version`; this process renders with RENDER_VERSION (the same, but during a rolling deploy).
    if ((await storedRenderVersion()) >= Math.max(version, RENDER_VERSION)) return; // done meanwhile (the command, another job)
    const r = await rerenderPosts();
    logger.info(r, "posts.rerender: stored posts re-rendered");
  },
});

/** Up to this many posts showing an image are re-rendered in the request that changed its alt text; more go to a job. */
export const RERENDER_INLINE_MAX = 20;

/** Re-renders the posts whose body shows image `mediaId` (PostMedia), in batches; returns the counts (pages not touched). */
export async function rerenderShowing(mediaId: number): Promise<RerenderResult> {
  const result: RerenderResult = { posts: 0, changed: 0, skipped: 0 };
  let after = 0;
  for (;;) {
    const rows = await prisma.post.findMany({
      where: { id: { gt: after }, media: { some: { mediaId } } },
      orderBy: { id: "asc" },
      take: BATCH,
      select: { id: true, body: true, bodyHtml: true, wordCount: true, version: true, media: { select: { mediaId: true } } },
    });
    if (rows.length === 0) return result;
    for (const { media, ...row } of rows) {
      result.posts++;
      const outcome = await rerenderOne({ ...row, mediaIds: media.map((m) => m.mediaId) });
      if (outcome !== "same") result[outcome]++;
    }
    after = rows[rows.length - 1]!.id;
  }
}

/** The background re-render of the posts showing an image whose alt text changed (many posts). */
export const rerenderShowingJob = defineJob<{ mediaId: number }>({
  name: "posts.rerender-showing",
  retryLimit: 5,
  retryDelaySeconds: 30,
  retryBackoff: true,
  expireInSeconds: 3600,
  async handle({ mediaId }) {
    const r = await rerenderShowing(mediaId);
    if (r.changed) await invalidate("posts", PAGE_TAGS.all);
    logger.info({ mediaId, ...r }, "posts.rerender-showing: posts showing an image re-rendered");
  },
});

/**
 * After an image's alt text changed (committed): bodies that give no alt text of their own store the
 * library's, so they are rendered again: here for up to RERENDER_INLINE_MAX posts, else in a job. The
 * caller then makes the pages showing the image stale. Returns whether a job was queued.
 */
export async function rerenderPostsShowing(mediaId: number): Promise<"inline" | "queued"> {
  const n = await prisma.postMedia.count({ where: { mediaId } });
  if (n > RERENDER_INLINE_MAX) {
    await enqueue(null, rerenderShowingJob, { mediaId });
    return "queued";
  }
  await rerenderShowing(mediaId);
  return "inline";
}

/** The "SiteState" key recording the renderer version whose re-render job was queued (one job per version). */
const QUEUED_KEY = "render_version_queued";

/**
 * At start-up: when the stored bodies were rendered by an older renderer, queue their re-render, once
 * per version however many processes start (a SiteState marker written in the job's transaction). A
 * job that failed for good stays on the admin's jobs page (Retry), or run `npm run posts:rerender`.
 * Returns whether this call queued it.
 */
export async function checkRenderVersion(log: (msg: string) => void = () => {}): Promise<boolean> {
  const stored = await storedRenderVersion();
  if (stored >= RENDER_VERSION) return false;
  const queued = await prisma.$transaction(async (tx) => {
    const n = await tx.$executeRaw`
      INSERT INTO "SiteState" ("key", "value", "updatedAt") VALUES (${QUEUED_KEY}, ${String(RENDER_VERSION)}, now())
      ON CONFLICT ("key") DO UPDATE SET "value" = EXCLUDED."value", "updatedAt" = now()
      WHERE CASE WHEN "SiteState"."value" ~ '^[0-9]{1,9}$' THEN "SiteState"."value"::int < ${RENDER_VERSION} ELSE true END`;
    if (n > 0) await enqueue(tx, rerenderJob, { version: RENDER_VERSION });
    return n > 0;
  });
  if (queued) log(`Post bodies were rendered by renderer version ${stored || 1}: re-rendering them with version ${RENDER_VERSION} in the background.`);
  return queued;
}
