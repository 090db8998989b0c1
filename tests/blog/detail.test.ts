// A post's page: published only, date-checked URL, body, similar posts, SEO (canonical, OG, JSON-LD), XSS.
import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { prisma } from "../../src/db/index.ts";
import { invalidate } from "../../src/cache/index.ts";
import { createUser, makeCategory, makePost, makeTag } from "../support/fixtures.ts";
import { canonical, jsonLd, metaContent, pathFor } from "../support/html.ts";

const app = buildApp();
const day = 86_400_000;
const t0 = Date.UTC(2026, 2, 10, 23, 30, 0); // 23:30 UTC: the URL date is the UTC date
let main: Awaited<ReturnType<typeof makePost>>;
const ids: Record<string, number> = {};

beforeAll(async () => {
  const grace = (await createUser({ role: "AUTHOR", username: "grace", firstName: "Grace", lastName: "Hopper" })).user;
  const anon = (await createUser({ role: "AUTHOR", username: "noname" })).user;
  const cat = await makeCategory("Compilers", "compilers");
  const [a, b, c, d] = await Promise.all(["alpha", "beta", "gamma", "delta"].map((n) => makeTag(n)));
  main = await makePost({
    title: "The first compiler",
    authorId: grace.id,
    categoryId: cat.id,
    tagIds: [a!.id, b!.id, c!.id],
    publish: new Date(t0),
    excerpt: "How A-0 came to be.",
    metaDescription: "The story of the A-0 system.",
    body: "## Origins\n\nIt began in **1952**.\n\n```\nLOAD A\n```\n",
  });
  // Similar candidates: shares 3, 2, 2 (newer), 1 tag(s); one with no shared tag; a draft sharing all.
  ids.three = (await makePost({ title: "Shares three", authorId: anon.id, tagIds: [a!.id, b!.id, c!.id], publish: new Date(t0 - 5 * day) })).id;
  ids.twoOld = (await makePost({ title: "Shares two older", authorId: grace.id, tagIds: [a!.id, b!.id], publish: new Date(t0 - 4 * day) })).id;
  ids.twoNew = (await makePost({ title: "Shares two newer", authorId: grace.id, tagIds: [b!.id, c!.id], publish: new Date(t0 - 2 * day) })).id;
  ids.one = (await makePost({ title: "Shares one", authorId: grace.id, tagIds: [c!.id], publish: new Date(t0 - 1 * day) })).id;
  ids.oneOlder = (await makePost({ title: "Shares one oldest", authorId: grace.id, tagIds: [a!.id], publish: new Date(t0 - 9 * day) })).id;
  await makePost({ title: "Shares none", authorId: grace.id, tagIds: [d!.id], publish: new Date(t0 - 3 * day) });
  await makePost({ title: "Draft sharing all", authorId: grace.id, status: "DRAFT", tagIds: [a!.id, b!.id, c!.id], publish: new Date(t0 - 3 * day) });
  await makePost({ title: "Future sharing all", authorId: grace.id, tagIds: [a!.id, b!.id, c!.id], publish: new Date(Date.now() + 3 * day) });
  await makePost({ title: "A draft", slug: "a-draft", authorId: grace.id, status: "DRAFT", publish: new Date(t0) });
  await makePost({ title: "Tomorrow", slug: "tomorrow", authorId: grace.id, publish: new Date(Date.now() + day) });
  const evilCat = await makeCategory("<script>alert('c')</script>", "evil");
  const evilTag = await makeTag("<img src=x onerror=alert(1)>", "evil-tag");
  await makePost({
    title: "<script>alert('t')</script>",
    slug: "evil",
    authorId: grace.id,
    categoryId: evilCat.id,
    tagIds: [evilTag.id],
    publish: new Date(t0),
    excerpt: "</script><script>alert(2)</script>",
    body: "Sanitised body.",
  });
});

