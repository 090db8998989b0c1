// Scheduled posts and the page cache. A post published with a future time goes live by the clock, with
// no write to invalidate anything, so:
//  - every cached page's lifetime is bounded by the next scheduled publish time (nextScheduledAt(): one
//    index probe, kept in the declared in-process cache "cache.next-scheduled" until that time passes
//    or a post write clears it), so the page is rendered again once the post is live;
//  - a job every minute (publishDue) invalidates the pages of the posts that went live since its last
//    run, for what the bound does not reach: the in-process caches of every process ("posts"), and
//    pages stored before the post was scheduled in a shared (Redis) cache by another host's clock.
import { preparedQuery } from "../db/prepared.ts";
import { defineJob } from "../jobs/index.ts";
import { caches, invalidate, PAGE_TAGS } from "./index.ts";

/** ms since epoch of the next scheduled publish time, or null when none is scheduled. */
export async function nextScheduledAt(): Promise<number | null> {
  const now = Date.now();
  const cached = await caches.nextScheduled.fetch("next", loadNext);
  if (cached === null || cached > now) return cached;
  return caches.nextScheduled.reload("next", loadNext); // that time has come: the one after it
}

async function loadNext(): Promise<number | null> {
  const { rows } = await preparedQuery<{ at: Date | null }>(`SELECT min(publish) AS at FROM "Post" WHERE status = 'PUBLISHED' AND publish > now()`);
  return rows[0]?.at ? rows[0].at.getTime() : null;
}

/** The page tags of posts that went live in (since, until]: each post, its category, tags and author, the lists. */
export async function tagsOfPostsLiveBetween(since: Date, until: Date): Promise<string[]> {
  const { rows } = await preparedQuery<{ id: number; categoryId: number | null; authorId: number; tagIds: number[] }>(
    `SELECT p.id, p."categoryId", p."authorId", ARRAY(SELECT pt."tagId" FROM "PostTag" pt WHERE pt."postId" = p.id) AS "tagIds"
       FROM "Post" p WHERE p.status = 'PUBLISHED' AND p.publish > $1 AND p.publish <= $2 LIMIT 1000`,
    [since, until],
  );
  if (!rows.length) return [];
  const tags = new Set<string>(["posts", PAGE_TAGS.lists]);
  for (const r of rows) {
    tags.add(PAGE_TAGS.post(r.id));
    tags.add(PAGE_TAGS.author(r.authorId));
    if (r.categoryId !== null) tags.add(PAGE_TAGS.category(r.categoryId));
    for (const t of r.tagIds) tags.add(PAGE_TAGS.tag(t));
  }
  return [...tags];
}

let lastRun: Date | null = null;

/** One run: invalidates the posts that went live since the previous run (the first run looks back 2 minutes). */
export async function publishDue(now = new Date()): Promise<string[]> {
  const since = lastRun ?? new Date(now.getTime() - 120_000);
  const tags = await tagsOfPostsLiveBetween(since, now);
  if (tags.length) await invalidate(...tags);
  lastRun = now;
  return tags;
}

export const publishDueJob = defineJob<Record<string, never>>({
  name: "cache.publish-due",
  retryLimit: 0,
  retryDelaySeconds: 30,
  retryBackoff: false,
  expireInSeconds: 60,
  cron: "* * * * *",
  handle: async () => {
    await publishDue();
  },
});
