// The one XML text helper the feeds and sitemaps use: escape the five special characters and drop
// what XML 1.0 cannot carry at all (control characters, lone surrogates, U+FFFE/U+FFFF), so a post
// body with odd bytes still yields a well-formed document.

const INVALID_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };

/** Text or attribute value, escaped for XML. */
export function xmlEscape(value: unknown): string {
  return String(value ?? "")
    .replace(INVALID_XML, "")
    .replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** `<name attr="...">escaped text</name>`, or a self-closing element when text is undefined. */
export function el(name: string, text?: unknown, attrs: Record<string, string | undefined> = {}): string {
  let a = "";
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) a += ` ${k}="${xmlEscape(v)}"`;
  return text === undefined ? `<${name}${a}/>` : `<${name}${a}>${xmlEscape(text)}</${name}>`;
}

export const XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n';
