// The library's alt text and the posts that use the image (src/media/library.ts setAlt, src/blog/rerender.ts
// rerenderPostsShowing, src/admin/media.ts): a changed alt reaches the stored bodies that give none of their
// own (public page shows it, past the page cache); clearing it is refused (409) while a published post would
// show the image without alt text; an author may set the alt text of another writer's image their post
// uses; another writer's draft titles are never shown to an author (a count instead).
import request from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import { createPost } from "../../src/posts/service.ts";
import { displayUrl } from "../../src/media/index.ts";
import { RERENDER_INLINE_MAX, rerenderPostsShowing } from "../../src/blog/rerender.ts";
import { url } from "../../src/web/urls.ts";
import { csrfPost, prisma, signedIn, type Signed } from "../support/fixtures.ts";
import { pathFor } from "../support/html.ts";
import { until } from "../support/poll.ts";
import { uploaded, useTempDataDir } from "./library-support.ts";

useTempDataDir();
const app = buildApp();
let editor: Signed;
let author: Signed;
let other: Signed;

beforeAll(async () => {
  editor = await signedIn(app, "EDITOR");
  author = await signedIn(app, "AUTHOR");
  other = await signedIn(app, "AUTHOR");
});

const detailUrl = (id: number) => url("admin:media_detail", { id });
const post = (title: string, body: string, authorId: number, over: Record<string, unknown> = {}) =>
  createPost({ title, body, status: "PUBLISHED", authorId, categoryId: null, ...over }, { id: authorId, role: "EDITOR", isActive: true } as never);

describe("a changed alt text", () => {
  it("reaches the public page of a post whose Markdown gives the image no alt text", async () => {
    const m = await uploaded("harbour.jpg", editor.user.id, "Boats at the quay");
    const p = await post("Harbour day", `Look:\n\n![](${displayUrl(m)})\n`, author.user.id);
    const path = pathFor(p.publish, p.slug);
    expect((await request(app).get(path).expect(200)).text).toContain('alt="Boats at the quay"');
    await until(async () => (await request(app).get(path)).headers["x-cache"] as string, { label: "the post page is cached", accept: (s) => s === "HIT" });

    await csrfPost(editor, detailUrl(m.id), { alt: "Red boats at the harbour at dawn", version: "1" }, 303);
    expect((await prisma.post.findUniqueOrThrow({ where: { id: p.id } })).bodyHtml).toContain('alt="Red boats at the harbour at dawn"');
    const page = await request(app).get(path).expect(200);
    expect(page.text).toContain('alt="Red boats at the harbour at dawn"');
    expect(page.text).not.toContain("Boats at the quay");
  });

  it("queues a job instead of rendering in the request when many posts show the image", async () => {
    const m = await uploaded("many.jpg", editor.user.id, "Many");
    const p = await post("Many uses", `![](${displayUrl(m)})`, author.user.id);
    // more PostMedia rows than the threshold (the same post's row is real; the count is what decides)
    const extra = await Promise.all(Array.from({ length: RERENDER_INLINE_MAX }, (_, i) => post(`Use ${i}`, `![](${displayUrl(m)})`, author.user.id)));
    expect(extra).toHaveLength(RERENDER_INLINE_MAX);
    expect(p.id).toBeGreaterThan(0);
    expect(await rerenderPostsShowing(m.id)).toBe("queued");
    const jobs = await prisma.$queryRaw<
      { n: bigint }[]
    >`SELECT count(*) AS n FROM pgboss.job WHERE name = 'posts.rerender-showing' AND data->>'mediaId' = ${String(m.id)}`;
    expect(Number(jobs[0]!.n)).toBe(1);
  });
});

describe("clearing the alt text", () => {
  it("is refused with 409 while a published post shows the image without alt text of its own, naming the posts the writer may see", async () => {
    const m = await uploaded("cover2.jpg", editor.user.id, "A cover");
    await post("Public cover post", "Text.", other.user.id, { featuredImageId: m.id });
    const refused = await csrfPost(editor, detailUrl(m.id), { alt: "", version: "1" }, 409);
    expect(refused.text).toContain("cannot be removed");
    expect(refused.text).toContain("Public cover post");
    expect((await prisma.media.findUniqueOrThrow({ where: { id: m.id } })).alt).toBe("A cover");

    // a body use with its own Markdown alt does not need the library's
    const n = await uploaded("own-alt.jpg", editor.user.id, "Library words");
    await post("Own alt", `![The post's words](${displayUrl(n)})`, author.user.id);
    await csrfPost(editor, detailUrl(n.id), { alt: "", version: "1" }, 303);
    expect((await prisma.media.findUniqueOrThrow({ where: { id: n.id } })).alt).toBe("");
  });
});

describe("authors", () => {
  it("may set the alt text of another writer's image their own post uses, not of others", async () => {
    const m = await uploaded("editors.jpg", editor.user.id);
    await post("Author's draft", "Text.", author.user.id, { featuredImageId: m.id, status: "DRAFT" });
    await csrfPost(other, detailUrl(m.id), { alt: "Not mine", version: "1" }, 403);
    await csrfPost(author, detailUrl(m.id), { alt: "A lighthouse", version: "1" }, 303);
    expect((await prisma.media.findUniqueOrThrow({ where: { id: m.id } })).alt).toBe("A lighthouse");
  });

  it("see a count, not the titles, of other writers' drafts using an image (usage list and the delete refusal)", async () => {
    const m = await uploaded("shared.jpg", author.user.id, "Shared");
    await post("Secret draft title", "Text.", other.user.id, { featuredImageId: m.id, status: "DRAFT" });
    const page = await author.agent.get(detailUrl(m.id)).expect(200);
    expect(page.text).not.toContain("Secret draft title");
    expect(page.text).toContain("1 post by another writer");
    const refused = await csrfPost(author, url("admin:media_delete", { id: m.id }), { confirm: "yes" }, 409);
    expect(refused.text).not.toContain("Secret draft title");
    expect(refused.text).toContain("1 post by another writer");
    expect((await editor.agent.get(detailUrl(m.id)).expect(200)).text).toContain("Secret draft title");
  });
});
