// Previews of drafts and scheduled posts (src/previews) through the real app: who may see the preview
// (can(u, "post.view")), that it is the reader's post page marked as a preview, its private headers
// (noindex, no-store, no Referer) and that the page cache never stores it (PAGE_CACHE on); share links:
// valid, expired, forged, revoked, regenerated, for a published post, hostile tokens (404, never 500);
// making and revoking links (CSRF, post.change, audit entry, no new version or revision).
import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { config } from "../../src/config.ts";
import { postUrl } from "../../src/blog/queries.ts";
import { newPreviewKey, previewContext, shareLink, tokenOpens } from "../../src/previews/index.ts";
import { url } from "../../src/web/urls.ts";
import { csrfPost, inHours, makePost, prisma, signedIn, type Signed } from "../support/fixtures.ts";

(config as { PAGE_CACHE: boolean }).PAGE_CACHE = true;
const app = buildApp();

let author: Signed;
let otherAuthor: Signed;
let editor: Signed;
let reader: Signed;
let draft: { id: number; title: string; version: number };
let scheduled: { id: number; title: string; publish: Date };
let live: { id: number; slug: string; publish: Date };

beforeAll(async () => {
  author = await signedIn(app, "AUTHOR");
  otherAuthor = await signedIn(app, "AUTHOR");
  editor = await signedIn(app, "EDITOR");
  reader = await signedIn(app, "READER");
  draft = await makePost({ authorId: author.user.id, title: "A secret draft", body: "Draft **words** here.", status: "DRAFT" });
  scheduled = await makePost({ authorId: author.user.id, title: "Coming soon", status: "SCHEDULED", publish: inHours(48) });
  live = await makePost({ authorId: author.user.id, title: "Already live" });
});

const previewPath = (id: number) => url("previews:post", { id });

/** Makes a share link through the form, returns its absolute URL (as the editor's panel shows it) and path. */
async function share(s: Signed, id: number): Promise<{ href: string; path: string }> {
  await csrfPost(s, url("previews:share_new", { id }), {}, 303);
  const ctx = await previewContext({ ...s.user, isActive: true }, { id });
  expect(ctx?.shareUrl).toMatch(/^http:\/\/folio\.test\/preview\/\d+\/s\/[A-Za-z0-9_-]{43}\/$/);
  return { href: ctx!.shareUrl!, path: new URL(ctx!.shareUrl!).pathname };
}

function expectPrivate(res: request.Response) {
  expect(res.headers["cache-control"]).toBe("private, no-store");
  expect(res.headers["x-robots-tag"]).toBe("noindex");
  expect(res.headers["referrer-policy"]).toBe("no-referrer");
  expect(res.headers["x-cache"]).toBeUndefined(); // never looked up in, nor stored by, the page cache
}

