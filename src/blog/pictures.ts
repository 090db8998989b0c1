// Images on the reader's pages, as template globals (registered by the blog's template extension in
// controller.ts; src/web may not import src/media):
//   picture(item, { sizes, lazy, alt?, className? }): the <picture> of a Media item (pictureHtml in
//     src/media/index.ts), "" for none: a post's featured image on its card and page;
//   avatar(person, px, lazy = true): a round author picture of px CSS pixels: their uploaded avatar,
//     or their initials on a colour of their own when they have none.
import nunjucks from "nunjucks";
import { escapeHtml, pictureHtml, type MediaItem, type PictureOptions } from "../media/index.ts";

const SafeString = nunjucks.runtime.SafeString;

/** Backgrounds for initials: each passes WCAG AA (4.5:1) with white text, in light and dark mode. */
const AVATAR_COLOURS = 8; // .avatar--c0 … .avatar--c7 in public/css/site.css

/** Up to two initials of a name ("Ada Lovelace" -> "AL", "ada" -> "A"). */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0]!, words[words.length - 1]!] : words;
  return letters.map((w) => [...w][0]!.toLocaleUpperCase("en-US")).join("");
}

/** A stable colour index for a username (FNV-1a). */
function colourOf(username: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < username.length; i++) h = Math.imul(h ^ username.charCodeAt(i), 0x01000193);
  return (h >>> 0) % AVATAR_COLOURS;
}

export interface AvatarPerson {
  username: string;
  fullName: string;
  avatar?: MediaItem | null;
}

/** The avatar HTML (see the header): decorative (alt ""), since the author's name is always next to it. */
export function avatarHtml(person: AvatarPerson, px: number, lazy = true): string {
  const size = `avatar avatar--${px}`;
  if (person.avatar)
    return `<span class="${size}">${memoPictureHtml(person.avatar, { sizes: `${px}px`, lazy, alt: "", className: "avatar-img", maxWidth: 320 })}</span>`;
  return `<span class="${size} avatar--c${colourOf(person.username)}" aria-hidden="true">${escapeHtml(initials(person.fullName || person.username))}</span>`;
}

// A <picture> is a pure function of the item and the options, and a page asks for the same few again and
// again (the post page's featured image and the author's avatar twice, on every request): its HTML is kept
// on the item object itself, per options. The items come from blog.media-items (src/blog/queries.ts
// mediaItemsFor), where a new version of an image (alt text edited, renditions remade) is a new object: the
// memo lives and dies with its cache entry, never stale, bounded by that cache (a few options per item).
const pictureMemo = new WeakMap<MediaItem, Map<string, string>>();

/** pictureHtml(item, opts), memoised per item object and options (see above). */
export function memoPictureHtml(item: MediaItem, opts: PictureOptions): string {
  let byOpts = pictureMemo.get(item);
  if (!byOpts) pictureMemo.set(item, (byOpts = new Map()));
  const key = `${opts.sizes}|${opts.lazy ? 1 : 0}|${opts.maxWidth ?? ""}|${opts.className ?? ""}|${opts.alt ?? "\u0000"}`;
  let html = byOpts.get(key);
  if (html === undefined) byOpts.set(key, (html = pictureHtml(item, opts)));
  return html;
}

export function installPictureGlobals(env: nunjucks.Environment): void {
  env.addGlobal("picture", (item: MediaItem | null | undefined, opts: PictureOptions) => (item ? new SafeString(memoPictureHtml(item, opts)) : ""));
  env.addGlobal("avatar", (person: AvatarPerson, px: number, lazy = true) => new SafeString(avatarHtml(person, px, lazy)));
}
