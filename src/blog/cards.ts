// Post cards are the bulk of a list page's rendering (~0.05 ms each, ten per page), and a card's
// HTML is a pure function of the post's fields shown on it. So post_card_memo(post, heading)
// renders the one post_card macro (views/partials/post_card.njk) and memoises the HTML keyed by
// every field the card shows: an edited title, a renamed category or tag gives a new key, so the
// memo is never stale, only bounded (cleared when full). Not used in development, where templates
// reload on every request.
import type nunjucks from "nunjucks";
import type { PostCard } from "./queries.ts";

const MAX_ENTRIES = 5_000;
const SEP = "\u0001";

/** The memo key: everything partials/post_card.njk reads from the post, and the heading level. */
export function cardKey(post: PostCard, heading: string): string {
  let key = `${heading}${SEP}${post.id}${SEP}${post.publish.getTime()}${SEP}${post.slug}${SEP}${post.title}${SEP}${post.excerpt}`;
  key += `${SEP}${post.author.username}${SEP}${post.author.fullName}${SEP}${post.category?.slug ?? ""}${SEP}${post.category?.name ?? ""}`;
  for (const t of post.tags) key += `${SEP}${t.slug}${SEP}${t.name}`;
  return key;
}

type Macro = (post: PostCard, heading: string) => unknown;
type Exporting = { getExported(cb: (err: Error | null, exported: Record<string, unknown>) => void): void };

/** Registers the post_card_memo(post, heading="h2") template global on `env`. */
export function installPostCardMemo(env: nunjucks.Environment, memoise: boolean): void {
  const cache = new Map<string, unknown>();
  let macro: Macro | undefined;
  const load = (): Macro => {
    let found: Macro | undefined;
    // Template#getExported is public nunjucks API (how {% import %} works) but missing from @types/nunjucks.
    const tpl = env.getTemplate("partials/post_card.njk", true) as unknown as Exporting;
    tpl.getExported((err, exported) => {
      if (err) throw err;
      found = exported.post_card as Macro;
    });
    if (!found) throw new Error("partials/post_card.njk exports no post_card macro");
    return found;
  };
  env.addGlobal("post_card_memo", (post: PostCard, heading = "h2") => {
    if (!memoise) return load()(post, heading);
    const key = cardKey(post, heading);
    let html = cache.get(key);
    if (html === undefined) {
      macro ??= load();
      html = macro(post, heading);
      if (cache.size >= MAX_ENTRIES) cache.clear();
      cache.set(key, html);
    }
    return html;
  });
}