describe("the writer's preview", () => {
  it("shows the draft as the reader's post page, marked as a preview, noindex, private", async () => {
    const res = await author.agent.get(previewPath(draft.id)).expect(200);
    expectPrivate(res);
    expect(res.text).toContain("Preview:");
    expect(res.text).toContain("this draft is not public");
    expect(res.text).toContain('<meta name="robots" content="noindex">');
    expect(res.text).toContain("<strong>words</strong>"); // the stored rendered body
    expect(res.text).toMatch(/<h1 class="post-title">A secret draft<\/h1>/); // the reader's template
    expect(res.text).toContain(`href="${url("admin:blog_post_change", { id: draft.id })}"`); // back to the editor
  });

  it("says when a scheduled post goes live", async () => {
    const res = await author.agent.get(previewPath(scheduled.id)).expect(200);
    expect(res.text).toContain("scheduled for");
    expect(res.text).toContain(`datetime="${scheduled.publish.toISOString()}"`);
  });

  it("a live post's preview is its public page", async () => {
    const res = await author.agent.get(previewPath(live.id)).expect(302);
    expect(res.headers.location).toBe(postUrl(live));
  });

  it("per role: the author and editors see it; another author and readers get 404; anonymous users the login page", async () => {
    await editor.agent.get(previewPath(draft.id)).expect(200);
    await otherAuthor.agent.get(previewPath(draft.id)).expect(404);
    await reader.agent.get(previewPath(draft.id)).expect(404);
    const anon = await request(app).get(previewPath(draft.id)).expect(302);
    expect(anon.headers.location).toBe(url("accounts:login", {}, { next: previewPath(draft.id) }));
    await author.agent.get(previewPath(999999)).expect(404);
  });

  it("hostile ids are 404s", async () => {
    for (const id of ["0", "-1", "abc", "1e3", "99999999999999999999", "%00"]) await author.agent.get(`/preview/${id}/`).expect(404);
  });

  it("is never stored by the page cache (PAGE_CACHE on), even for anonymous share links", async () => {
    const { path } = await share(author, draft.id);
    for (let i = 0; i < 3; i++) expectPrivate(await request(app).get(path).expect(200));
    const before = (await author.agent.get(previewPath(draft.id))).text;
    await prisma.post.update({ where: { id: draft.id }, data: { title: "A secret draft, retitled" } });
    expect(before).not.toContain("retitled");
    expect((await request(app).get(path).expect(200)).text).toContain("A secret draft, retitled"); // fresh every time
    expect((await author.agent.get(previewPath(draft.id)).expect(200)).text).toContain("A secret draft, retitled");
    await prisma.post.update({ where: { id: draft.id }, data: { title: "A secret draft" } });
  });
});

