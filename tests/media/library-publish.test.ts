// Alt text before publishing (src/media/alt-check.ts, asked by the post save path): a post showing an
// image without alt text, in its body or as its featured image, is not published nor scheduled (the
// field message names the image; nothing saved); a draft saves, and altProblems() says what to add. A
// Markdown image's own alt text counts for that use; the library's alt text covers every use. Through
// the service, the admin's form, the API and the bulk "publish" action.
import request from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import { signAccessToken } from "../../src/api/tokens.ts";
import { createPost, setPostsStatus, updatePost, type PostInput } from "../../src/posts/service.ts";
import { AltTextMissingError, altProblems, altWarning } from "../../src/media/alt-check.ts";
import { displayUrl, type MediaItem } from "../../src/media/index.ts";
import { url } from "../../src/web/urls.ts";
import { createUser, csrfPost, inHours, prisma, signedIn, type Signed } from "../support/fixtures.ts";
import { formValues } from "../support/html.ts";
import { uploaded, useTempDataDir } from "./library-support.ts";

useTempDataDir();
const app = buildApp();
let author: Signed;
let editor: Signed;

beforeAll(async () => {
  author = await signedIn(app, "AUTHOR");
  editor = await signedIn(app, "EDITOR");
});

const input = (over: Partial<PostInput>): PostInput => ({
  title: `Post ${Math.random().toString(36).slice(2, 8)}`,
  body: "Text.",
  status: "PUBLISHED",
  authorId: author.user.id,
  categoryId: null,
  ...over,
});

async function refusal(p: Promise<unknown>): Promise<AltTextMissingError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AltTextMissingError);
  return e as AltTextMissingError;
}

const img = (m: MediaItem, alt = "") => `![${alt}](${displayUrl(m)})`;

describe("the save path", () => {
  it("refuses to publish or schedule a post whose featured image has no alt text, naming it; a draft saves", async () => {
    const photo = await uploaded("photo.jpg", author.user.id);
    const before = await prisma.post.count();
    const e = await refusal(createPost(input({ featuredImageId: photo.id }), author.user));
    expect(e.fields).toEqual({ featuredImageId: expect.stringContaining("Add alt text to “photo.jpg” before publishing") });
    expect(e.status).toBe(400);
    await refusal(createPost(input({ featuredImageId: photo.id, publish: inHours(48) }), author.user)); // scheduled
    expect(await prisma.post.count()).toBe(before);

    const draft = await createPost(input({ featuredImageId: photo.id, status: "DRAFT" }), author.user);
    const problems = await altProblems([], draft.featuredImageId, draft.body);
    expect(problems).toEqual([{ mediaId: photo.id, filename: "photo.jpg", where: "featured" }]);
    expect(altWarning(problems)).toMatch(/^Before publishing, add alt text to “photo.jpg”: set its alt text in the media library/);
    await refusal(updatePost(draft.id, draft.version, input({ title: draft.title, status: "PUBLISHED" }), author.user));

    await prisma.media.update({ where: { id: photo.id }, data: { alt: "A photo of the sea" } });
    const published = await updatePost(draft.id, draft.version, input({ title: draft.title, status: "PUBLISHED" }), author.user);
    expect(published.status).toBe("PUBLISHED");
    expect(await altProblems([], photo.id, "")).toEqual([]);
  });

  it("a body image: its Markdown alt text counts for that use, the library's for every use; each use needs one", async () => {
    const a = await uploaded("a.jpg", author.user.id);
    const b = await uploaded("b.jpg", author.user.id);
    const none = await refusal(createPost(input({ body: `Look:\n\n${img(a)}\n\nand ${img(b, "A described image")}` }), author.user));
    expect(none.fields).toEqual({ body: expect.stringContaining("Add alt text to “a.jpg” before publishing") });
    expect(none.message).not.toContain("b.jpg");
    expect(none.message).toContain("![what it shows]");

    const twice = await refusal(createPost(input({ body: `${img(a, "First use")}\n\n${img(a)}` }), author.user));
    expect(twice.problems).toEqual([{ mediaId: a.id, filename: "a.jpg", where: "body" }]);

    const described = await createPost(input({ body: `${img(a, "First use")}\n\n${img(b, "Second")}` }), author.user);
    expect(described.status).toBe("PUBLISHED");
    expect(await prisma.postMedia.count({ where: { postId: described.id } })).toBe(2); // the save recorded both uses

    await prisma.media.update({ where: { id: a.id }, data: { alt: "Library alt" } });
    const byLibrary = await createPost(input({ body: `${img(a)} and ${img(a)}` }), author.user);
    expect(byLibrary.status).toBe("PUBLISHED");
  });

  it("unpublishing is never refused, and the site's own saves (data commands) are not bound", async () => {
    const c = await uploaded("c.jpg", author.user.id, "Covered");
    const p = await createPost(input({ featuredImageId: c.id }), author.user);
    await prisma.media.update({ where: { id: c.id }, data: { alt: "" } });
    const draft = await updatePost(p.id, p.version, input({ title: p.title, status: "DRAFT" }), author.user);
    expect(draft.status).toBe("DRAFT");
    const bySite = await createPost(input({ featuredImageId: c.id }), null);
    expect(bySite.status).toBe("PUBLISHED");
  });

  it("the bulk publish action reports the post it refused and publishes the others", async () => {
    const d = await uploaded("d.jpg", editor.user.id);
    const bad = await createPost(input({ featuredImageId: d.id, status: "DRAFT", authorId: editor.user.id }), editor.user);
    const good = await createPost(input({ status: "DRAFT", authorId: editor.user.id }), editor.user);
    const r = await setPostsStatus(
      [
        { id: bad.id, status: "PUBLISHED" },
        { id: good.id, status: "PUBLISHED" },
      ],
      editor.user,
    );
    expect(r.changed).toBe(1);
    expect(r.refused).toEqual([{ id: bad.id, title: bad.title, reason: expect.stringContaining("“d.jpg”") }]);
  });
});

describe("the admin's form and the API", () => {
  it("the change form answers 400 with the message at the body field; a draft saves", async () => {
    const e = await uploaded("form.jpg", author.user.id);
    const page = await author.agent.get(url("admin:blog_post_add")).expect(200);
    const values = formValues(page.text, (f) => f.id === "blog_post_form");
    const form = { ...values, title: "Form post", slug: "", body: `Hello ${img(e)}`, status: "PUBLISHED" } as Record<string, unknown>;
    delete form._csrf;
    const res = await csrfPost(author, url("admin:blog_post_add"), form, 400);
    expect(res.text).toContain("Add alt text to “form.jpg” before publishing");
    expect(await prisma.post.count({ where: { title: "Form post" } })).toBe(0);
    await csrfPost(author, url("admin:blog_post_add"), { ...form, status: "DRAFT" }, 303);
    expect(await prisma.post.count({ where: { title: "Form post", status: "DRAFT" } })).toBe(1);
  });

  it("the API answers a problem with the field", async () => {
    const { user } = await createUser({ role: "AUTHOR" });
    const f = await uploaded("api.jpg", user.id);
    const res = await request(app)
      .post("/api/v1/posts")
      .set("Authorization", `Bearer ${signAccessToken(user)}`)
      .send({ title: "API post", body: `An image: ${img(f)}`, status: "published" });
    expect(res.status, res.text).toBe(400);
    expect(res.headers["content-type"]).toContain("application/problem+json");
    expect(res.body.errors ?? res.body.fields).toMatchObject({ body: expect.stringContaining("“api.jpg”") });
  });
});
