// Markdown for posts: marked (GFM) renders, sanitize-html keeps only an allow-list of tags,
// attributes and URL schemes. The stored bodyHtml is the output of renderMarkdown, so templates
// can print it with `| safe`. Also: plain-text excerpts and URL slugs.
import { Marked, type Token, type Tokens } from "marked";
import sanitizeHtml from "sanitize-html";
import slugifyLib from "@sindresorhus/slugify";
import { config } from "../config.ts";

const marked = new Marked({ gfm: true, breaks: false, async: false });

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
    a: ["href", "title", "rel"],
    img: ["src", "alt", "title"],
    th: ["align"],
    td: ["align"],
    ol: ["start"],
    input: ["type", "checked", "disabled"],
    pre: ["tabindex"], // set by transformTags only
  },
  allowedClasses: { code: [/^language-[A-Za-z0-9_+-]{1,40}$/] },
  allowedSchemes: ["http", "https", "mailto"],
  allowedSchemesByTag: { img: ["http", "https"] },
  allowedSchemesAppliedToAttributes: ["href", "src", "cite"],
  allowProtocolRelative: false,
  disallowedTagsMode: "discard",
  nonTextTags: ["script", "style", "textarea", "option", "noscript", "iframe", "object", "embed", "template", "svg", "math"],
  transformTags: {
    a: (tagName, attribs) => {
      const out: sanitizeHtml.Attributes = {};
      if (attribs.href !== undefined) out.href = attribs.href;
      if (attribs.title !== undefined) out.title = attribs.title;
      if (attribs.href && isExternal(attribs.href)) out.rel = "nofollow noopener";
      return { tagName, attribs: out };
    },
    input: (_tagName, attribs) => ({
      tagName: "input",
      // Any other input type is dropped by exclusiveFilter below.
      attribs: { type: String(attribs.type ?? "").toLowerCase(), disabled: "", ...(attribs.checked !== undefined ? { checked: "" } : {}) },
    }),
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

/** Markdown (GFM) to sanitised HTML, safe to print unescaped. */
export function renderMarkdown(md: string): string {
  const html = marked.parse(md ?? "", { async: false }) as string;
  return sanitizeHtml(html, SANITIZE).trim();
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
 * The body as stored on save: Markdown to sanitised HTML with uploaded images as responsive pictures
 * (their renditions' srcset, width and height), code highlighted, embeds as click-to-load placeholders.
 * STUB (groundwork): the plain rendering; the Markdown engineer fills it in.
 */
export async function renderBody(md: string): Promise<RenderedBody> {
  return { html: renderMarkdown(md), mediaIds: [], wordCount: countWords(md) };
}

/** Words of prose in a Markdown text (what reading time counts). */
export function countWords(md: string): number {
  return (md ?? "").split(/\s+/).filter(Boolean).length;
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
  const tokens = marked.lexer(md ?? "");
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
