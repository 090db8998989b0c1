// The media library in the admin (reads and writes: src/media/library.ts):
//  GET /admin/media/ (admin:media_library): a grid of thumbnails, newest first, searchable by file name
//    and alt text (?q=), "Page X of Y"; each tile shows its alt text (or a "No alt text" warning), size,
//    dimensions and how many posts use it; an upload form (MEDIA-CORE's media:upload endpoint).
//  GET/POST /admin/media/<id>/ (admin:media_detail): the image, its facts and renditions, what uses it
//    (posts' bodies, featured images, avatars: links to their editors), the alt text form (versioned:
//    a stale save shows a conflict; 400 with the field message for a bad one).
//  POST /admin/media/<id>/delete/ (admin:media_delete): refused with the usage while the image is used;
//    the confirmation is on the detail page (a checkbox the writer ticks).
// Permissions (src/accounts/permissions.ts): media.view/create for authors and up; media.change and
// media.delete for editors on every image, for authors on their own uploads.
import type { NextFunction, Request, Response, Router } from "express";
import { z } from "zod";
import { can } from "../accounts/permissions.ts";
import { mediaUrl, type Rendition } from "../media/index.ts";
import {
  ALT_MAX,
  AltConflictError,
  countMedia,
  deleteMedia,
  getLibraryItem,
  LIBRARY_PER_PAGE,
  listMedia,
  MediaInUseError,
  MediaNotFoundError,
  normalizeAlt,
  SEARCH_MAX,
  setAlt,
  usageOf,
  AltRequiredError,
  type LibraryItem,
  type Usage,
} from "../media/library.ts";
import { notFound } from "../web/errors.ts";
import { NUL_MESSAGE, toId } from "../web/inputs.ts";
import { makePage, numPages, parsePage } from "../web/pagination.ts";
import { flash } from "../web/session.ts";
import { route, routeNames, url } from "../web/urls.ts";
import { authorize, currentUser, type AdminUser } from "./auth.ts";
import { render } from "./views.ts";

/** The owner of an image, as can() reads it (authorId: the uploader). */
const owned = (m: { uploadedById: number | null }) => ({ authorId: m.uploadedById ?? 0 });

/**
 * The image as media.change reads it for its alt text (the one rule): the user's own when they uploaded it
 * or when a post of theirs shows it (body or featured), so an author can give alt text to another writer's
 * image their post needs before publishing. Deletion stays with the uploader (and editors).
 */
const altOwned = (m: { uploadedById: number | null }, usage: Usage, u: AdminUser) =>
  usage.posts.some((p) => p.authorId === u.id) ? { authorId: u.id } : owned(m);

function who(req: Request): AdminUser {
  const u = currentUser(req)!; // requireAdmin ran
  authorize(u, "media.view");
  return u;
}

export function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** The smallest file to show as a thumbnail: the narrowest WebP rendition at least `min` px wide, else the narrowest, else the original. */
export function thumbnailOf(m: { storageKey: string; width: number; height: number; renditions: Rendition[] }, min = 300) {
  const pick = (rs: Rendition[]) => [...rs].sort((a, b) => a.width - b.width).find((r) => r.width >= min) ?? [...rs].sort((a, b) => b.width - a.width)[0];
  const r = pick(m.renditions.filter((x) => x.format === "webp")) ?? pick(m.renditions.filter((x) => x.format !== "avif"));
  return r ? { src: mediaUrl(r.key), width: r.width, height: r.height } : { src: mediaUrl(m.storageKey), width: m.width, height: m.height };
}

/** MEDIA-CORE's upload endpoint, when it is mounted. */
const uploadUrl = () => (routeNames().includes("media:upload") ? url("media:upload") : null);

const searchParam = (raw: unknown): string => (typeof raw === "string" ? raw.replace(/\0/g, "").trim().slice(0, SEARCH_MAX) : "");

