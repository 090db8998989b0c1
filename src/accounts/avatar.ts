// A writer's avatar and bio on their profile page (/accounts/profile/): shown beside their posts and on
// their author archive. Writers only (post.create): readers have no author pages.
//
// Uploading: the page's script sends the image to the one upload endpoint (media:upload, src/media:
// sniffing, limits, renditions; its CSRF token in X-CSRF-Token, as a multipart body is not read before
// the CSRF check), then posts the new item's id here as a plain form (POST /accounts/profile/avatar/,
// with the token in the body). The avatar is the image as uploaded, shown round and cropped by CSS
// (object-fit: cover) from its renditions: no separate square file. "Remove" posts `remove=1`. Both go
// through the one user save path (src/accounts/service.ts updateUser: audit entry, version, every cached
// page made stale since the author's picture shows on their posts). The image stays in the media library.
import { prisma } from "../db/index.ts";
import { getMedia, type MediaItem } from "../media/index.ts";
import { fkViolation } from "../media/library.ts";
import { forbidden } from "../web/errors.ts";
import { toId } from "../web/inputs.ts";
import { routeNames, url } from "../web/urls.ts";
import { can } from "./permissions.ts";
import { FieldErrors, StaleVersionError, updateUser, type UserChange } from "./service.ts";
import type { SessionUser } from "./users.ts";

/** Who has an avatar and a bio: those who write (their author pages show them). */
export const hasAuthorPage = (u: SessionUser | null | undefined): boolean => can(u, "post.create");

/** What the profile page shows of the avatar: the item (null: none) and where the forms go. */
export async function avatarContext(u: SessionUser): Promise<Record<string, unknown>> {
  if (!hasAuthorPage(u)) return { writer: false };
  const row = await prisma.user.findUnique({ where: { id: u.id }, select: { avatarId: true, bio: true } });
  const item: MediaItem | null = row?.avatarId ? await getMedia(row.avatarId) : null;
  return {
    writer: true,
    avatarItem: item,
    bio: row?.bio ?? "",
    avatarUrl: url("accounts:avatar"),
    uploadUrl: routeNames().includes("media:upload") ? url("media:upload") : null,
  };
}

/** The longest bio (the admin's user form says the same). */
export const BIO_MAX_LENGTH = 2000;

/**
 * Saves the user's own change to their account (profile page: names, bio, avatar) through the one user
 * save path, over the account as stored now: the page has no version of its own, so an admin's save in
 * between is not a conflict for these fields (tried again over it, twice at most).
 */
export async function saveOwnAccount(user: SessionUser, change: UserChange): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const now = await prisma.user.findUnique({ where: { id: user.id }, select: { version: true } });
    if (!now) throw forbidden();
    try {
      await updateUser(user.id, now.version, change, user);
      return;
    } catch (e) {
      if (e instanceof StaleVersionError && attempt < 2) continue;
      throw e;
    }
  }
}

/** Sets (or, `mediaId` null, removes) the avatar of `user`. FieldErrors { avatar } when the image is not there. */
export async function setAvatar(user: SessionUser, mediaId: number | null): Promise<void> {
  const gone = new FieldErrors({ avatar: "This image does not exist (any more): upload it again." });
  if (mediaId !== null && !(await getMedia(mediaId))) throw gone;
  try {
    await saveOwnAccount(user, { avatarId: mediaId });
  } catch (e) {
    if (fkViolation(e)) throw gone; // deleted from the library in between
    throw e;
  }
}

/** The avatar form's input: `avatar_id` (an uploaded image's id), or `remove=1`; null when it is neither. */
export function avatarChoice(body: unknown): { mediaId: number | null } | null {
  const b = (body ?? {}) as Record<string, unknown>;
  if (b.remove === "1") return { mediaId: null };
  const id = toId(b.avatar_id);
  return id === null ? null : { mediaId: id };
}
