// A post written straight into the database, as another worker or psql would: no cache invalidation
// in this process (tests of what cached reads show until a NOTIFY, a TTL or a correction).
import { prisma } from "../../src/db/index.ts";

/** The NOTIFY channel every Folio process listens on (src/db/invalidation.ts): a wire name, kept stable across versions. */
export const CHANNEL = "folio_invalidate";

export async function writtenElsewhere(data: { title: string; authorId: number; publish?: Date; categoryId?: number | null }) {
  return prisma.post.create({
    data: {
      title: data.title,
      slug: data.title
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "-")
        .replace(/^-|-$/g, ""),
      authorId: data.authorId,
      categoryId: data.categoryId ?? null,
      publish: data.publish ?? new Date(Date.now() - 60_000),
      status: "PUBLISHED",
      excerpt: `Excerpt of ${data.title}.`,
      body: "",
      bodyHtml: `<p>Body of ${data.title}.</p>`,
      metaDescription: "",
    },
  });
}