describe("post detail", () => {
  it("renders a published post at its UTC date URL", async () => {
    expect(pathFor(main.publish, main.slug)).toBe("/blog/2026/03/10/the-first-compiler/");
    const res = await request(app).get("/blog/2026/03/10/the-first-compiler/").expect(200);
    expect(res.text).toContain('<h1 class="post-title">The first compiler</h1>');
    expect(res.text).toContain(
      '<h2 id="h-origins">Origins <a class="heading-anchor" href="#h-origins" aria-label="Link to this section">#</a></h2>\n<p>It began in <strong>1952</strong>.</p>',
    ); // HTML body, not escaped
    expect(res.text).toContain(">Grace Hopper</a>");
    expect(res.text).toContain("March 10, 2026");
    expect(res.text).toContain('href="/blog/category/compilers/"');
    for (const t of ["alpha", "beta", "gamma"]) expect(res.text).toContain(`href="/blog/tag/${t}/"`);
  });

  it("shows up to 4 similar posts: most shared tags first, then newest; never drafts or future posts", async () => {
    const res = await request(app).get("/blog/2026/03/10/the-first-compiler/").expect(200);
    const section = res.text.slice(res.text.indexOf('id="similar-heading"'));
    const titles = [...section.matchAll(/class="post-card-title"><a href="[^"]*">([^<]*)</g)].map((m) => m[1]);
    expect(titles).toEqual(["Shares three", "Shares two newer", "Shares two older", "Shares one"]);
    expect(section).toContain(">noname</a>"); // full name falls back to the username
  });

  it("has canonical, Open Graph article tags and BlogPosting JSON-LD", async () => {
    const res = await request(app).get("/blog/2026/03/10/the-first-compiler/").expect(200);
    const url = "http://folio.test/blog/2026/03/10/the-first-compiler/";
    expect(canonical(res.text)).toBe(url);
    expect(res.text).toContain("<title>The first compiler · Folio</title>");
    expect(metaContent(res.text, "name", "description")).toEqual(["The story of the A-0 system."]);
    expect(metaContent(res.text, "property", "og:type")).toEqual(["article"]);
    expect(metaContent(res.text, "property", "og:url")).toEqual([url]);
    expect(metaContent(res.text, "property", "og:title")).toEqual(["The first compiler"]);
    expect(metaContent(res.text, "property", "article:published_time")).toEqual(["2026-03-10T23:30:00.000Z"]);
    expect(metaContent(res.text, "property", "article:section")).toEqual(["Compilers"]);
    expect(metaContent(res.text, "property", "article:tag")).toEqual(["alpha", "beta", "gamma"]);
    const [ld] = jsonLd(res.text) as Record<string, unknown>[];
    expect(ld).toMatchObject({
      "@context": "https://schema.org",
      "@type": "BlogPosting",
      headline: "The first compiler",
      datePublished: "2026-03-10T23:30:00.000Z",
      dateModified: main.updatedAt.toISOString(),
      url,
      description: "The story of the A-0 system.",
      author: { "@type": "Person", name: "Grace Hopper", url: "http://folio.test/blog/author/grace/" },
      publisher: { "@type": "Organization", name: "Folio" },
    });
  });

  it("cuts long meta descriptions on a word, one line, and falls back to the excerpt, then to the site's", async () => {
    const when = new Date(t0 - 20 * day);
    await makePost({
      title: "Long description",
      slug: "long-description",
      metaDescription: `${"word ".repeat(59)}\n\nend`,
      authorId: main.authorId,
      publish: when,
    });
    await makePost({ title: "Nothing to describe", slug: "nothing-to-describe", body: "", authorId: main.authorId, publish: when });
    const [d] = metaContent((await request(app).get(pathFor(when, "long-description")).expect(200)).text, "name", "description");
    expect(d!.length).toBeLessThanOrEqual(161);
    expect(d!.endsWith("word…")).toBe(true);
    expect(d).not.toMatch(/\s{2}|\n/);
    const empty = await request(app).get(pathFor(when, "nothing-to-describe")).expect(200);
    expect(metaContent(empty.text, "name", "description")).toEqual(["A blog about building software, published with Folio."]);
    const res = await request(app)
      .get(pathFor(new Date(t0 - 5 * day), "shares-three"))
      .expect(200);
    expect(metaContent(res.text, "name", "description")).toEqual(["Body of Shares three."]);
  });

  it("gives a post whose meta description is empty or only white space its excerpt as the meta description", async () => {
    const when = new Date(t0 - 21 * day);
    const cases = [
      { slug: "no-meta-description", metaDescription: "", excerpt: "The excerpt stands in for an empty description." },
      { slug: "blank-meta-description", metaDescription: " \n\t  ", excerpt: "The excerpt stands in for a blank one." },
    ];
    for (const c of cases) {
      const post = await makePost({
        title: c.slug,
        slug: c.slug,
        excerpt: c.excerpt,
        body: "A body that is not the excerpt.",
        authorId: main.authorId,
        publish: when,
      });
      // Stored exactly so, whatever the editor's form would have trimmed.
      await prisma.post.update({ where: { id: post.id }, data: { metaDescription: c.metaDescription } });
      const res = await request(app).get(pathFor(when, c.slug)).expect(200);
      expect(metaContent(res.text, "name", "description"), c.slug).toEqual([c.excerpt]);
      expect(metaContent(res.text, "property", "og:description"), c.slug).toEqual([c.excerpt]);
    }
  });

  it("escapes hostile titles, categories and tags (HTML and JSON-LD)", async () => {
    const res = await request(app)
      .get(pathFor(new Date(t0), "evil"))
      .expect(200);
    expect(res.text).not.toContain("<script>alert");
    expect(res.text).not.toContain("<img src=x");
    expect(res.text).toContain("&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;");
    const [ld] = jsonLd(res.text) as { headline: string }[];
    expect(ld!.headline).toBe("<script>alert('t')</script>");
    const list = await request(app).get("/blog/").expect(200);
    expect(list.text).not.toContain("<script>alert");
    expect(list.text).not.toContain("</script><script>");
    expect(list.text).not.toContain("<img src=x");
    const cats = await request(app).get("/blog/categories/").expect(200);
    expect(cats.text).toContain("&lt;script&gt;alert(&#39;c&#39;)&lt;/script&gt;");
  });

  it.each([
    ["a draft", "/blog/2026/03/10/a-draft/"],
    ["a scheduled post", pathFor(new Date(Date.now() + day), "tomorrow")],
    ["the wrong date (no zone has the post on it)", "/blog/2026/03/13/the-first-compiler/"],
    ["a day before the post in every zone", "/blog/2026/03/09/the-first-compiler/"],
    ["an unknown slug", "/blog/2026/03/10/nope/"],
    ["an impossible date", "/blog/2026/13/45/the-first-compiler/"],
    ["February 30", "/blog/2026/02/30/x/"],
    ["a non-numeric year", "/blog/abc/01/01/x/"],
    ["a huge year", "/blog/9999999999999999999/01/01/x/"],
    ["an unpadded month", "/blog/2026/3/10/the-first-compiler/"],
    ["year 0000", "/blog/0000/01/01/x/"],
    ["a negative day", "/blog/2026/03/-1/x/"],
  ])("answers %s with the site's 404", async (_what, path) => {
    const res = await request(app).get(path).expect(404);
    expect(res.text).toContain("Page not found");
  });

  it("answers the post's date in a zone the site used before (its URL under another TIME_ZONE) with a 301 to its address", async () => {
    // 23:30 UTC on the 10th is the 11th east of UTC (Paris: 00:30). Not a zone this site used: 404.
    await request(app).get("/blog/2026/03/11/the-first-compiler/").expect(404);
    // The site was in Paris before (what a re-date records).
    await prisma.siteState.create({ data: { key: "previous_time_zones", value: JSON.stringify(["Europe/Paris"]) } });
    await invalidate("posts");
    const res = await request(app).get("/blog/2026/03/11/the-first-compiler/").expect(301);
    expect(res.headers.location).toBe("/blog/2026/03/10/the-first-compiler/");
  });
});
