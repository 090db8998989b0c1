// The API's shared shapes: the Post resource (with its author, category and tags embedded) and the
// list envelopes. Operations build their own request schemas beside them; every schema here has an
// OpenAPI component id (.meta({ id })), so the document names it once.
import { z } from "zod";

const dateTime = () => z.iso.datetime({ offset: true });

export const AuthorRef = z
  .object({ username: z.string(), name: z.string().meta({ description: "First and last name, or the username." }) })
  .meta({ id: "AuthorRef" });
export const CategoryRef = z.object({ slug: z.string(), name: z.string() }).meta({ id: "CategoryRef" });
export const TagRef = z.object({ slug: z.string(), name: z.string() }).meta({ id: "TagRef" });

export const POST_STATUSES = ["draft", "published"] as const;
export const PostStatusName = z
  .enum(POST_STATUSES)
  .meta({ id: "PostStatus", description: "A published post whose publish time is in the future is scheduled." });

/**
 * A post. Every field but `id` may be left out by a sparse fieldset (`?fields=id,title`); lists leave
 * out `body` and `html` unless asked for.
 */
export const Post = z
  .object({
    id: z.number().int(),
    title: z.string().optional(),
    slug: z.string().optional(),
    status: PostStatusName.optional(),
    scheduled: z.boolean().optional().meta({ description: "Published with a publish time still in the future." }),
    publish: dateTime().optional().meta({ description: "Publication time (UTC)." }),
    url: z.string().nullable().optional().meta({ description: "The reader's page (absolute URL); null for a draft or scheduled post." }),
    excerpt: z.string().optional(),
    body: z.string().optional().meta({ description: "Markdown source." }),
    html: z.string().optional().meta({ description: "The rendered, sanitised HTML." }),
    metaDescription: z.string().optional(),
    author: AuthorRef.optional(),
    category: CategoryRef.nullable().optional(),
    tags: z.array(TagRef).optional(),
    createdAt: dateTime().optional(),
    updatedAt: dateTime().optional(),
    version: z.number().int().optional().meta({
      description:
        'Bumped on every save. The ETag is "<version>-<hash of the JSON sent>" (304 only for the same bytes); If-Match compares its leading version, so send back the ETag you got (or "<version>") to update.',
    }),
  })
  .meta({ id: "Post" });
export type PostResource = z.infer<typeof Post>;
export const POST_FIELD_NAMES = Object.keys(Post.shape) as (keyof PostResource)[];

/** A page-number page (DRF's PageNumberPagination): total count and links to the neighbours. */
export function pageOf<T extends z.ZodType>(item: T, id: string) {
  return z
    .object({
      count: z.number().int(),
      next: z.string().nullable(),
      previous: z.string().nullable(),
      results: z.array(item),
    })
    .meta({ id });
}

/** A cursor page (DRF's CursorPagination): no count, opaque links; stays fast however deep. */
export function cursorPageOf<T extends z.ZodType>(item: T, id: string) {
  return z
    .object({
      next: z.string().nullable(),
      previous: z.string().nullable(),
      results: z.array(item),
    })
    .meta({ id });
}
