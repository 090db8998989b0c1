// Tags typed by name (the editor's tag field) are created inside the post's save transaction: a save
// that is refused (stale version, slug taken) or fails part-way leaves no new tag behind.
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import { prisma } from "../../src/db/index.ts";
import * as posts from "../../src/posts/service.ts";
import { url } from "../../src/web/urls.ts";
import { createUser, makePost, makeTag, signedIn } from "../support/fixtures.ts";
import { formBody, formValues } from "../support/html.ts";

const app = buildApp();

const tagCount = (slug: string) => prisma.tag.count({ where: { slug } });

describe("tags created by a failed save are not left behind", () => {
  it("a stale edit in the editor (409) creates none of its new tags", async () => {
    const author = await signedIn(app, "AUTHOR");
    const kept = await makeTag("kept", "kept");
    const post = await makePost({ authorId: author.user.id, title: "Tagged post", body: "Text.", status: "DRAFT", tagIds: [kept.id] });
    const path = url("admin:blog_post_change", { id: post.id });
    const form = formValues((await author.agent.get(path).expect(200)).text, (a) => a.id === "blog_post_form");
    expect(form._version).toBe("1");
    const save = async (over: Record<string, string>) =>
      author.agent
        .post(path)
        .type("form")
        .send(formBody({ ...form, _csrf: await author.session.csrf(), _continue: "1", ...over }));
    expect((await save({ body: "Newer." })).status).toBe(303); // another tab saves first
    const stale = await save({ body: "Older tab.", tags: "orphan-from-stale-save" });
    expect(stale.status).toBe(409);
    expect(await tagCount("orphan-from-stale-save")).toBe(0);
    expect(await tagCount("kept")).toBe(1);
  });

  it("a save refused for a taken slug (create and update) creates none of its new tags", async () => {
    const { user } = await createUser({ role: "AUTHOR" });
    const day = new Date("2026-06-01T10:00:00Z");
    await posts.createPost(
      { title: "Slug owner", slug: "taken-slug", body: "x", status: "PUBLISHED", publish: day, authorId: user.id, categoryId: null },
      user,
    );
    await expect(
      posts.createPost(
        {
          title: "Clash",
          slug: "taken-slug",
          body: "x",
          status: "PUBLISHED",
          publish: day,
          authorId: user.id,
          categoryId: null,
          tagNames: ["orphan-on-create"],
        },
        user,
      ),
    ).rejects.toBeInstanceOf(posts.SlugTakenError);
    expect(await tagCount("orphan-on-create")).toBe(0);

    const other = await posts.createPost(
      { title: "Other", slug: "other", body: "x", status: "DRAFT", publish: day, authorId: user.id, categoryId: null },
      user,
    );
    await expect(
      posts.updatePost(
        other.id,
        other.version,
        { title: "Other", slug: "taken-slug", body: "x", status: "DRAFT", publish: day, authorId: user.id, categoryId: null, tagNames: ["orphan-on-update"] },
        user,
      ),
    ).rejects.toBeInstanceOf(posts.SlugTakenError);
    expect(await tagCount("orphan-on-update")).toBe(0);
    expect((await prisma.post.findUniqueOrThrow({ where: { id: other.id } })).version).toBe(1);
  });

  it("a save that fails after its tags were created rolls them back with it", async () => {
    const { user } = await createUser({ role: "AUTHOR" });
    // the category does not exist: the INSERT of the post fails after the tags were inserted
    await expect(
      posts.createPost(
        { title: "Fails late", body: "x", status: "DRAFT", authorId: user.id, categoryId: 2_000_000_000, tagNames: ["orphan-on-failure"] },
        user,
      ),
    ).rejects.toThrow();
    expect(await tagCount("orphan-on-failure")).toBe(0);
    expect(await prisma.post.count({ where: { title: "Fails late" } })).toBe(0);
  });

  it("two saves creating the same new tag at once share one tag", async () => {
    const { user } = await createUser({ role: "AUTHOR" });
    const save = (title: string) =>
      posts.createPost({ title, body: "x", status: "DRAFT", authorId: user.id, categoryId: null, tagNames: ["Brand New", "brand new"] }, user);
    const [a, b] = await Promise.all([save("Racer A"), save("Racer B")]);
    const tag = await prisma.tag.findUniqueOrThrow({ where: { slug: "brand-new" } });
    expect(tag.name).toBe("Brand New");
    expect(await prisma.postTag.count({ where: { tagId: tag.id, postId: { in: [a.id, b.id] } } })).toBe(2);
  });
});
