// Authoring rules for the /write/ pages: which post the writer may open, tags by name, a free slug.
// Saving itself (Markdown rendering, revisions, audit log, optimistic locking) and who may set which
// field (status, tags, new tags: src/accounts/permissions.ts) are the posts service's job
// (src/posts/service.ts); this module prepares, calls it, and puts its refusals next to the fields.
import { prisma, type Post } from "../db/index.ts";
import type { PostStatus } from "../generated/prisma/client.ts";
import { can, type Actor, type PostField } from "../accounts/permissions.ts";
import { slugify, SLUG_MAX } from "../blog/markdown.ts";
import { forbidden, notFound } from "../web/errors.ts";
import * as posts from "../posts/service.ts";

export interface WriteInput {
  title: string;
  body: string;
  categoryId: number | null;
  /** Tag names as typed; missing tags are created (slugified). */
  tagNames: string[];
  status: PostStatus;
}

/** Field-level refusal (shown next to the field). */
export class AuthoringError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** A slug for `title` that is free on the UTC day of `publish`: "title", then "title-2", "title-3"... */
async function freeSlug(title: string, publish: Date, exceptId?: number): Promise<string> {
  const base = slugify(title);
  for (let n = 1; n < 1000; n++) {
    const suffix = n === 1 ? "" : `-${n}`;
    const candidate = base.slice(0, SLUG_MAX - suffix.length).replace(/-+$/, "") + suffix;
    if (await posts.isSlugFree(candidate, publish, exceptId)) return candidate;
  }
  throw new AuthoringError("title", "Too many posts with this title on this day; choose another title.");
}

async function checkCategory(categoryId: number | null): Promise<void> {
  if (categoryId === null) return;
  const found = await prisma.category.findUnique({ where: { id: categoryId }, select: { id: true } });
  if (!found) throw new AuthoringError("category", "Select a valid choice. That choice is not one of the available choices.");
}

/** This form's field for each post field the rule may refuse (it has no author or publish-time field). */
const FORM_FIELD: Record<PostField, string> = { status: "status", tags: "tags", publish: "__all__", authorId: "__all__" };

/** The posts service's save, its field refusals as AuthoringErrors (a refusal of the post itself stays a 403). */
async function saving<T>(save: Promise<T>): Promise<T> {
  try {
    return await save;
  } catch (e) {
    if (e instanceof posts.PostPermissionError && e.field) throw new AuthoringError(FORM_FIELD[e.field], e.message);
    throw e;
  }
}

/** Creates a post written by `actor`. Throws 403 without post.create, AuthoringError for field problems. */
export async function createPost(actor: Actor, input: WriteInput): Promise<Post> {
  if (!can(actor, "post.create")) throw forbidden("You cannot write posts.");
  await checkCategory(input.categoryId);
  // Two writers may race for the same slug: the unique index decides, and the loser takes the next one.
  for (let attempt = 0; ; attempt++) {
    // This editor has no publish field: the time is the posts service's publishTime() (now, unpinned for a draft).
    const slug = await freeSlug(input.title, posts.publishTime(null, undefined, input.status).publish);
    try {
      // New tags are created in the post's transaction (a refused save leaves none behind).
      return await saving(
        posts.createPost(
          {
            title: input.title,
            slug,
            body: input.body,
            status: input.status,
            publish: undefined,
            authorId: actor.id,
            categoryId: input.categoryId,
            tagNames: input.tagNames,
          },
          actor,
        ),
      );
    } catch (e) {
      if (e instanceof posts.SlugTakenError && attempt < 5) continue;
      throw e;
    }
  }
}

/** The post `id` if `actor` may change it: 404 when they may not even see it (does not reveal it exists), 403 otherwise. */
export async function postForChange(actor: Actor, id: number): Promise<posts.PostWithTags> {
  const post = await posts.getPostWithTags(id);
  if (!post || !can(actor, "post.view", post)) throw notFound();
  if (!can(actor, "post.change", post)) throw forbidden("You cannot change this post.");
  return post;
}

/** Saves changes to post `id` (expected at `version`); object-level permission through can(). */
export async function updatePost(actor: Actor, id: number, version: number, input: WriteInput): Promise<Post> {
  const post = await postForChange(actor, id);
  await checkCategory(input.categoryId);
  // The slug stays once the post exists (links must not break), unless the title's slug is free and the post is a draft.
  // Publishing a draft whose time was never set moves it to today (publishTime()): its slug must be free there.
  const when = posts.publishTime(post, undefined, input.status).publish;
  const slug =
    post.status === "DRAFT" && (input.title !== post.title || !(await posts.isSlugFree(post.slug, when, post.id)))
      ? await freeSlug(input.title, when, post.id)
      : post.slug;
  // No publish or excerpt field here: both "as stored", so the service's rules apply (an automatic excerpt follows the body,
  // a hand-written one stays). New tags are created in the save's transaction.
  return saving(
    posts.updatePost(
      id,
      version,
      {
        title: input.title,
        slug,
        body: input.body,
        status: input.status,
        publish: undefined,
        authorId: post.authorId,
        categoryId: input.categoryId,
        tagNames: input.tagNames,
        metaDescription: post.metaDescription,
      },
      actor,
    ),
  );
}

export { ConflictError, SlugTakenError } from "../posts/service.ts";
