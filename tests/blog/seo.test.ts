// Every reader page carries the metadata search engines and link previews read: a title, a meta
// description, an absolute canonical URL, Open Graph tags and JSON-LD that parses as schema.org.
import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { createUser, makeCategory, makePost, makeTag } from "../support/fixtures.ts";
import { canonical, jsonLd, metaContent } from "../support/html.ts";
import { invalidate } from "../../src/cache/index.ts";

const app = buildApp();
const pages: [string, string][] = [];

beforeAll(async () => {
  const author = (await createUser({ role: "AUTHOR", username: "seo.writer", firstName: "Sam", lastName: "Writer" })).user;
  const cat = await makeCategory("Search engines", "search-engines", "Posts about being found.");
  const tag = await makeTag("Metadata", "metadata");
  for (let i = 0; i < 12; i++) {
    await makePost({ title: `Findable post ${i}`, authorId: author.id, categoryId: cat.id, tagIds: [tag.id], publish: new Date(Date.UTC(2026, 5, 1 + i, 9)) });
  }
  await invalidate();
  pages.push(
    ["home", "/"],
    ["list", "/blog/"],
    ["list page 2", "/blog/?page=2"],
    ["post", "/blog/2026/06/12/findable-post-11/"],
    ["category", "/blog/category/search-engines/"],
    ["tag", "/blog/tag/metadata/"],
    ["author", "/blog/author/seo.writer/"],
    ["category index", "/blog/categories/"],
    ["search form", "/blog/search/"],
    ["search results", "/blog/search/?q=findable"],
  );
});

describe("SEO metadata on every reader page", () => {
  it("has title, description, absolute canonical, Open Graph and schema.org JSON-LD", async () => {
    expect(pages).toHaveLength(10);
    for (const [name, path] of pages) {
      const res = await request(app).get(path).expect(200);
      const html = res.text;
      const title = /<title>([^<]*)<\/title>/.exec(html)?.[1] ?? "";
      expect(title.trim().length, `${name}: <title>`).toBeGreaterThan(0);
      const [description] = metaContent(html, "name", "description");
      expect(description?.trim().length, `${name}: meta description`).toBeGreaterThan(10);
      expect(description!.length, `${name}: description length`).toBeLessThanOrEqual(160);
      expect(canonical(html), `${name}: canonical`).toMatch(/^http:\/\/folio\.test\/\S*$/);
      for (const og of ["og:title", "og:description", "og:type", "og:url", "og:site_name"]) {
        expect(metaContent(html, "property", og)[0]?.length, `${name}: ${og}`).toBeGreaterThan(0);
      }
      expect(metaContent(html, "property", "og:url")[0], `${name}: og:url = canonical`).toBe(canonical(html));
      const ld = jsonLd(html).flat() as { "@context"?: string; "@type"?: string }[];
      expect(ld.length, `${name}: JSON-LD`).toBeGreaterThan(0);
      for (const item of ld) {
        expect(item["@context"], `${name}: @context`).toBe("https://schema.org");
        expect(typeof item["@type"], `${name}: @type`).toBe("string");
      }
    }
  });

  it("describes the category index as a list of its categories, and search as a results page", async () => {
    const index = jsonLd((await request(app).get("/blog/categories/").expect(200)).text)[0] as {
      "@type": string;
      mainEntity: { itemListElement: { name: string; url: string }[] };
    };
    expect(index["@type"]).toBe("CollectionPage");
    expect(index.mainEntity.itemListElement).toContainEqual(
      expect.objectContaining({ name: "Search engines", url: "http://folio.test/blog/category/search-engines/" }),
    );
    const search = jsonLd((await request(app).get("/blog/search/?q=findable").expect(200)).text)[0] as { "@type": string };
    expect(search["@type"]).toBe("SearchResultsPage");
  });
});
