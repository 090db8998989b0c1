// The post body as stored and shown (issue 11): src/blog/markdown.ts renderBody (highlighting,
// footnotes, heading ids, tables, embeds, library images, word count), the CSP's frame sources, the
// admin's preview (exactly what a save stores) and the re-render of stored posts (src/blog/rerender.ts).
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../src/app.ts";
import { config } from "../src/config.ts";
import { RENDER_VERSION, renderBody, renderMarkdown, countWords } from "../src/blog/markdown.ts";
import { checkRenderVersion, rerenderOne, rerenderPosts, RENDER_VERSION_KEY, storedRenderVersion } from "../src/blog/rerender.ts";
import { mediaKey } from "../src/media/keys.ts";
import { postUrl } from "../src/blog/queries.ts";
import { createUser, makePost, prisma, signedIn, type Signed } from "./support/fixtures.ts";

const app = buildApp();

/** Every id="..." and href="#..." of a fragment. */
const ids = (html: string) => [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!);
const fragments = (html: string) => [...html.matchAll(/\shref="#([^"]+)"/g)].map((m) => m[1]!);

describe("code blocks", () => {
  it("highlights a language highlight.js knows, on the server, with hljs-* classes only", async () => {
    const { html } = await renderBody("```python\ndef f(x):\n    return 'a' + str(42)  # note\n```");
    expect(html).toContain('<pre tabindex="0"><code class="hljs language-python">');
    expect(html).toContain('<span class="hljs-keyword">def</span>');
    expect(html).toContain('<span class="hljs-string">&#x27;a&#x27;</span>'.replace(/&#x27;/g, "'"));
    expect(html).toContain('<span class="hljs-comment"># note</span>');
    for (const m of html.matchAll(/<span class="([^"]*)"/g)) for (const c of m[1]!.split(" ")) expect(c).toMatch(/^hljs(-[a-z_-]+)?$/);
  });

  it("leaves blocks without a language, or with an unknown one, as escaped plain text (no auto-detection)", async () => {
    const { html } = await renderBody("```\nfunction f() { return 1 < 2 }\n```\n\n```klingon\nx <b> y\n```");
    expect(html).toContain('<code class="hljs">function f() { return 1 &lt; 2 }\n</code>');
    expect(html).toContain('<code class="hljs language-klingon">x &lt;b&gt; y\n</code>');
    expect(html).not.toContain("<span");
  });

  it("keeps hostile code as text: </code><script> in a block never closes it", async () => {
    for (const lang of ["html", "js", "", "nosuch"]) {
      const { html } = await renderBody("```" + lang + '\n</code></pre><script>alert(1)</script><img src=x onerror="alert(2)">\n```');
      expect(html.toLowerCase()).not.toMatch(/<script|<img|<[^>]*\son[a-z]+=/);
      expect(html.replace(/<\/?span[^>]*>/g, "")).toContain("&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
      expect(html.match(/<\/code><\/pre>/g)).toHaveLength(1);
    }
  });

  it("drops classes that are not highlight.js's, and spans a writer types without them", () => {
    expect(renderMarkdown('<span class="evil hljs-keyword">k</span> <span>plain</span> <span class="x">y</span>')).toBe(
      '<p><span class="hljs-keyword">k</span> plain y</p>',
    );
  });
});

describe("footnotes and heading ids", () => {
  const md = [
    "## Intro",
    "",
    "A claim[^1], another[^src] and the first again[^1].",
    "",
    "## Intro",
    "",
    '<h2 id="h-intro">forged</h2><p id="fn-1">forged</p><a id="fn-ref-1" href="#fn-1">forged</a>',
    "",
    "[^1]: The evidence.",
    "[^src]: A source, <https://example.com/paper>.",
  ].join("\n");

  it("links each reference to its footnote and back, with ids that exist exactly once", async () => {
    const { html } = await renderBody(md);
    expect(html).toContain('<section class="footnotes" data-footnotes>');
    expect(html).toContain('<h2 id="fn-label" class="visually-hidden">Footnotes</h2>');
    const all = ids(html);
    expect(new Set(all).size).toBe(all.length);
    const targets = fragments(html);
    expect(targets).toEqual(expect.arrayContaining(["fn-1", "fn-src", "fn-ref-1", "fn-ref-src", "h-intro", "h-intro-1"]));
    for (const t of targets) expect(all, `#${t} has its element`).toContain(t);
    expect(html).toMatch(/<sup><a href="#fn-1" id="fn-ref-1" aria-describedby="fn-label" data-footnote-ref>1<\/a><\/sup>/);
    expect(html).toMatch(/<li id="fn-1">\s*<p>The evidence\. <a href="#fn-ref-1" aria-label="Back to reference 1" data-footnote-backref>/);
  });

  it("gives section headings prefixed, unique ids with a '#' link; drops ids a writer types", async () => {
    const { html } = await renderBody(md);
    expect(html).toContain('<h2 id="h-intro">Intro <a class="heading-anchor" href="#h-intro" aria-label="Link to this section">#</a></h2>');
    expect(html).toContain('<h2 id="h-intro-1">Intro <a class="heading-anchor" href="#h-intro-1" aria-label="Link to this section">#</a></h2>');
    expect(html).toContain("<h2>forged</h2>");
    expect(html).toContain("<p>forged</p>");
    expect(html).toContain('<a href="#fn-1">forged</a>');
    // Every id is the renderer's: prefixed, so none can clash with the page's own or clobber a global.
    for (const id of ids(html)) expect(id).toMatch(/^(h|fn)-/);
  });

  it("gives h1 no id (the page's title is the h1), h3-h6 their ids", async () => {
    const { html } = await renderBody("# Top\n\n### Deep *dive*\n\n###### Six");
    expect(html).toContain("<h1>Top</h1>");
    expect(html).toContain('<h3 id="h-deep-dive">Deep <em>dive</em> <a class="heading-anchor" href="#h-deep-dive"');
    expect(html).toContain('<h6 id="h-six">');
  });
});

describe("tables and task lists", () => {
  it("wraps tables in a focusable scrolling div; task items are disabled checkboxes", async () => {
    const { html } = await renderBody("| a | b |\n|---|--:|\n| 1 | 2 |\n\n- [x] done\n- [ ] todo");
    expect(html).toMatch(/^<div class="table-wrap" tabindex="0"><table>[\s\S]*<\/table><\/div>/);
    expect(html).toContain('<td align="right">2</td>');
    expect(html).toContain('<li><input type="checkbox" disabled checked aria-label="Done" /> done</li>');
    expect(html).toContain('<li><input type="checkbox" disabled aria-label="Not done" /> todo</li>');
  });
});

describe("video embeds", () => {
  const yt = "dQw4w9WgXcQ";
  const forms: Array<[string, string, string, string | null]> = [
    ["watch", `https://www.youtube.com/watch?v=${yt}`, "youtube", null],
    ["watch without www, other params", `https://youtube.com/watch?feature=share&v=${yt}`, "youtube", null],
    ["mobile watch with t=", `https://m.youtube.com/watch?v=${yt}&t=1m30s`, "youtube", "90"],
    ["youtu.be with t=", `https://youtu.be/${yt}?t=42`, "youtube", "42"],
    ["shorts", `https://www.youtube.com/shorts/${yt}`, "youtube", null],
    ["autolink", `<https://youtu.be/${yt}>`, "youtube", null],
    ["vimeo", "https://vimeo.com/76979871", "vimeo", null],
    ["vimeo with #t=", "https://vimeo.com/76979871#t=1m5s", "vimeo", "65"],
  ];
  for (const [name, url, host, start] of forms) {
    it(`turns a paragraph of only a URL into a click-to-load placeholder: ${name}`, async () => {
      const { html } = await renderBody(`Before.\n\n${url}\n\nAfter.`);
      const id = host === "youtube" ? yt : "76979871";
      const label = host === "youtube" ? "YouTube" : "Vimeo";
      expect(html).toContain(`<figure class="embed embed--${host}" data-embed="${host}" data-embed-id="${id}"${start ? ` data-embed-start="${start}"` : ""}>`);
      expect(html).toContain(`<button type="button" class="embed-play" hidden>Play video on ${label}</button>`);
      expect(html).toContain(`loads the video from ${label}`);
      expect(html).toMatch(
        new RegExp(`<a href="https://(www\\.youtube\\.com/watch\\?v=${id}|vimeo\\.com/${id})[^"]*" rel="nofollow noopener">Watch the video on ${label}</a>`),
      );
      // Nothing is loaded from the video's host before the click: no iframe, no thumbnail, no player URL.
      expect(html).not.toMatch(/<iframe|<img|ytimg|youtube-nocookie|player\.vimeo/);
      expect(html).toMatch(/^<p>Before\.<\/p>\n<figure[^]*<\/figure>\n<p>After\.<\/p>$/);
    });
  }

  const plain: Array<[string, string]> = [
    ["a URL inside a sentence", `Watch https://youtu.be/${yt} now.`],
    ["a link with its own text", `[my talk](https://youtu.be/${yt})`],
    ["a YouTube id of the wrong length", "https://youtu.be/abc"],
    ["a YouTube id with other characters", "https://www.youtube.com/watch?v=dQw4w9WgXc%22"],
    ["a YouTube channel page", "https://www.youtube.com/@somebody"],
    ["a non-numeric Vimeo path", "https://vimeo.com/channels/staffpicks"],
    ["a look-alike host", `https://youtube.com.evil.example/watch?v=${yt}`],
    ["another video host", "https://www.dailymotion.com/video/x7tgad0"],
    ["a URL with credentials", `https://user:pw@youtu.be/${yt}`],
  ];
  for (const [name, md] of plain) {
    it(`leaves ${name} as it was`, async () => {
      const { html } = await renderBody(md);
      expect(html).not.toContain("data-embed");
      expect(html.startsWith("<p>")).toBe(true);
    });
  }

  it("cannot be forged by a writer, and raw iframes stay stripped", async () => {
    const { html } = await renderBody(
      [
        `<figure class="embed" data-embed="youtube" data-embed-id="${yt}"><button class="embed-play">Play</button></figure>`,
        "",
        '<iframe src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"></iframe>',
        "",
        '<img src="https://a.example/x.png" srcset="https://evil.example/y.png 2x" onerror="alert(1)" loading="eager">',
        "",
        '<picture><source srcset="https://evil.example/a.avif" type="image/avif"><img src="https://a.example/b.png"></picture>',
        "",
        "<script>alert(1)</script><svg onload=alert(1)></svg>",
      ].join("\n"),
    );
    expect(html).not.toMatch(/data-embed|<figure|<button|<iframe|<picture|<source|srcset|onerror|onload|<script|<svg|loading="eager"/i);
    expect(html).toContain('<img src="https://a.example/x.png" alt="" loading="lazy" decoding="async" referrerpolicy="no-referrer" />');
  });

  it("the CSP allows frames from the two players and nothing else", async () => {
    const res = await request(app).get("/").expect(200);
    const csp = String(res.headers["content-security-policy"]);
    expect(csp).toContain("frame-src https://www.youtube-nocookie.com https://player.vimeo.com;");
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
  });
});

describe("images", () => {
  let media: { id: number; alt: string; key: string; small: string };
  let second: { id: number; key: string };

  async function makeMedia(alt: string) {
    const hash = createHash("sha256").update(`${alt}-${Math.random()}`).digest("hex");
    const renditions = [320, 640, 960].flatMap((w) =>
      (["avif", "webp", "jpeg"] as const).map((format) => ({ width: w, height: Math.round((w * 2) / 3), format, key: mediaKey(hash, w, format), bytes: 1000 })),
    );
    const row = await prisma.media.create({
      data: {
        hash,
        storageKey: mediaKey(hash, 1200, "jpeg"),
        filename: "photo.jpg",
        mime: "image/jpeg",
        width: 1200,
        height: 800,
        bytes: 5000,
        alt,
        renditions,
      },
    });
    return { id: row.id, alt, key: row.storageKey, small: mediaKey(hash, 320, "webp") };
  }

  beforeAll(async () => {
    media = await makeMedia("A harbour at dusk");
    const s = await makeMedia("");
    second = { id: s.id, key: s.key };
  });

  it("renders library images (any rendition's URL, relative or absolute) as <picture> with width/height, and lists them", async () => {
    const md = [`![](/media/${media.small})`, "", "Text between.", "", `![A second look](${config.SITE_URL}/media/${second.key})`].join("\n");
    const { html, mediaIds } = await renderBody(md);
    expect(mediaIds.sort()).toEqual([media.id, second.id].sort());
    expect(html.match(/<picture>/g)).toHaveLength(2);
    expect(html).toContain('<source type="image/avif" srcset="');
    expect(html).toContain('<source type="image/webp" srcset="');
    expect(html.match(/width="1200" height="800"/g)).toHaveLength(2);
    // The Markdown's alt text when given, the library's when empty.
    expect(html).toContain('alt="A harbour at dusk"');
    expect(html).toContain('alt="A second look"');
    // The first image of the body is eager (it is near the top), the rest lazy.
    const imgs = [...html.matchAll(/<img [^>]*>/g)].map((m) => m[0]);
    expect(imgs[0]).toContain('loading="eager"');
    expect(imgs[1]).toContain('loading="lazy"');
    expect(html).toContain('sizes="(min-width: 44.5rem) 42rem, calc(100vw - 2.5rem)"');
  });

  it("escapes a hostile alt text on a library picture", async () => {
    const { html } = await renderBody(`![x" onerror="alert(1)" data-x="<script>](/media/${media.key})`);
    expect(html).toContain("<picture>");
    // The whole text stays inside the alt attribute, escaped.
    expect(html).toContain('alt="x&quot; onerror=&quot;alert(1)&quot; data-x=&quot;&lt;script&gt;"');
    expect(html).not.toMatch(/<script|" onerror=/i);
  });

  it("drops a /media/ URL of no stored file; keeps external https images as lazy plain <img>", async () => {
    const gone = mediaKey("ab".repeat(32), 320, "webp");
    const { html, mediaIds } = await renderBody(`![x](/media/${gone}) ![y](https://images.example/y.png)`);
    expect(mediaIds).toEqual([]);
    expect(html).toBe('<p> <img src="https://images.example/y.png" alt="y" loading="lazy" decoding="async" referrerpolicy="no-referrer" /></p>');
  });

  it("stores PostMedia rows from a save", async () => {
    const { user } = await createUser({ role: "AUTHOR" });
    const post = await makePost({ authorId: user.id, body: `Look:\n\n![](/media/${media.key})` });
    const rows = await prisma.postMedia.findMany({ where: { postId: post.id } });
    expect(rows.map((r) => r.mediaId)).toEqual([media.id]);
    const stored = await prisma.post.findUniqueOrThrow({ where: { id: post.id } });
    expect(stored.bodyHtml).toContain("<picture>");
  });
});

describe("word count", () => {
  it("counts prose words, not code, URLs, markup or footnote markers", async () => {
    const md = [
      "## Two words",
      "",
      "One *two* three https://example.com/a-long-url [four](https://example.com) five[^1].",
      "",
      "```js",
      "const not = counted + at + all;",
      "```",
      "",
      "<div>six</div>",
      "",
      "| seven | eight |",
      "|---|---|",
      "| nine | ten |",
      "",
      "![no words here](https://img.example/a.png)",
      "",
      "[^1]: Footnotes are not counted.",
    ].join("\n");
    const { wordCount } = await renderBody(md);
    // "Two words" + "One two three four five" + "six" (raw HTML's text is not prose: 0) + table's 4.
    expect(wordCount).toBe(2 + 5 + 4);
    expect(countWords(md)).toBe(wordCount);
  });
});

describe("the admin's preview and re-rendering stored posts", () => {
  let editor: Signed;
  const body = [
    "## Setting up",
    "",
    "Text with a note[^n].",
    "",
    "```ts",
    "const x: number = 1;",
    "```",
    "",
    "https://youtu.be/dQw4w9WgXcQ",
    "",
    "[^n]: The note.",
  ].join("\n");

  beforeAll(async () => {
    editor = await signedIn(app, "EDITOR");
  });

  it("the preview endpoint answers exactly what a save stores", async () => {
    const post = await makePost({ authorId: editor.user.id, body });
    const stored = await prisma.post.findUniqueOrThrow({ where: { id: post.id } });
    const res = await editor.agent
      .post("/admin/preview/")
      .set("X-CSRF-Token", await editor.session.csrf())
      .type("form")
      .send({ body });
    expect(res.status, res.text.slice(0, 300)).toBe(200);
    expect(res.body.html).toBe(stored.bodyHtml);
    expect(stored.bodyHtml).toContain("data-embed");
  });

  it("the post page links the code theme and loads the embed script only when the body has an embed", async () => {
    const withEmbed = await makePost({ authorId: editor.user.id, body });
    const without = await makePost({ authorId: editor.user.id, body: "Just words." });
    const a = await request(app).get(postUrl(withEmbed)).expect(200);
    expect(a.text).toMatch(/<link rel="stylesheet" href="[^"]*code[^"]*\.css[^"]*">/);
    expect(a.text).toMatch(/<script defer src="[^"]*embeds[^"]*\.js[^"]*"><\/script>/);
    const b = await request(app).get(postUrl(without)).expect(200);
    expect(b.text).not.toContain("embeds");
  });

  it("re-renders every stored post once: new html, words and images; no revision, version or updatedAt change", async () => {
    const post = await makePost({ authorId: editor.user.id, body });
    const oldHtml = "<h2>Setting up</h2>\n<p>Text with a note[^n].</p>"; // as the renderer before issue 11 stored it
    await prisma.$executeRaw`UPDATE "Post" SET "bodyHtml" = ${oldHtml}, "wordCount" = 0 WHERE id = ${post.id}`;
    await prisma.siteState.upsert({ where: { key: RENDER_VERSION_KEY }, create: { key: RENDER_VERSION_KEY, value: "1" }, update: { value: "1" } });
    const before = await prisma.post.findUniqueOrThrow({ where: { id: post.id } });
    const revisions = await prisma.postRevision.count({ where: { postId: post.id } });
    const audits = await prisma.auditLog.count();

    expect(await storedRenderVersion()).toBe(1);
    const r = await rerenderPosts({ batch: 2 });
    expect(r.changed).toBeGreaterThanOrEqual(1);
    expect(r.skipped).toBe(0);

    const after = await prisma.post.findUniqueOrThrow({ where: { id: post.id } });
    const fresh = await renderBody(body);
    expect(after.bodyHtml).toBe(fresh.html);
    expect(after.wordCount).toBe(fresh.wordCount);
    expect(after.version).toBe(before.version);
    expect(after.updatedAt.getTime()).toBe(before.updatedAt.getTime());
    expect(await prisma.postRevision.count({ where: { postId: post.id } })).toBe(revisions);
    expect(await prisma.auditLog.count()).toBe(audits);
    expect(await storedRenderVersion()).toBe(RENDER_VERSION);

    // A second run finds nothing to change.
    expect((await rerenderPosts()).changed).toBe(0);
  });

  it("never overwrites a writer's newer save with a rendering of older text", async () => {
    const post = await makePost({ authorId: editor.user.id, body: "Old text." });
    const snapshot = await prisma.post.findUniqueOrThrow({ where: { id: post.id }, include: { media: true } });
    // The writer saves between the job's read and its write.
    await prisma.$executeRaw`UPDATE "Post" SET "body" = 'New text.', "bodyHtml" = '<p>New text.</p>', "version" = "version" + 1 WHERE id = ${post.id}`;
    const { media: _media, ...row } = snapshot;
    const outcome = await rerenderOne({ ...row, bodyHtml: "stale", mediaIds: [] });
    expect(outcome).toBe("skipped");
    const now = await prisma.post.findUniqueOrThrow({ where: { id: post.id } });
    expect(now.bodyHtml).toBe("<p>New text.</p>");
    expect(now.body).toBe("New text.");
  });

  it("at start-up, queues the re-render job only when the stored version is older", async () => {
    const queued = () => prisma.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM pgboss.job WHERE name = 'posts.rerender' AND state = 'created'`;
    await prisma.siteState.update({ where: { key: RENDER_VERSION_KEY }, data: { value: String(RENDER_VERSION) } });
    expect(await checkRenderVersion()).toBe(false);
    await prisma.siteState.update({ where: { key: RENDER_VERSION_KEY }, data: { value: "1" } });
    expect(await checkRenderVersion()).toBe(true);
    expect(await checkRenderVersion()).toBe(false); // a second process starting: still one job
    expect(Number((await queued())[0]!.n)).toBe(1);
  });
});
