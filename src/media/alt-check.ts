// Alt text before publishing: a post that shows an image without alt text (in its body or as its featured
// image) cannot be published or scheduled. The one post save path (src/posts/service.ts) asks
// assertAltForPublish() whenever a save leaves the post PUBLISHED; drafts save, and the editor shows
// altProblems() as a warning. For a body image, the Markdown's own alt text (![a harbour at dawn](…))
// counts for that use; the library's alt text (set in /admin/media/<id>/) is the default for uses that
// give none, and for the featured image (which has no Markdown). An image used twice in a body needs
// alt text for each use: its Markdown alt, or the library's.
import { Marked, type Token } from "marked";
import { prisma, type Prisma } from "../db/index.ts";
import { keyOfUrl, MEDIA_SELECT, toMediaItem } from "./service.ts";
import type { Rendition } from "./types.ts";

type Db = Prisma.TransactionClient | typeof prisma;

/** One image of a post that readers would see without alt text. */
export interface AltProblem {
  mediaId: number;
  filename: string;
  /** Where the post shows it: its body (PostMedia), or as its featured image. */
  where: "body" | "featured";
}

/** The post form fields the problems are reported against (the admin form's and the service's names). */
export const ALT_FIELDS = { body: "body", featured: "featuredImageId" } as const;

/**
 * A save that would publish (or schedule) a post with an image lacking alt text: nothing was written.
 * `fields` holds the message per form field ("body", "featuredImageId"); unmapped, it is a 400 with its message.
 */
export class AltTextMissingError extends Error {
  readonly status = 400;
  readonly expose = true;
  constructor(
    readonly problems: AltProblem[],
    readonly fields: Record<string, string> = altFieldMessages(problems),
  ) {
    super(altMessage(problems));
  }
}

const quoted = (names: string[]) => {
  const q = [...new Set(names)].map((n) => `“${n}”`);
  return q.length === 1 ? q[0]! : `${q.slice(0, -1).join(", ")} and ${q[q.length - 1]}`;
};

/** "Add alt text to “photo.jpg” before publishing: …" (the field message; "" when there is nothing to add). */
export function altMessage(problems: AltProblem[]): string {
  if (problems.length === 0) return "";
  const body = problems.some((p) => p.where === "body");
  const how = body
    ? "describe the image in the Markdown (![what it shows](…)) or set its alt text in the media library."
    : "set its alt text in the media library.";
  return `Add alt text to ${quoted(problems.map((p) => p.filename))} before publishing: ${how}`;
}

/** The messages per form field: body images under "body", the featured image under "featuredImageId". */
export function altFieldMessages(problems: AltProblem[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const where of ["body", "featured"] as const) {
    const these = problems.filter((p) => p.where === where);
    if (these.length) out[ALT_FIELDS[where]] = altMessage(these);
  }
  return out;
}

/** A draft's warning (shown, not refused): the same words, as something to do before publishing. */
export function altWarning(problems: AltProblem[]): string {
  return problems.length ? altMessage(problems).replace(/^Add/, "Before publishing, add").replace(" before publishing:", ":") : "";
}

const lexer = new Marked({ gfm: true });

/** Every image of a Markdown body as written: its URL and its alt text (reference images resolved). */
export function markdownImages(body: string): { href: string; alt: string }[] {
  const out: { href: string; alt: string }[] = [];
  void lexer.walkTokens(lexer.lexer(body), (t: Token) => {
    if (t.type === "image") out.push({ href: t.href, alt: (t.text ?? "").trim() });
  });
  return out;
}

interface Candidate {
  id: number;
  filename: string;
  alt: string;
  storageKey: string;
  renditions: Rendition[];
}

/** The storage keys of an item: its original and every rendition (a body may show any of them). */
const keysOf = (m: Candidate) => new Set([m.storageKey, ...m.renditions.map((r) => r.key)]);

/**
 * The images a post would show without alt text: `bodyMediaIds` (the body's library images, as the save
 * path's renderBody() found them), `featuredImageId`, and the Markdown `body` (whose own alt text counts
 * for each use). An empty list: it may be published.
 */
export async function altProblems(bodyMediaIds: readonly number[], featuredImageId: number | null, body: string, db: Db = prisma): Promise<AltProblem[]> {
  const ids = [...new Set([...bodyMediaIds, ...(featuredImageId === null ? [] : [featuredImageId])])];
  if (ids.length === 0) return [];
  const items: Candidate[] = (await db.media.findMany({ where: { id: { in: ids } }, select: MEDIA_SELECT })).map(toMediaItem);
  const byId = new Map(items.map((m) => [m.id, m]));
  const problems: AltProblem[] = [];
  const bodyIds = new Set(bodyMediaIds);
  const uses = bodyIds.size ? markdownImages(body).map((i) => ({ key: keyOfUrl(i.href), alt: i.alt })) : [];
  for (const id of [...bodyIds].sort((a, b) => a - b)) {
    const m = byId.get(id);
    if (!m || m.alt.trim()) continue; // gone (the save's foreign key answers that), or the library's alt covers every use
    const keys = keysOf(m);
    const mine = uses.filter((u) => u.key !== null && keys.has(u.key));
    // no use found by URL (a form of reference this check does not know): the library's alt is what counts
    if (mine.length === 0 || mine.some((u) => !u.alt)) problems.push({ mediaId: m.id, filename: m.filename, where: "body" });
  }
  const featured = featuredImageId === null ? undefined : byId.get(featuredImageId);
  if (featured && !featured.alt.trim()) problems.push({ mediaId: featured.id, filename: featured.filename, where: "featured" });
  return problems;
}

/** Throws AltTextMissingError when a save that leaves the post PUBLISHED (published or scheduled) shows an image without alt text. */
export async function assertAltForPublish(
  status: string,
  bodyMediaIds: readonly number[],
  featuredImageId: number | null,
  body: string,
  db: Db = prisma,
): Promise<void> {
  if (status !== "PUBLISHED") return;
  const problems = await altProblems(bodyMediaIds, featuredImageId, body, db);
  if (problems.length) throw new AltTextMissingError(problems);
}
