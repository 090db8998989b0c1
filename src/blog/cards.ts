// Post cards are the bulk of a list page's rendering (~0.05 ms each, ten per page), and a card's
// HTML is a pure function of the post's fields shown on it. So post_card_memo(post, heading)
// renders the one post_card macro (views/partials/post_card.njk) and memoises the HTML per post id
// and heading (blog.card-html in src/cache/index.ts), together with the fields it was rendered from:
// an edited title, a renamed category or tag differs from the stored fields and renders again, so
// the memo is never stale, only bounded (in bytes, least recently used dropped first). The fields
// are compared in place rather than joined into a key: a key of every field cost a ~500-character
// string and its hash per card per request.
// post_cards(posts, heading, first, rest) renders a whole list of them (a template loop costs more than the
// memo hit: Nunjucks sets eight loop variables per iteration). Not memoised in development, where
// templates reload on every request.
import nunjucks from "nunjucks";
import { caches } from "../cache/index.ts";
import { macroLoader } from "../web/macros.ts";
import type { PostCard } from "./queries.ts";

/** True when `a` and `b` show the same card: every field partials/post_card.njk reads. */
function sameCard(a: PostCard, b: PostCard): boolean {
  if (a.id !== b.id || a.slug !== b.slug || a.title !== b.title || a.excerpt !== b.excerpt) return false;
  if (a.publish.getTime() !== b.publish.getTime() || a.readingMinutes !== b.readingMinutes) return false;
  // The featured image: another image, or the same one with its alt text edited (Media.version bumps on every
  // save) or its renditions remade (a new storage key or rendition list).
  if (a.image?.id !== b.image?.id || a.imageVersion !== b.imageVersion) return false;
  if (a.image && (a.image.storageKey !== b.image!.storageKey || a.image.alt !== b.image!.alt || a.image.renditions.length !== b.image!.renditions.length))
    return false;
  if (a.author.username !== b.author.username || a.author.fullName !== b.author.fullName) return false;
  if (a.category?.slug !== b.category?.slug || a.category?.name !== b.category?.name) return false;
  if (a.tags.length !== b.tags.length) return false;
  for (let i = 0; i < a.tags.length; i++) {
    if (a.tags[i]!.slug !== b.tags[i]!.slug || a.tags[i]!.name !== b.tags[i]!.name) return false;
  }
  return true;
}

/** A card's layout (partials/post_card.njk): "" in the grid (lazy image), "first" (eager image), "lead" (wide, eager), "small" (similar posts). */
export type CardVariant = "" | "first" | "lead" | "small";

/**
 * Registers the post_card_memo(post, heading="h2", variant="") and post_cards(posts, heading="h2",
 * first="") globals on `env`: post_cards renders its first card with the variant `first` ("lead" on a
 * list's first page, "first" on the others: the image a reader sees first is loaded at once) and the
 * rest as "" (lazy images); post_cards(similar, "h3", "small", "small") renders them all small.
 */
export function installPostCardMemo(env: nunjucks.Environment, memoise: boolean): void {
  const cache = caches.cardHtml;
  const macro = macroLoader(env, "partials/post_card.njk", "post_card", memoise);
  const render = (post: PostCard, heading: string, variant: CardVariant) => String(macro()(post, heading, null, null, variant));
  const card = (post: PostCard, heading = "h2", variant: CardVariant = ""): string => {
    if (!memoise) return render(post, heading, variant);
    // A number for the usual card (no string built); a string for the others.
    const key = heading === "h2" && variant === "" ? post.id : `${post.id}:${heading}:${variant}`;
    const hit = cache.get(key);
    if (hit && sameCard(hit.post, post)) return hit.html;
    const html = render(post, heading, variant);
    cache.set(key, { post, html });
    return html;
  };
  env.addGlobal("post_card_memo", (post: PostCard, heading = "h2", variant: CardVariant = "") => new nunjucks.runtime.SafeString(card(post, heading, variant)));
  env.addGlobal("post_cards", (posts: PostCard[], heading = "h2", first: CardVariant = "", rest: CardVariant = "") => {
    let html = "";
    for (let i = 0; i < posts.length; i++) html += card(posts[i]!, heading, i === 0 ? first : rest);
    return new nunjucks.runtime.SafeString(html);
  });
}