describe("share links", () => {
  it("open the preview for anyone, without an account", async () => {
    const { path } = await share(author, draft.id);
    const res = await request(app).get(path).expect(200);
    expectPrivate(res);
    expect(res.text).toContain("this draft is not public");
    expect(res.text).toContain("Shared with you through a preview link");
    expect(res.text).not.toContain(url("admin:blog_post_change", { id: draft.id })); // no editor link for reviewers
  });

  it("a new link voids the old one; revoking voids every link", async () => {
    const first = await share(author, draft.id);
    const second = await share(author, draft.id);
    expect(second.path).not.toBe(first.path);
    await request(app).get(first.path).expect(404);
    await request(app).get(second.path).expect(200);
    await csrfPost(author, url("previews:share_revoke", { id: draft.id }), {}, 303);
    await request(app).get(second.path).expect(404);
    expect((await prisma.post.findUniqueOrThrow({ where: { id: draft.id } })).previewKey).toBe("");
    expect((await previewContext({ ...author.user, isActive: true }, { id: draft.id }))?.shareUrl).toBeNull();
  });

  it("expired, forged, or for another post: the same 404 page as a post that does not exist", async () => {
    const { path } = await share(author, draft.id);
    const token = path.split("/")[4]!;
    const forged = `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`;
    const notFoundText = (await request(app).get(`/preview/999999/s/${token}/`).expect(404)).text;
    expect(notFoundText).toContain("This preview link does not work.");
    for (const p of [`/preview/${draft.id}/s/${forged}/`, `/preview/${scheduled.id}/s/${token}/`]) {
      const res = await request(app).get(p).expect(404);
      expect(res.text).toContain("This preview link does not work.");
      expect(res.headers["referrer-policy"]).toBe("no-referrer");
    }
    // expired: a key whose time has passed (stored as the link-maker would, with a past expiry)
    const past = newPreviewKey(Date.now() - (config.PREVIEW_LINK_DAYS + 1) * 86_400_000);
    const expiredToken = new URL(shareLink({ id: draft.id, previewKey: past }, 0)!.url).pathname.split("/")[4]!;
    await prisma.post.update({ where: { id: draft.id }, data: { previewKey: past } });
    expect(tokenOpens({ id: draft.id, previewKey: past }, expiredToken, 0)).toBe(true); // it was valid then
    await request(app).get(`/preview/${draft.id}/s/${expiredToken}/`).expect(404);
    expect(shareLink({ id: draft.id, previewKey: past })).toBeNull(); // the editor no longer shows it
  });

  it("a link made before the post was published sends reviewers to its public page (302: not a permanent move, it may be unpublished again)", async () => {
    const post = await makePost({ authorId: author.user.id, title: "Soon published", status: "DRAFT" });
    const { path } = await share(author, post.id);
    const stored = await prisma.post.findUniqueOrThrow({ where: { id: post.id } });
    await prisma.post.update({ where: { id: post.id }, data: { status: "PUBLISHED", publish: new Date(Date.now() - 60_000) } });
    const res = await request(app).get(path).expect(302);
    const now = await prisma.post.findUniqueOrThrow({ where: { id: post.id } });
    expect(res.headers.location).toBe(postUrl(now));
    expect(stored.previewKey).not.toBe("");
  });

  it("hostile tokens and ids answer 404, never 500", async () => {
    const bad = ["x", "%00", "..", "A".repeat(43), "A".repeat(44), "A".repeat(5000), "%F0%9F%98%80", "a%2Fb", "<script>"];
    for (const t of bad) {
      const res = await request(app).get(`/preview/${draft.id}/s/${t}/`);
      expect(res.status, t).toBe(404);
    }
    for (const id of ["0", "abc", "1.5", "99999999999"])
      await request(app)
        .get(`/preview/${id}/s/${"A".repeat(43)}/`)
        .expect(404);
  });

  it("only writers who may change the post make or revoke links; CSRF needed; an audit entry, no new version", async () => {
    await csrfPost(otherAuthor, url("previews:share_new", { id: draft.id }), {}, 404);
    await csrfPost(reader, url("previews:share_new", { id: draft.id }), {}, 404);
    await csrfPost(otherAuthor, url("previews:share_revoke", { id: draft.id }), {}, 404);
    await author.agent
      .post(url("previews:share_new", { id: draft.id }))
      .type("form")
      .send({})
      .expect(403); // no CSRF token
    await request(app)
      .post(url("previews:share_new", { id: draft.id }))
      .type("form")
      .send({})
      .expect(403);
    const before = await prisma.post.findUniqueOrThrow({ where: { id: draft.id }, include: { revisions: true } });
    const res = await csrfPost(editor, url("previews:share_new", { id: draft.id }), { next: "/write/posts/" }, 303);
    expect(res.headers.location).toBe("/write/posts/");
    const after = await prisma.post.findUniqueOrThrow({ where: { id: draft.id }, include: { revisions: true } });
    expect(after.previewKey).not.toBe(before.previewKey);
    expect(after.version).toBe(before.version);
    expect(after.updatedAt.getTime()).toBe(before.updatedAt.getTime());
    expect(after.revisions).toHaveLength(before.revisions.length);
    const audit = await prisma.auditLog.findFirstOrThrow({
      where: { model: "blog.post", objectId: String(draft.id), userId: editor.user.id },
      orderBy: { id: "desc" },
    });
    expect(audit.changes).toMatchObject({ note: expect.stringContaining("New preview link") });
    // an offsite `next` is ignored
    const off = await csrfPost(author, url("previews:share_new", { id: draft.id }), { next: "https://evil.example/" }, 303);
    expect(off.headers.location).toBe(url("admin:blog_post_change", { id: draft.id }));
  });

  it("the editor says so after making a link (once), with the link", async () => {
    await csrfPost(author, url("previews:share_new", { id: draft.id }), {}, 303);
    const link = (await previewContext({ ...author.user, isActive: true }, { id: draft.id }))!.shareUrl!;
    const page = await author.agent.get(url("admin:blog_post_change", { id: draft.id })).expect(200);
    expect(page.text).toContain(`New preview link for “A secret draft”: ${link}`);
    expect((await author.agent.get(url("admin:blog_post_change", { id: draft.id })).expect(200)).text).not.toContain("New preview link for");
  });
});

