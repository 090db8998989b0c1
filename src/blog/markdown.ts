// Markdown for posts: marked (GFM) renders, sanitize-html keeps only an allow-list of tags,
// attributes and URL schemes. The stored bodyHtml is the output of renderBody (on every save, and once
// per RENDER_VERSION for stored posts: src/blog/rerender.ts), so templates print it with `| safe` and
// no request renders Markdown. Also: plain-text excerpts, word counts and URL slugs.
//
// What a body gets, beyond GFM (tables, task lists, strikethrough, autolinks):
//  - Code blocks with a language highlight.js knows are highlighted here (hljs-* span classes, themed
//    by public/css/code.css); blocks without a language, or with one it does not know, are escaped
//    plain text. No auto-detection: it costs a pass per language and guesses wrong on short snippets.
//  - Footnotes (marked-footnote) and heading ids (marked-gfm-heading-id) with a "#" link. Their ids
//    are prefixed ("fn-", "h-") so they never clash with the page's own ids or clobber globals; a
//    writer's own id attributes are dropped (only ids this renderer made, recognised by a per-process
//    secret it strips, survive sanitising).
//  - Tables wrapped in a scrolling div.table-wrap (phones).
//  - A paragraph that is only a YouTube or Vimeo URL: a click-to-load placeholder (see embedHtml);
//    raw <iframe> stays stripped.
//  - Images from the media library (/media/<key>, relative or on this site): <picture> with the
//    renditions (renderBody only; mediaIds lists them). Other images: plain lazy <img> from https.
// Trusted markup (placeholders, pictures, heading links, table wrappers) is put in AFTER sanitising,
// built from validated values only, so a writer can never produce those elements or attributes.
import { createHash, randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { Marked, type Token, type Tokens } from "marked";
import { markedHighlight } from "marked-highlight";
import markedFootnote from "marked-footnote";
import { gfmHeadingId } from "marked-gfm-heading-id";
import sanitizeHtml from "sanitize-html";
import slugifyLib from "@sindresorhus/slugify";
import { config } from "../config.ts";
import { escapeHtml, mediaByUrls, pictureHtml, type MediaItem } from "../media/index.ts";

/**
 * The renderer's version: bump it whenever renderBody's output changes for the same Markdown. At
 * start-up a stored SiteState "render_version" below it re-renders every post once (src/blog/rerender.ts).
 * 1: plain GFM (before issue 11). 2: highlighting, footnotes, heading ids, embeds, library pictures.
 * 3: long or odd footnote/heading ids hashed (no longer dropped), a footnote named "label" or "ref-…" kept apart.
 */
export const RENDER_VERSION = 3;

/** The post column's width (public/css/site.css: .post max-width var(--measure) = 42rem, 1.25rem padding each side on phones). */
export const BODY_IMAGE_SIZES = "(min-width: 44.5rem) 42rem, calc(100vw - 2.5rem)";

// Ids the renderer makes carry this secret until sanitising (which keeps only those, without it).
const SECRET = `x${randomBytes(9).toString("hex")}`;
const HEADING_PREFIX = "h-";
const FOOTNOTE_PREFIX = "fn-";

/** Per-render state (rendering is synchronous: one at a time). */
interface RenderContext {
  /** Library images by path ("/media/<key>"). */
  media: Map<string, MediaItem>;
  /** Trusted HTML to put where each marker is, after sanitising. */
  inserts: string[];
  mediaIds: number[];
  images: number;
}
let ctx: RenderContext | null = null;

/** A marker the sanitiser keeps (an https image of an address nobody else can write) standing for trusted HTML. */
function marker(html: string): string {
  const c = ctx!;
  c.inserts.push(html);
  return `<img src="https://${SECRET}.invalid/${c.inserts.length - 1}" alt="">`;
}
const MARKER_RE = new RegExp(`<img src="https://${SECRET}\\.invalid/(\\d+)"[^>]*>`, "g");

// highlight.js with all its ~190 grammars takes a few hundred ms to load: loaded on the first code
// block with a language, not by every process that imports this module (commands, workers).
type Hljs = typeof import("highlight.js").default;
let hljsLoaded: Hljs | undefined;
const hljs = (): Hljs => (hljsLoaded ??= createRequire(import.meta.url)("highlight.js") as Hljs);

const marked = new Marked({ gfm: true, breaks: false, async: false });
marked.use(
  markedHighlight({
    langPrefix: "hljs language-",
    emptyLangClass: "hljs",
    highlight(code, lang) {
      if (lang && hljs().getLanguage(lang)) return hljs().highlight(code, { language: lang, ignoreIllegals: true }).value;
      return escapeHtml(code);
    },
  }),
  markedFootnote({ prefixId: `${SECRET}${FOOTNOTE_PREFIX}`, headingClass: "visually-hidden", description: "Footnotes" }),
  gfmHeadingId({ prefix: `${SECRET}${HEADING_PREFIX}` }),
  {
    renderer: {
      paragraph(token) {
        const video = ctx ? videoOf(token) : null;
        return video ? `${marker(embedHtml(video))}\n` : false;
      },
      image(token) {
        if (!ctx) return false;
        const item = ctx.media.get(token.href);
        if (!item) return false;
        ctx.mediaIds.push(item.id);
        const first = ctx.images++ === 0;
        const alt = token.text.trim() ? token.text : undefined;
        // The body's first image is eager (it is often near the top); the rest load as they scroll in.
        return marker(pictureHtml(item, { sizes: BODY_IMAGE_SIZES, lazy: !first, ...(alt !== undefined ? { alt } : {}) }));
      },
    },
  },
);

const siteOrigin = (() => {
  try {
    return new URL(config.SITE_URL).origin;
  } catch {
    return "";
  }
})();

/** True for an absolute http(s) URL that points away from this site. */
function isExternal(href: string): boolean {
  if (!/^https?:\/\//i.test(href)) return false;
  try {
    return new URL(href).origin !== siteOrigin;
  } catch {
    return true;
  }
}

// ---------------------------------------------------------------- embeds

export interface Video {
  host: "youtube" | "vimeo";
  id: string;
  /** Start at this second (t= / #t=). */
  start: number;
}

const HOSTS = { youtube: "YouTube", vimeo: "Vimeo" } as const;

/** "90", "90s", "1m30s", "1h2m3s" to seconds (0 if not of that shape). */
function seconds(t: string | null): number {
  if (!t) return 0;
  const m = /^(?:(\d{1,3})h)?(?:(\d{1,4})m)?(?:(\d{1,6})s?)?$/.exec(t);
  if (!m) return 0;
  const n = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  return Number.isFinite(n) && n < 1e6 ? n : 0;
}

/** The video a URL points at (YouTube watch/youtu.be/shorts, Vimeo), with a validated id, or null. */
export function videoFromUrl(href: string): Video | null {
  let u: URL;
  try {
    u = new URL(href);
  } catch {
    return null;
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return null;
  if (u.username || u.password || (u.port && u.port !== "443" && u.port !== "80")) return null;
  const host = u.hostname.toLowerCase();
  const path = u.pathname;
  let id: string | undefined;
  if (host === "youtube.com" || host === "www.youtube.com" || host === "m.youtube.com") {
    if (path === "/watch") id = u.searchParams.get("v") ?? undefined;
    else id = /^\/shorts\/([^/]+)\/?$/.exec(path)?.[1];
  } else if (host === "youtu.be") {
    id = /^\/([^/]+)\/?$/.exec(path)?.[1];
  } else if (host === "vimeo.com" || host === "www.vimeo.com") {
    const vid = /^\/(\d{1,12})\/?$/.exec(path)?.[1];
    if (!vid) return null;
    return { host: "vimeo", id: vid, start: seconds(/^#t=(.+)$/.exec(u.hash)?.[1] ?? u.searchParams.get("t")) };
  } else return null;
  if (!id || !/^[A-Za-z0-9_-]{11}$/.test(id)) return null;
  return { host: "youtube", id, start: seconds(u.searchParams.get("t") ?? u.searchParams.get("start")) };
}

/** The video of a paragraph that is only a URL (bare, or <autolink>): null for anything else. */
function videoOf(p: Tokens.Paragraph): Video | null {
  const only = p.tokens.filter((t) => !(t.type === "text" && !t.raw.trim()));
  if (only.length !== 1 || only[0]!.type !== "link") return null;
  const link = only[0] as Tokens.Link;
  if (link.text !== link.href && link.raw !== `<${link.href}>`) return null;
  return videoFromUrl(link.href);
}

/** The video's page (the fallback link). */
function watchUrl(v: Video): string {
  if (v.host === "vimeo") return `https://vimeo.com/${v.id}${v.start ? `#t=${v.start}s` : ""}`;
  return `https://www.youtube.com/watch?v=${v.id}${v.start ? `&t=${v.start}s` : ""}`;
}

/**
 * The click-to-load placeholder: no request to the video's host until the reader asks (no thumbnail
 * from its servers). public/js/embeds.js shows the button and, on click, swaps in the player's iframe
 * (youtube-nocookie.com / player.vimeo.com with dnt=1, the CSP's only frame sources), built from the
 * data attributes (validated again there). Without JavaScript: the link to the video's page.
 */
export function embedHtml(v: Video): string {
  const name = HOSTS[v.host];
  const href = escapeHtml(watchUrl(v));
  return (
    `<figure class="embed embed--${v.host}" data-embed="${v.host}" data-embed-id="${v.id}"${v.start ? ` data-embed-start="${v.start}"` : ""}>` +
    `<div class="embed-frame">` +
    `<button type="button" class="embed-play" hidden>Play video on ${name}</button>` +
    `<p class="embed-note">Playing it loads the video from ${name}, which may set cookies and see your IP address.</p>` +
    `</div>` +
    `<figcaption><a href="${href}" rel="nofollow noopener">Watch the video on ${name}</a></figcaption>` +
    `</figure>`
  );
}

// ---------------------------------------------------------------- sanitising

/** Longest id kept as written; a longer one (or one with characters unsafe in an id) is hashed to a short one. */
const ID_MAX = 120;
const FOOTNOTE_REF = `${FOOTNOTE_PREFIX}ref-`;

/**
 * The id the renderer made (carries the secret; "h-...", "fn-<note>", "fn-ref-<note>[-n]", "fn-label"),
 * without the secret; else undefined. `note`: the id of a footnote itself (its <li>, a reference's href):
 * a note named "label", "ref-…" or "_…" gets a "_" (unlike the footnotes' heading "fn-label" and the
 * references "fn-ref-…"). A long or odd id becomes its prefix and a hash of it: the same for the note and
 * its links (the secret never reaches the page, the link still lands).
 */
function ownId(v: string | undefined, note = false): string | undefined {
  if (!v || !v.startsWith(SECRET)) return undefined;
  let id = v.slice(SECRET.length);
  if (!id.startsWith(HEADING_PREFIX) && !id.startsWith(FOOTNOTE_PREFIX)) return undefined;
  if (note && id.startsWith(FOOTNOTE_PREFIX)) {
    const name = id.slice(FOOTNOTE_PREFIX.length);
    if (name === "label" || name.startsWith("ref-") || name.startsWith("_")) id = `${FOOTNOTE_PREFIX}_${name}`;
  }
  if (id.length <= ID_MAX && !/[\s"'<>&]/.test(id)) return id;
  const prefix = id.startsWith(HEADING_PREFIX) ? HEADING_PREFIX : !note && id.startsWith(FOOTNOTE_REF) ? FOOTNOTE_REF : FOOTNOTE_PREFIX;
  return `${prefix}_h${createHash("sha256").update(id).digest("hex").slice(0, 16)}`;
}

const HLJS_CLASS = /^hljs(-[a-z_-]+)?$/;

function heading(tagName: string, attribs: sanitizeHtml.Attributes): sanitizeHtml.Tag {
  const id = tagName === "h1" ? undefined : ownId(attribs.id);
  const out: sanitizeHtml.Attributes = {};
  if (id) out.id = id;
  if (id === `${FOOTNOTE_PREFIX}label`) out.class = "visually-hidden"; // the footnotes' heading, for screen readers
  return { tagName, attribs: out };
}

const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: [
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "p",
    "br",
    "hr",
    "ul",
    "ol",
    "li",
    "blockquote",
    "pre",
    "code",
    "span", // highlight.js's token spans only (see transformTags)
    "section", // the footnotes
    "kbd",
    "samp",
    "em",
    "strong",
    "del",
    "s",
    "sup",
    "sub",
    "a",
    "img",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "th",
    "td",
    "input", // GFM task-list checkboxes only (see transformTags)
  ],
  allowedAttributes: {
    a: ["href", "title", "rel", "id", "aria-describedby", "aria-label", "data-footnote-ref", "data-footnote-backref"],
    img: ["src", "alt", "title", "loading", "decoding", "referrerpolicy"],
    h2: ["id", "class"],
    h3: ["id"],
    h4: ["id"],
    h5: ["id"],
    h6: ["id"],
    li: ["id"],
    section: ["class", "data-footnotes"],
    span: ["class"],
    th: ["align"],
    td: ["align"],
    ol: ["start"],
    input: ["type", "checked", "disabled", "aria-label"],
    pre: ["tabindex"], // set by transformTags only
  },
  allowedClasses: {
    code: ["hljs", /^language-[A-Za-z0-9_+-]{1,40}$/],
    span: [HLJS_CLASS],
    h2: ["visually-hidden"],
    section: ["footnotes"],
  },
  allowedSchemes: ["http", "https", "mailto"],
  allowedSchemesByTag: { img: ["http", "https"] },
  allowedSchemesAppliedToAttributes: ["href", "src", "cite"],
  allowProtocolRelative: false,
  disallowedTagsMode: "discard",
  nonTextTags: ["script", "style", "textarea", "option", "noscript", "iframe", "object", "embed", "template", "svg", "math"],
  transformTags: {
    a: (tagName, attribs) => {
      const out: sanitizeHtml.Attributes = {};
      const backref = attribs[`data-${SECRET}${FOOTNOTE_PREFIX}backref`] !== undefined;
      // a reference links to its note, a back-link to the reference
      const own = attribs.href?.startsWith(`#${SECRET}`) ? ownId(attribs.href.slice(1), !backref) : undefined;
      if (attribs.href?.startsWith(`#${SECRET}`) && !own) return { tagName, attribs: {} }; // never the secret
      if (own) {
        // A footnote reference or back-link made by the renderer.
        out.href = `#${own}`;
        const id = ownId(attribs.id);
        if (id) out.id = id;
        const described = ownId(attribs["aria-describedby"]);
        if (described) out["aria-describedby"] = described;
        if (attribs["aria-label"]) out["aria-label"] = attribs["aria-label"];
        out[backref ? "data-footnote-backref" : "data-footnote-ref"] = "";
        return { tagName, attribs: out };
      }
      if (attribs.href !== undefined) out.href = attribs.href;
      if (attribs.title !== undefined) out.title = attribs.title;
      if (attribs.href && isExternal(attribs.href)) out.rel = "nofollow noopener";
      return { tagName, attribs: out };
    },
    img: (tagName, attribs) => {
      const out: sanitizeHtml.Attributes = { src: attribs.src ?? "", alt: attribs.alt ?? "" };
      if (attribs.title !== undefined) out.title = attribs.title;
      // Another site's image: loaded as the reader scrolls, without telling that site which page shows it.
      if (!attribs.src?.startsWith(`https://${SECRET}.invalid/`)) Object.assign(out, { loading: "lazy", decoding: "async", referrerpolicy: "no-referrer" });
      return { tagName, attribs: out };
    },
    input: (_tagName, attribs) => ({
      tagName: "input",
      // Any other input type is dropped by exclusiveFilter below.
      // Named for assistive technology (the item's text follows it): "Done" or "Not done".
      attribs: {
        type: String(attribs.type ?? "").toLowerCase(),
        disabled: "",
        ...(attribs.checked !== undefined ? { checked: "", "aria-label": "Done" } : { "aria-label": "Not done" }),
      },
    }),
    h1: heading,
    h2: heading,
    h3: heading,
    h4: heading,
    h5: heading,
    h6: heading,
    li: (tagName, attribs): sanitizeHtml.Tag => {
      const id = ownId(attribs.id, true);
      return { tagName, attribs: id ? { id } : {} };
    },
    section: (tagName, attribs): sanitizeHtml.Tag =>
      attribs["data-footnotes"] !== undefined ? { tagName, attribs: { class: "footnotes", "data-footnotes": "" } } : { tagName, attribs: {} },
    // highlight.js's spans keep their hljs-* classes; any other span is dropped (its text kept).
    span: (tagName, attribs): sanitizeHtml.Tag => {
      const classes = String(attribs.class ?? "")
        .split(/\s+/)
        .filter((c) => HLJS_CLASS.test(c));
      return classes.length ? { tagName, attribs: { class: classes.join(" ") } } : { tagName: "x-dropped", attribs: {} };
    },
    th: alignOnly,
    td: alignOnly,
    // A code block scrolls sideways when its lines are long: focusable, so a keyboard can scroll it (WCAG 2.1.1).
    pre: () => ({ tagName: "pre", attribs: { tabindex: "0" } }),
  },
  exclusiveFilter: (frame) => {
    // Images only from absolute http(s) URLs (no relative, data: or other schemes).
    if (frame.tag === "img") return !/^https?:\/\//i.test(frame.attribs.src ?? "");
    if (frame.tag === "input") return frame.attribs.type !== "checkbox";
    return false;
  },
};

function alignOnly(tagName: string, attribs: sanitizeHtml.Attributes): sanitizeHtml.Tag {
  const align = attribs.align;
  return { tagName, attribs: align === "left" || align === "center" || align === "right" ? { align } : {} };
}

/** Markdown to sanitised HTML with the trusted markup put in (see the header). */
function render(md: string, media: Map<string, MediaItem>): { html: string; mediaIds: number[] } {
  const c: RenderContext = { media, inserts: [], mediaIds: [], images: 0 };
  ctx = c;
  let raw: string;
  try {
    raw = marked.parse(md ?? "", { async: false }) as string;
  } finally {
    ctx = null;
  }
  let html = sanitizeHtml(raw, SANITIZE).trim();
  // A "#" link on each section heading (after its text: screen readers announce the heading first).
  html = html.replace(
    /<h([2-6]) id="(h-[^"]+)">([\s\S]*?)<\/h\1>/g,
    (_m, level: string, id: string, inner: string) =>
      `<h${level} id="${id}">${inner} <a class="heading-anchor" href="#${id}" aria-label="Link to this section">#</a></h${level}>`,
  );
  // Tables scroll sideways on narrow screens (focusable: a keyboard can scroll them).
  html = html.replace(/<table>/g, '<div class="table-wrap" tabindex="0"><table>').replace(/<\/table>/g, "</table></div>");
  html = html.replace(MARKER_RE, (_m, n: string) => c.inserts[Number(n)] ?? "");
  return { html, mediaIds: [...new Set(c.mediaIds)] };
}

/**
 * Markdown (GFM) to sanitised HTML, safe to print unescaped: what renderBody stores, but without looking
 * up library images (they are dropped as any relative image). For text that is not a post body (seed, loads).
 */
export function renderMarkdown(md: string): string {
  return render(md, new Map()).html;
}

/** A post body as the save path stores it (src/posts/service.ts): the HTML, the images it shows, its words. */
export interface RenderedBody {
  html: string;
  /** Ids of the uploaded images (Media) the body shows: the post's PostMedia rows. */
  mediaIds: number[];
  /** Words of prose (not code or markup): reading time. */
  wordCount: number;
}

/**
 * Every URL of the media library ("/media/<key>", relative or absolute) written in a body: a superset of
 * its images' (a link to an image is looked up too, harmlessly), found in the text so that images
 * anywhere (footnotes included) count. mediaByUrls keeps those of stored files.
 */
function libraryUrls(md: string): string[] {
  return [...new Set(md.match(/(?:https?:\/\/[^\s/()<>"'\][]+)?\/media\/[A-Za-z0-9._/-]+/g) ?? [])];
}

/**
 * The body as stored on save (and by the re-render of stored posts): Markdown to sanitised HTML with
 * uploaded images as responsive pictures (their renditions' srcset, width and height), code
 * highlighted, embeds as click-to-load placeholders; the images' ids and the words of prose. `db`: the
 * caller's transaction when it renders inside one (the save path), so no second connection is taken.
 */
export async function renderBody(md: string, db?: Parameters<typeof mediaByUrls>[1]): Promise<RenderedBody> {
  const text = md ?? "";
  const urls = libraryUrls(text);
  const media = urls.length ? await mediaByUrls(urls, db) : new Map<string, MediaItem>();
  const { html, mediaIds } = render(text, media);
  return { html, mediaIds, wordCount: countWords(text) };
}

/**
 * Tokens of a text for reading it as prose (excerpts, word counts): plain GFM, footnotes (references
 * "[^1]" and definitions "[^1]: ...") removed. (The rendering instance's footnote extension keeps state between lexer() and parse().)
 */
const proseLexer = new Marked({ gfm: true, breaks: false, async: false });
const proseTokens = (md: string) =>
  proseLexer.lexer(
    (md ?? "")
      .replace(/^\[\^[^\]\n]+\]:[^\n]*(?:\n(?:[ ]{4}|\t)[^\n]*|\n[ \t]*(?=\n(?:[ ]{4}|\t)))*/gm, "") // footnotes (definitions)
      .replace(/\[\^[^\]\n]+\]/g, ""), // their references
  );

/** Words of prose in a Markdown text (what reading time counts): headings, paragraphs, lists, quotes, table cells; not code, markup or URLs. */
export function countWords(md: string): number {
  const parts: string[] = [];
  collectText(proseTokens(md), parts, true);
  return decodeEntities(parts.join(""))
    .replace(/<[^>]*>/g, " ")
    .split(/\s+/)
    .filter((w) => /[\p{L}\p{N}]/u.test(w) && !/^(?:[a-z][a-z0-9+.-]*:\/\/|www\.)/i.test(w) && !/^[^\s@]+@[^\s@]+\.[a-z]{2,}$/i.test(w)).length;
}

/** Minutes to read `words` words (at 230 a minute; at least 1). */
export function readingMinutes(words: number): number {
  return Math.max(1, Math.round(words / 230));
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === "#") {
      const code = e[1] === "x" || e[1] === "X" ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : "";
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

/** Plain text of a token list: prose, headings, list items, quotes, table cells; not code blocks, images or raw HTML. */
function collectText(tokens: Token[] | undefined, out: string[], headings = false): void {
  for (const t of tokens ?? []) {
    switch (t.type) {
      case "heading":
        // Headings are section titles, not prose: an excerpt that ran "Measuring it Testing the
        // failure..." together read badly. Used only when the post has no other text.
        if (headings) {
          collectText((t as Tokens.Heading).tokens, out, headings);
          out.push(" ");
        }
        break;
      case "code":
      case "html":
      case "image":
      case "hr":
      case "space":
      case "def":
        break;
      case "br":
        out.push(" ");
        break;
      case "list":
        for (const item of (t as Tokens.List).items) {
          collectText(item.tokens, out, headings);
          out.push(" ");
        }
        break;
      case "table": {
        const tt = t as Tokens.Table;
        for (const cell of [...tt.header, ...tt.rows.flat()]) {
          collectText(cell.tokens, out, headings);
          out.push(" ");
        }
        break;
      }
      default: {
        const withChildren = t as { tokens?: Token[]; text?: string };
        if (withChildren.tokens && withChildren.tokens.length) collectText(withChildren.tokens, out, headings);
        else if (typeof withChildren.text === "string") out.push(withChildren.text);
        if (t.type === "paragraph" || t.type === "heading" || t.type === "blockquote") out.push(" ");
      }
    }
  }
}

/** A plain-text excerpt of at most `words` words ("…" appended when cut). No Markdown or HTML survives. */
export function excerptFrom(md: string, words = 40): string {
  const tokens = proseTokens(md);
  const parts: string[] = [];
  collectText(tokens, parts);
  if (!parts.join("").trim()) collectText(tokens, parts, true);
  // Any inline HTML-looking leftovers (e.g. "<b>" typed inside text tokens) are removed too.
  const text = decodeEntities(parts.join("")).replace(/<[^>]*>/g, " ");
  const list = text.split(/\s+/).filter(Boolean);
  const n = Math.max(0, Math.floor(words));
  return list.length <= n ? list.join(" ") : `${list.slice(0, n).join(" ")} …`.trimStart();
}

export const SLUG_MAX = 250;

/** URL slug: lowercase ASCII letters, digits and hyphens (non-Latin scripts transliterated), at most 250 chars, never empty. */
export function slugify(title: string): string {
  let s = slugifyLib(String(title ?? ""), { lowercase: true, decamelize: false, separator: "-" });
  s = s
    .replace(/[^a-z0-9-]+/g, "")
    .replace(/-{2,}/g, "-")
    .replace(/^-|-$/g, "");
  if (s.length > SLUG_MAX) {
    // Cut at a word boundary when there is one.
    const cut = s.slice(0, SLUG_MAX);
    s = s[SLUG_MAX] === "-" ? cut : cut.replace(/-[^-]*$/, "") || cut;
  }
  s = s.replace(/-+$/, "");
  return s || "post";
}
