// Test data for the reader's pages, written with Prisma into the test file's own database.
import { prisma } from "../../src/db/index.ts";

let n = 0;
const uniq = () => `${Date.now().toString(36)}${(n++).toString(36)}`;

export async function makeUser(data: { username?: string; firstName?: string; lastName?: string; role?: "READER" | "AUTHOR" | "EDITOR" | "ADMIN" } = {}) {
  const username = data.username ?? `user${uniq()}`;
  return prisma.user.create({
    data: { username, email: `${username.toLowerCase()}@example.test`, firstName: data.firstName ?? "", lastName: data.lastName ?? "", role: data.role ?? "AUTHOR" },
  });
}

export async function makeCategory(name: string, slug = name.toLowerCase().replace(/[^a-z0-9]+/g, "-"), description = "") {
  return prisma.category.create({ data: { name, slug, description } });
}

export async function makeTag(name: string, slug = name.toLowerCase().replace(/[^a-z0-9]+/g, "-")) {
  return prisma.tag.create({ data: { name, slug } });
}

export async function makePost(data: {
  title: string;
  slug?: string;
  authorId: number;
  categoryId?: number | null;
  tagIds?: number[];
  publish?: Date;
  status?: "DRAFT" | "PUBLISHED";
  excerpt?: string;
  bodyHtml?: string;
  metaDescription?: string;
}) {
  return prisma.post.create({
    data: {
      title: data.title,
      slug: data.slug ?? data.title.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, ""),
      authorId: data.authorId,
      categoryId: data.categoryId ?? null,
      publish: data.publish ?? new Date(),
      status: data.status ?? "PUBLISHED",
      excerpt: data.excerpt ?? `Excerpt of ${data.title}.`,
      body: "",
      bodyHtml: data.bodyHtml ?? `<p>Body of ${data.title}.</p>`,
      metaDescription: data.metaDescription ?? "",
      tags: data.tagIds ? { create: data.tagIds.map((tagId) => ({ tagId })) } : undefined,
    },
  });
}

/** /blog/YYYY/MM/DD/slug/ for a date, independently of postUrl(). */
export function pathFor(publish: Date, slug: string): string {
  const iso = publish.toISOString();
  return `/blog/${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${slug}/`;
}

/** Every <script type="application/ld+json"> of a page, parsed. */
export function jsonLd(html: string): unknown[] {
  return [...html.matchAll(/<script type="application\/ld\+json">([\s\S]*?)<\/script>/g)].map((m) => JSON.parse(m[1]!));
}

export function metaContent(html: string, attr: "name" | "property", key: string): string[] {
  const re = new RegExp(`<meta ${attr}="${key.replace(/[:.]/g, "\\$&")}" content="([^"]*)">`, "g");
  return [...html.matchAll(re)].map((m) => m[1]!);
}

export function canonical(html: string): string | undefined {
  return /<link rel="canonical" href="([^"]*)">/.exec(html)?.[1];
}
