// "My posts": one writer's posts in three groups. Drafts (newest change first), scheduled (published
// with a future time: soonest first) and published (newest first). `now` is read once per page, so a
// post is in exactly one group and the counts agree with the list.
import { prisma, Prisma } from "../db/index.ts";

export const GROUPS = ["drafts", "scheduled", "published"] as const;
export type Group = (typeof GROUPS)[number];

export const isGroup = (v: unknown): v is Group => typeof v === "string" && (GROUPS as readonly string[]).includes(v);

function where(authorId: number, group: Group, now: Date): Prisma.PostWhereInput {
  if (group === "drafts") return { authorId, status: "DRAFT" };
  return { authorId, status: "PUBLISHED", publish: group === "scheduled" ? { gt: now } : { lte: now } };
}

const ORDER: Record<Group, Prisma.PostOrderByWithRelationInput[]> = {
  drafts: [{ updatedAt: "desc" }, { id: "desc" }],
  scheduled: [{ publish: "asc" }, { id: "asc" }],
  published: [{ publish: "desc" }, { id: "desc" }],
};

/** How many posts of `authorId` each group holds. */
export async function groupCounts(authorId: number, now: Date): Promise<Record<Group, number>> {
  const rows = await prisma.$queryRaw<{ drafts: number; scheduled: number; published: number }[]>`
    SELECT count(*) FILTER (WHERE status = 'DRAFT')::int AS drafts,
           count(*) FILTER (WHERE status = 'PUBLISHED' AND publish > ${now})::int AS scheduled,
           count(*) FILTER (WHERE status = 'PUBLISHED' AND publish <= ${now})::int AS published
      FROM "Post" WHERE "authorId" = ${authorId}`;
  const r = rows[0];
  return { drafts: r?.drafts ?? 0, scheduled: r?.scheduled ?? 0, published: r?.published ?? 0 };
}

/** One page of a group. */
export function groupPage(authorId: number, group: Group, now: Date, page: number, perPage: number) {
  return prisma.post.findMany({
    where: where(authorId, group, now),
    orderBy: ORDER[group],
    skip: (page - 1) * perPage,
    take: perPage,
    select: {
      id: true,
      title: true,
      slug: true,
      status: true,
      publish: true,
      publishDate: true, // the View link's date (postUrl)
      updatedAt: true,
      wordCount: true,
      authorId: true,
      category: { select: { name: true } },
    },
  });
}
