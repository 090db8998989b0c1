// What the change form's tag field asks while the writer types (its combobox, public/js/admin.js):
// at most TAG_SUGGESTIONS tags whose name or slug begins with the typed text. Every writer (post.create)
// may ask. Only a tag's id, name and slug are answered, nothing about the posts that carry it; and a
// writer who cannot see every post is only offered tags the site shows (on a live post) or that are on
// their own posts: a tag used only on another author's draft has no page and is not theirs to learn.
import type { Request, Response } from "express";
import { z } from "zod";
import { prisma } from "../db/index.ts";
import { tagSlug } from "../posts/service.ts";
import { badRequest, forbidden } from "../web/errors.ts";
import { isId, searchText } from "../web/inputs.ts";
import { canAll, type Actor } from "../accounts/permissions.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { authorize, currentUser } from "./auth.ts";
import { liveWhere } from "../posts/visibility.ts";

export const TAG_SUGGESTIONS = 20;

const tagQuery = z.object({ term: z.string().max(100).optional() });

/** A LIKE prefix pattern matching `s` literally (Prisma's startsWith leaves % and _ as wildcards). */
const prefix = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The tags `user` may learn the names of: all for those who see every post; else those on a live post or on their own posts. */
export function visibleTags(user: Actor): Prisma.TagWhereInput {
  return canAll(user, "post.view") ? {} : { posts: { some: { post: { OR: [liveWhere(), { authorId: user.id }] } } } };
}

export async function tagAutocomplete(req: Request, res: Response) {
  const u = currentUser(req);
  if (!u) throw forbidden();
  authorize(u, "post.create");
  const r = tagQuery.safeParse(req.query);
  if (!r.success) throw badRequest("Invalid tag query.", { term: "Give the text once, at most 100 characters." });
  const term = searchText(r.data.term ?? ""); // a search box: NUL and control characters dropped
  // the slug too ("cafe" finds "Café"), when the text has a real one (tagSlug): "c++" must not become
  // "c" and find every tag beginning with c, nor "日本" slugify()'s fallback
  const slug = tagSlug(term) ?? "";
  const matching: Prisma.TagWhereInput = term
    ? { OR: [{ name: { startsWith: prefix(term), mode: "insensitive" } }, ...(slug ? [{ slug: { startsWith: prefix(slug) } }] : [])] }
    : {};
  const rows = await prisma.tag.findMany({
    where: { AND: [matching, visibleTags(u)] },
    select: { id: true, name: true, slug: true },
    orderBy: { name: "asc" },
    take: TAG_SUGGESTIONS,
  });
  res.json({ results: rows });
}

/** Ids a form shown again looks up, at most (a tag field holds 20; the rest of a hostile list is not looked up). */
const CHOSEN_MAX = 100;

/**
 * The tag field's chips: the tags with these ids (a form shown again keeps the ids it was sent), in
 * their order; only those `user` may learn the names of (visibleTags): sending ids must not reveal
 * a tag used only on another author's draft.
 */
export async function chosenTags(ids: readonly string[], user: Actor): Promise<{ id: number; name: string }[]> {
  const wanted = ids.filter(isId).map(Number).slice(0, CHOSEN_MAX);
  if (!wanted.length) return [];
  const rows = await prisma.tag.findMany({ where: { AND: [{ id: { in: wanted } }, visibleTags(user)] }, select: { id: true, name: true } });
  return rows.sort((a, b) => wanted.indexOf(a.id) - wanted.indexOf(b.id));
}

/** A tag field's value as one line of text (the edit-conflict table): the chosen tags' names, then the names typed. */
export async function tagsText(v: { ids: string[]; names: string } | undefined, user: Actor): Promise<string> {
  const names = (await chosenTags(v?.ids ?? [], user)).map((t) => t.name);
  return [...names, ...(v?.names ? [v.names] : [])].join(", ");
}
