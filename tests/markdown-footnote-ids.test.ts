// Footnote ids (src/blog/markdown.ts ownId): a long label is hashed to a short id (the renderer's secret
// prefix never reaches the page and the reference still lands on its note, and back); a footnote named
// "label" or "ref-…" does not take the id of the footnotes' heading or of a reference.
import { describe, expect, it } from "vitest";
import { renderMarkdown } from "../src/blog/markdown.ts";

const ids = (html: string) => [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!);
const hrefs = (html: string) => [...html.matchAll(/\shref="#([^"]+)"/g)].map((m) => m[1]!);

describe("footnote ids", () => {
  it("a 300-character label: short ids, no secret, every link lands on an id", () => {
    const label = "a".repeat(300);
    const html = renderMarkdown(`Text[^${label}].\n\n[^${label}]: The note.\n`);
    expect(html).not.toMatch(/x[0-9a-f]{18}/); // the renderer's secret prefix
    expect(html).toContain("The note.");
    const all = ids(html);
    for (const id of all) expect(id.length).toBeLessThanOrEqual(120);
    const links = hrefs(html);
    expect(links.length).toBeGreaterThanOrEqual(2); // the reference and the back-link
    for (const h of links) expect(all).toContain(h);
    expect(html).toMatch(/<a href="#fn-_h[0-9a-f]{16}" id="fn-ref-_h[0-9a-f]{16}"/);
  });

  it("a footnote named label or ref-x keeps an id of its own", () => {
    const html = renderMarkdown("One[^label], two[^x], three[^ref-x].\n\n[^label]: L.\n[^x]: X.\n[^ref-x]: R.\n");
    const all = ids(html);
    expect(new Set(all).size).toBe(all.length);
    expect(all).toContain("fn-label"); // the footnotes' heading
    expect(all).toContain("fn-_label");
    expect(all).toContain("fn-_ref-x");
    for (const h of hrefs(html)) expect(all).toContain(h);
  });
});
