// What else happens in a post save's transaction, after the post is written: GROUNDWORK STUB (the accounts
// and mail engineer adds the "your post was published" notification to the author here, as a job enqueued
// in `tx`). Called by src/posts/service.ts for every create and update (admin, authors, API, bulk actions).
import type { Post, Prisma } from "../generated/prisma/client.ts";

export interface PostSaved {
  /** The post as stored before the save; null for a new post. */
  before: Pick<Post, "id" | "status" | "publish" | "authorId"> | null;
  after: Post;
  /** Who saved (null: the site itself: seed, data commands). */
  actorId: number | null;
}

export async function postSaved(_tx: Prisma.TransactionClient, _saved: PostSaved): Promise<void> {}