function tile(m: LibraryItem) {
  return {
    id: m.id,
    filename: m.filename,
    alt: m.alt,
    width: m.width,
    height: m.height,
    size: humanBytes(m.bytes),
    posts: m.posts,
    avatars: m.avatars,
    thumb: thumbnailOf(m),
    url: url("admin:media_detail", { id: m.id }),
    createdAt: m.createdAt,
  };
}

/** GET /admin/media/ */
export async function libraryPage(req: Request, res: Response): Promise<void> {
  const u = who(req);
  const q = searchParam(req.query.q);
  const asked = parsePage(req.query.page);
  const total = await countMedia(q);
  const page = makePage(asked === "last" ? numPages(total, LIBRARY_PER_PAGE) : asked, total, LIBRARY_PER_PAGE, { name: "admin:media_library" });
  const items = await listMedia(q, LIBRARY_PER_PAGE, (page.number - 1) * LIBRARY_PER_PAGE);
  const at = (n: number | null) => (n === null ? null : url("admin:media_library", {}, { q, page: n > 1 ? n : undefined }));
  render(req, res, "media_library.njk", {
    title: "Media library",
    navMedia: true,
    q,
    items: items.map(tile),
    page: { ...page, previousUrl: at(page.previousNumber), nextUrl: at(page.nextNumber) },
    uploadUrl: can(u, "media.create") ? uploadUrl() : null,
    missingAlt: items.filter((i) => !i.alt.trim()).length,
  });
}

const altForm = z.object({
  alt: z
    .string({ error: "Enter the alt text." })
    .refine((s) => !s.includes("\0"), NUL_MESSAGE)
    .transform(normalizeAlt)
    .refine((s) => s.length <= ALT_MAX, `At most ${ALT_MAX} characters (describe what the image shows, briefly).`),
  version: z
    .string()
    .regex(/^\d{1,9}$/, "The form is incomplete: reload the page.")
    .transform(Number),
});

async function detail(req: Request, res: Response, id: number, extra: Record<string, unknown> = {}, status = 200): Promise<void> {
  const u = currentUser(req)!;
  const m = await getLibraryItem(id);
  if (!m) throw notFound("No such image.");
  const usage = await usageOf(id);
  const mayChange = can(u, "media.change", altOwned(m, usage, u));
  const seen = usage.posts.filter((p) => can(u, "post.view", p)); // another writer's drafts: a count, no title
  render(
    req,
    res,
    "media_detail.njk",
    {
      title: m.filename,
      navMedia: true,
      m: { ...m, size: humanBytes(m.bytes), src: mediaUrl(m.storageKey), preview: thumbnailOf(m, 800) },
      renditions: m.renditions.map((r) => ({ ...r, url: mediaUrl(r.key), size: humanBytes(r.bytes) })),
      fileCount: new Set([m.storageKey, ...m.renditions.map((r) => r.key)]).size,
      formats: [...new Set(m.renditions.map((r) => (r.format === "webp" ? "WebP" : r.format.toUpperCase())))].join(", "),
      widths: (() => {
        const w = [...new Set(m.renditions.map((r) => r.width))].sort((a, b) => a - b);
        return w.length > 1 ? `${w[0]}–${w[w.length - 1]} px wide` : `${w[0]} px wide`;
      })(),
      hiddenPosts: usage.posts.length - seen.length,
      posts: seen.map((p) => ({ ...p, editUrl: can(u, "post.change", p) ? url("admin:blog_post_change", { id: p.id }) : null })),
      avatars: usage.avatars.map((a) => ({
        ...a,
        editUrl: can(u, "user.change", { authorId: a.id }) ? url("admin:accounts_user_change", { id: a.id }) : null,
      })),
      inUse: usage.posts.length + usage.avatars.length > 0,
      mayChange,
      mayDelete: can(u, "media.delete", owned(m)),
      values: { alt: m.alt, version: m.version },
      errors: {},
      libraryUrl: url("admin:media_library"),
      deleteUrl: url("admin:media_delete", { id }),
      ...extra,
    },
    status,
  );
}

