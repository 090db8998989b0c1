// Reading what a page says: its canonical link, meta tags, JSON-LD, the path of a post, what its form submits.

/** /blog/YYYY/MM/DD/slug/ for a date, independently of postUrl(). */
export function pathFor(publish: Date, slug: string): string {
  const iso = publish.toISOString();
  return `/blog/${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${slug}/`;
}

/** Every <script type="application/ld+json"> of a page, parsed. */
export function jsonLd(html: string): unknown[] {
  return [...html.matchAll(/<script type="application\/ld\+json">([\s\S]*?)<\/script>/g)].map((m) => JSON.parse(m[1]!));
}

export function metaContent(html: string, attr: "name" | "property", key: string): string[] {
  const re = new RegExp(`<meta ${attr}="${key.replace(/[:.]/g, "\\$&")}" content="([^"]*)">`, "g");
  return [...html.matchAll(re)].map((m) => m[1]!);
}

export function canonical(html: string): string | undefined {
  return /<link rel="canonical" href="([^"]*)">/.exec(html)?.[1];
}

export { formBody, formValues } from "../../src/soak/forms.ts";
