// Test data for the search, feed and sitemap tests: real rows through Prisma in the file's own database.
import { prisma } from "../../src/db/index.ts";
import { renderMarkdown } from "../../src/blog/markdown.ts";

let n = 0;

export async function makeUser(username = `author${++n}`) {
  return prisma.user.create({
    data: { username, email: `${username}@example.test`, firstName: "Ada", lastName: "Lovelace", role: "AUTHOR" },
  });
}

export async function makeCategory(name: string, slug: string) {
  return prisma.category.create({ data: { name, slug, description: `About ${name}` } });
}

export async function makeTag(name: string, slug: string) {
  return prisma.tag.create({ data: { name, slug } });
}

export interface PostSpec {
  title: string;
  body?: string;
  excerpt?: string;
  slug?: string;
  status?: "DRAFT" | "PUBLISHED";
  /** Default: an hour ago. */
  publish?: Date;
  updatedAt?: Date;
  authorId: number;
  categoryId?: number | null;
  tagIds?: number[];
}

export async function makePost(s: PostSpec) {
  const body = s.body ?? `Some words about ${s.title}.`;
  const slug = s.slug ?? `${s.title.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 60)}-${++n}`;
  return prisma.post.create({
    data: {
      title: s.title,
      slug,
      body,
      bodyHtml: renderMarkdown(body),
      excerpt: s.excerpt ?? "",
      status: s.status ?? "PUBLISHED",
      publish: s.publish ?? new Date(Date.now() - 3_600_000),
      ...(s.updatedAt ? { updatedAt: s.updatedAt } : {}),
      authorId: s.authorId,
      categoryId: s.categoryId ?? null,
      tags: s.tagIds ? { create: s.tagIds.map((tagId) => ({ tagId })) } : undefined,
    },
  });
}

export const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);
export const inHours = (h: number) => new Date(Date.now() + h * 3_600_000);