/** GET /admin/media/<id>/ */
export async function detailPage(req: Request, res: Response, next: NextFunction): Promise<void> {
  const id = toId(req.params.id);
  if (id === null) return next(); // not an image's page (another /admin/media/ route, or the 404)
  who(req);
  await detail(req, res, id);
}

/** POST /admin/media/<id>/: the alt text. */
export async function saveAlt(req: Request, res: Response, next: NextFunction): Promise<void> {
  const id = toId(req.params.id);
  if (id === null) return next(); // POST /admin/media/upload/ (media:upload) and the like
  const u = who(req);
  const m = await getLibraryItem(id);
  if (!m) throw notFound("No such image.");
  authorize(u, "media.change", altOwned(m, await usageOf(id), u));
  const body = (req.body ?? {}) as Record<string, unknown>;
  const parsed = altForm.safeParse({ alt: body.alt, version: body.version });
  const typed = typeof body.alt === "string" ? body.alt : "";
  if (!parsed.success) {
    const errors: Record<string, string> = {};
    for (const i of parsed.error.issues) errors[String(i.path[0] ?? "alt")] ??= i.message;
    return detail(req, res, id, { values: { alt: typed, version: body.version ?? m.version }, errors }, 400);
  }
  try {
    await setAltChecked(id, parsed.data.version, parsed.data.alt, u);
  } catch (e) {
    if (e instanceof AltConflictError)
      return detail(req, res, id, { values: { alt: typed, version: e.current.version }, conflict: { message: e.message, alt: e.current.alt } }, 409);
    if (e instanceof AltRequiredError) return detail(req, res, id, { values: { alt: typed, version: m.version }, errors: { alt: e.message } }, 409);
    throw e;
  }
  flash(req, "success", parsed.data.alt ? `The alt text of “${m.filename}” was saved.` : `The alt text of “${m.filename}” was removed.`);
  res.redirect(303, url("admin:media_detail", { id }));
}

async function setAltChecked(id: number, version: number, alt: string, u: AdminUser): Promise<void> {
  try {
    await setAlt(id, version, alt, u);
  } catch (e) {
    if (e instanceof MediaNotFoundError) throw notFound(e.message);
    throw e;
  }
}

/** POST /admin/media/<id>/delete/ */
export async function deletePost(req: Request, res: Response, next: NextFunction): Promise<void> {
  const id = toId(req.params.id);
  if (id === null) return next();
  const u = who(req);
  const m = await getLibraryItem(id);
  if (!m) throw notFound("No such image.");
  authorize(u, "media.delete", owned(m));
  const body = (req.body ?? {}) as Record<string, unknown>;
  if (body.confirm !== "yes") return detail(req, res, id, { deleteError: "Tick the box to confirm that this image and its files are to be deleted." }, 400);
  try {
    await deleteMedia(id, u);
  } catch (e) {
    if (e instanceof MediaInUseError) return detail(req, res, id, { deleteError: e.message }, 409);
    if (e instanceof MediaNotFoundError) {
      flash(req, "info", `“${m.filename}” was deleted already.`);
      return res.redirect(303, url("admin:media_library"));
    }
    throw e;
  }
  flash(req, "success", `“${m.filename}” and its files were deleted.`);
  res.redirect(303, url("admin:media_library"));
}

/** Every admin page: the navigation's link to the library, for those who may open it. */
export function mediaLink(req: Request, res: Response, next: NextFunction): void {
  res.locals.mediaLibraryUrl = can(currentUser(req), "media.view") ? url("admin:media_library") : null;
  next();
}

/** Mounts the library's routes on the admin router (after its requireAdmin). */
export function mountMedia(r: Router): void {
  const library = route("admin:media_library", "/admin/media/");
  r.use("/admin", mediaLink); // after route(): mediaLink reverses it
  r.get(library, libraryPage);
  const detailPath = route("admin:media_detail", "/admin/media/:id/");
  r.get(detailPath, detailPage);
  r.post(detailPath, saveAlt);
  r.post(route("admin:media_delete", "/admin/media/:id/delete/"), deletePost);
}
