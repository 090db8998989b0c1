// Favorites (the seed's DRF `@action` "favorite"): a signed-in user marks a published post. This module
// is the feature's one home: the writes (favorite / unfavorite, idempotent) and the queries (a post's
// count, a user's page of favorites). Its callers: the API (src/api/favorites.ts) and the post page's button
// (src/accounts/controller.ts favoritePost); both ask can(user, "post.favorite") first (a verified address).
//
// Only a post readers can see counts: status PUBLISHED with a publish time reached (the blog's
// "published", src/posts/visibility.ts: LIVE_SQL). A draft or scheduled post cannot be favorited (it "does not
// exist" for that question, even for its author), and a favorite whose post later leaves the site
// stays stored but is not listed (it shows again if the post comes back).
import { preparedQuery } from "../db/prepared.ts";
import { LIVE_SQL } from "../posts/visibility.ts";
import { CARD_COLUMNS, CARD_JOINS, tagNamesFor, toCard, type CardRow, type PostCard } from "../blog/queries.ts";

/** A post id that is not a published post (never created, deleted, draft, scheduled). */
export class FavoriteTargetMissing extends Error {
  constructor() {
    super("No such published post.");
  }
}

export interface FavoriteState {
  favorited: boolean;
  /** How many users have favorited the post. */
  favorites: number;
}

/**
 * One statement: the write happens only when the post is published (the CTE's join), and the answer
 * says whether it was (no row: not a published post) and the post's count after the write. The count
 * is read from the (postId) index; the snapshot does not see this statement's own insert/delete, so it
 * is corrected by what the write did.
 */
async function change(sql: string, userId: number, postId: number, favorited: boolean): Promise<FavoriteState> {
  const { rows } = await preparedQuery<{ n: number; changed: number }>(sql, [userId, postId]);
  const r = rows[0];
  if (!r) throw new FavoriteTargetMissing();
  const favorites = r.n + (favorited ? r.changed : -r.changed);
  return { favorited, favorites };
}

const FAVORITE_SQL = `
  WITH target AS (SELECT p.id FROM "Post" p WHERE p.id = $2 AND ${LIVE_SQL}),
       ins AS (INSERT INTO "Favorite" ("userId", "postId") SELECT $1, id FROM target ON CONFLICT DO NOTHING RETURNING 1)
  SELECT (SELECT count(*) FROM "Favorite" f WHERE f."postId" = t.id)::int AS n,
         (SELECT count(*) FROM ins)::int AS changed
    FROM target t`;

const UNFAVORITE_SQL = `
  WITH target AS (SELECT p.id FROM "Post" p WHERE p.id = $2 AND ${LIVE_SQL}),
       del AS (DELETE FROM "Favorite" f USING target t WHERE f."userId" = $1 AND f."postId" = t.id RETURNING 1)
  SELECT (SELECT count(*) FROM "Favorite" f WHERE f."postId" = t.id)::int AS n,
         (SELECT count(*) FROM del)::int AS changed
    FROM target t`;

/** Marks `postId` as a favorite of `userId` (again: no change). FavoriteTargetMissing unless the post is published. */
export function favorite(userId: number, postId: number): Promise<FavoriteState> {
  return change(FAVORITE_SQL, userId, postId, true);
}

/** Removes the mark (none: no change). FavoriteTargetMissing unless the post is published. */
export function unfavorite(userId: number, postId: number): Promise<FavoriteState> {
  return change(UNFAVORITE_SQL, userId, postId, false);
}

export interface FavoritePage {
  /** Post cards with the time each was favorited, newest favorite first. */
  posts: (PostCard & { favoritedAt: Date })[];
  /** Published favorites in all. */
  total: number;
}

/**
 * One page of `userId`'s favorites that are published now, newest favorite first (ties by post id),
 * with the total: one statement (the total as a window count over the same rows) on the
 * (userId, createdAt DESC, postId DESC) index, plus the tag names from their cache. A page past the
 * end has no rows and so no window count: its total is counted separately (rare).
 */
export async function listFavorites(userId: number, opts: { page: number; perPage: number }): Promise<FavoritePage> {
  const offset = (opts.page - 1) * opts.perPage;
  const { rows } = await preparedQuery<CardRow & { favoritedAt: Date; total: number }>(
    `SELECT ${CARD_COLUMNS}, f."createdAt" AS "favoritedAt", count(*) OVER () AS total
       FROM "Favorite" f JOIN "Post" p ON p.id = f."postId" ${CARD_JOINS}
      WHERE f."userId" = $1 AND ${LIVE_SQL}
      ORDER BY f."createdAt" DESC, f."postId" DESC
      LIMIT $2 OFFSET $3`,
    [userId, opts.perPage, offset],
  );
  let total = rows[0]?.total;
  if (total === undefined) {
    const c = await preparedQuery<{ n: number }>(
      `SELECT count(*) AS n FROM "Favorite" f JOIN "Post" p ON p.id = f."postId" WHERE f."userId" = $1 AND ${LIVE_SQL}`,
      [userId],
    );
    total = c.rows[0]?.n ?? 0;
  }
  const tags = await tagNamesFor(rows);
  return { posts: rows.map((r) => ({ ...toCard(r, tags), favoritedAt: r.favoritedAt })), total };
}