describe("the editor's panel and the share page", () => {
  it("the editor shows the panel: Preview for a draft, View on site for a live post", async () => {
    const d = await author.agent.get(url("admin:blog_post_change", { id: draft.id })).expect(200);
    expect(d.text).toContain("data-preview-panel");
    expect(d.text).toContain(`href="${previewPath(draft.id)}"`);
    const l = await author.agent.get(url("admin:blog_post_change", { id: live.id })).expect(200);
    expect(l.text).toContain(`href="${postUrl(live)}" target="_blank" rel="noopener">View on site`);
  });

  it("the panel's script makes and revokes links with JSON answers (CSRF header)", async () => {
    const post = async (s: Signed, path: string) =>
      s.agent
        .post(path)
        .set("Accept", "application/json")
        .set("X-CSRF-Token", await s.session.csrf());
    const made = await post(author, url("previews:share_new", { id: scheduled.id }));
    expect(made.status).toBe(200);
    expect(made.body.shareUrl).toMatch(new RegExp(`/preview/${scheduled.id}/s/[A-Za-z0-9_-]{43}/$`));
    expect(made.body.expires).toMatch(/\d{4}/);
    await request(app).get(new URL(made.body.shareUrl).pathname).expect(200);
    const revoked = await post(author, url("previews:share_revoke", { id: scheduled.id }));
    expect(revoked.body).toEqual({ shareUrl: null });
    await request(app).get(new URL(made.body.shareUrl).pathname).expect(404);
    const refused = await post(otherAuthor, url("previews:share_new", { id: scheduled.id }));
    expect(refused.status).toBe(404);
    expect(refused.headers["content-type"]).toContain("application/problem+json");
  });

  it("the share page (without JavaScript): make, see, revoke", async () => {
    const page = url("previews:share_new", { id: scheduled.id });
    expect((await author.agent.get(page).expect(200)).text).toContain("Make a preview link");
    await otherAuthor.agent.get(page).expect(404);
    await request(app).get(page).expect(302);
    await csrfPost(author, page, { next: page }, 303);
    const shown = await author.agent.get(page).expect(200);
    const link = (await previewContext({ ...author.user, isActive: true }, { id: scheduled.id }))!.shareUrl!;
    expect(shown.text).toContain(`value="${link}"`);
    expect(shown.text).toContain("New preview link for"); // the flash, shown here
    expect(shown.headers["referrer-policy"]).toBe("no-referrer");
  });
});

describe("previewContext (the editor's panel)", () => {
  it("a new post: nothing; a live post: View on site, no sharing; a draft: preview and share URLs", async () => {
    const me = { ...author.user, isActive: true };
    expect(await previewContext(me, null)).toBeNull();
    const l = await previewContext(me, { id: live.id });
    expect(l).toMatchObject({ liveUrl: postUrl(live), canShare: false, shareUrl: null });
    const d = await previewContext(me, { id: scheduled.id });
    expect(d).toMatchObject({ previewUrl: previewPath(scheduled.id), liveUrl: null, canShare: true, linkDays: config.PREVIEW_LINK_DAYS });
    expect(await previewContext({ ...otherAuthor.user, isActive: true }, { id: scheduled.id })).toBeNull();
  });

  it("the share link works until PREVIEW_LINK_DAYS from its making", async () => {
    const made = Date.now();
    await csrfPost(author, url("previews:share_new", { id: scheduled.id }), {}, 303);
    const ctx = (await previewContext({ ...author.user, isActive: true }, { id: scheduled.id }))!;
    const days = (ctx.shareExpiresAt!.getTime() - made) / 86_400_000;
    expect(days).toBeGreaterThan(config.PREVIEW_LINK_DAYS - 0.01);
    expect(days).toBeLessThan(config.PREVIEW_LINK_DAYS + 0.01);
  });
});
