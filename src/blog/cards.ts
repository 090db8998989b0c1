// Post cards are the bulk of a list page's rendering (~0.05 ms each, ten per page), and a card's
// HTML is a pure function of the post's fields shown on it. So post_card_memo(post, heading)
// renders the one post_card macro (views/partials/post_card.njk) and memoises the HTML per post id
// and heading (blog.card-html in src/cache/index.ts), together with the fields it was rendered from:
// an edited title, a renamed category or tag differs from the stored fields and renders again, so
// the memo is never stale, only bounded (in bytes, least recently used dropped first). The fields
// are compared in place rather than joined into a key: a key of every field cost a ~500-character
// string and its hash per card per request.
// post_cards(posts, heading) renders a whole list of them (a template loop costs more than the
// memo hit: Nunjucks sets eight loop variables per iteration). Not memoised in development, where
// templates reload on every request.
import nunjucks from "nunjucks";
import { caches } from "../cache/index.ts";
import { macroLoader } from "../web/macros.ts";
import type { PostCard } from "./queries.ts";

/** True when `a` and `b` show the same card: every field partials/post_card.njk reads. */
function sameCard(a: PostCard, b: PostCard): boolean {
  if (a.id !== b.id || a.slug !== b.slug || a.title !== b.title || a.excerpt !== b.excerpt) return false;
  if (a.publish.getTime() !== b.publish.getTime()) return false;
  if (a.author.username !== b.author.username || a.author.fullName !== b.author.fullName) return false;
  if (a.category?.slug !== b.category?.slug || a.category?.name !== b.category?.name) return false;
  if (a.tags.length !== b.tags.length) return false;
  for (let i = 0; i < a.tags.length; i++) {
    if (a.tags[i]!.slug !== b.tags[i]!.slug || a.tags[i]!.name !== b.tags[i]!.name) return false;
  }
  return true;
}

/** Registers the post_card_memo(post, heading="h2") and post_cards(posts, heading="h2") globals on `env`. */
export function installPostCardMemo(env: nunjucks.Environment, memoise: boolean): void {
  const cache = caches.cardHtml;
  const macro = macroLoader(env, "partials/post_card.njk", "post_card", memoise);
  const card = (post: PostCard, heading = "h2"): string => {
    if (!memoise) return String(macro()(post, heading));
    const key = heading === "h2" ? post.id : `${post.id}:${heading}`; // a number for the usual heading: no string built
    const hit = cache.get(key);
    if (hit && sameCard(hit.post, post)) return hit.html;
    const html = String(macro()(post, heading));
    cache.set(key, { post, html });
    return html;
  };
  env.addGlobal("post_card_memo", (post: PostCard, heading = "h2") => new nunjucks.runtime.SafeString(card(post, heading)));
  env.addGlobal("post_cards", (posts: PostCard[], heading = "h2") => {
    let html = "";
    for (const post of posts) html += card(post, heading);
    return new nunjucks.runtime.SafeString(html);
  });
}
