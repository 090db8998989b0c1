// What else happens in a post save's transaction, after the post is written. Called by
// src/posts/service.ts for every create and update (admin, authors, API, bulk actions: setPostsStatus
// saves each post through the same path, so each author is told once per post).
//
// "Your post was published": when a post BECOMES published (a new post saved as published, or a
// status change to published) by someone other than its author (an editor, an admin), a job is
// enqueued in the save's transaction (a rolled-back save notifies nobody). The job carries only the
// post's and the publisher's ids; the mail is built when the job runs, from the post as it is then
// (its title and address now; "scheduled for <time>" while its publish time is ahead). A post deleted
// or unpublished before the job runs ends the job without a retry (JobGone). Authors publishing their
// own posts, and the site itself (seed, data commands: no actor), notify nobody.
import type { Post, Prisma } from "../generated/prisma/client.ts";
import { prisma } from "../db/index.ts";
import { defineJob, enqueue, JobGone } from "../jobs/index.ts";
import { sendMail } from "../mail/index.ts";
import { postPublishedMessage } from "../mail/messages.ts";
import { postUrl } from "../blog/queries.ts";
import { absolute } from "../web/urls.ts";
import { displayName } from "../accounts/users.ts";

export interface PostSaved {
  /** The post as stored before the save; null for a new post. */
  before: Pick<Post, "id" | "status" | "publish" | "authorId"> | null;
  after: Post;
  /** Who saved (null: the site itself: seed, data commands). */
  actorId: number | null;
}

interface PublishedData {
  postId: number;
  actorId: number;
}

/** The "post.published" job: mails the author, built from the post as it is when the job runs. */
export const postPublishedJob = defineJob<PublishedData>({
  name: "post.published",
  retryLimit: 5,
  retryDelaySeconds: 60,
  retryBackoff: true,
  expireInSeconds: 120,
  async handle({ postId, actorId }) {
    const post = await prisma.post.findUnique({
      where: { id: postId },
      select: { title: true, slug: true, publish: true, publishDate: true, status: true, author: { select: { email: true, isActive: true } } },
    });
    if (!post) throw new JobGone(`post ${postId} was deleted`);
    if (post.status !== "PUBLISHED") throw new JobGone(`post ${postId} is not published any more`);
    if (!post.author.isActive) throw new JobGone(`the author of post ${postId} is inactive`);
    const actor = await prisma.user.findUnique({ where: { id: actorId }, select: { username: true, firstName: true, lastName: true } });
    const scheduledFor = post.publish.getTime() > Date.now() ? post.publish : null;
    await sendMail(
      postPublishedMessage(post.author.email, {
        title: post.title,
        publisher: actor ? displayName(actor) : "An editor",
        link: absolute(postUrl(post)),
        scheduledFor,
      }),
    );
  },
});

export async function postSaved(tx: Prisma.TransactionClient, { before, after, actorId }: PostSaved): Promise<void> {
  const becamePublished = after.status === "PUBLISHED" && before?.status !== "PUBLISHED";
  if (becamePublished && actorId !== null && actorId !== after.authorId) {
    await enqueue(tx, postPublishedJob, { postId: after.id, actorId });
  }
}
