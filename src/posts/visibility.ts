// What "published" means, stated once: a post readers see is PUBLISHED with a publish time that has
// come (a PUBLISHED post with a future time is scheduled and appears by itself when its time comes;
// no job is involved). Every reader query, the sitemap, search, the API, favorites and the admin use these.

/** The SQL condition on the posts table aliased `p` ("Post" p). A fixed text: safe to prepare. */
export const LIVE_SQL = `(p.status = 'PUBLISHED' AND p.publish <= now())`;

/** The same in JavaScript, at `now`. */
export const isLive = (p: { status: string; publish: Date }, now: Date = new Date()): boolean => p.status === "PUBLISHED" && p.publish <= now;

/** The same as a Prisma filter on Post, at `now`. */
export const liveWhere = (now: Date = new Date()) => ({ status: "PUBLISHED" as const, publish: { lte: now } });
