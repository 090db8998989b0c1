// The editor's live slug check (/admin/blog/post/slug-check/) does not tell an author about another
// author's unpublished posts: such a clash answers exactly like a free slug. Published posts (public
// anyway) and the author's own posts are reported; editors, who see every post, are told everything.
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import { makePost, type Signed, signedIn } from "../support/fixtures.ts";

const app = buildApp();
let author: Signed;
let other: Signed;
let editor: Signed;
const DAY = "2026-03-03";
const at = (h: number) => new Date(`${DAY}T${String(h).padStart(2, "0")}:00:00Z`);

beforeAll(async () => {
  [author, other, editor] = await Promise.all([signedIn(app, "AUTHOR"), signedIn(app, "AUTHOR"), signedIn(app, "EDITOR")]);
  await makePost({ authorId: other.user.id, title: "Their draft", slug: "their-draft", status: "DRAFT", publish: at(9) });
  await makePost({
    authorId: other.user.id,
    title: "Their scheduled",
    slug: "their-scheduled",
    status: "PUBLISHED",
    publish: new Date(Date.now() + 30 * 86_400_000),
  });
  await makePost({ authorId: other.user.id, title: "Their published", slug: "their-published", status: "PUBLISHED", publish: at(8) });
  await makePost({ authorId: author.user.id, title: "My draft", slug: "my-draft", status: "DRAFT", publish: at(7) });
});

async function check(who: Signed, slug: string, when = `${DAY}T12:00`) {
  const res = await who.agent.get(`/admin/blog/post/slug-check/?slug=${slug}&publish=${encodeURIComponent(when)}`).expect(200);
  return res.body as { ok: boolean; message: string };
}

describe("slug check for an author", () => {
  it("answers another author's draft or scheduled post exactly like a free slug", async () => {
    const free = await check(author, "nobody-uses-this");
    expect(free).toEqual({ ok: true, message: `No post you can see uses it on ${DAY}.` });
    expect(await check(author, "their-draft")).toEqual(free);
    const scheduledDay = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    expect(await check(author, "their-scheduled", `${scheduledDay}T12:00`)).toEqual(await check(author, "nobody-uses-this", `${scheduledDay}T12:00`));
  });

  it("reports a published post and the author's own posts", async () => {
    expect(await check(author, "their-published")).toEqual({ ok: false, message: `Already used by another post published on ${DAY}.` });
    expect(await check(author, "my-draft")).toEqual({ ok: false, message: `Already used by another post published on ${DAY}.` });
  });
});

describe("slug check for an editor", () => {
  it("reports every clash (editors see every post)", async () => {
    expect((await check(editor, "their-draft")).ok).toBe(false);
    expect(await check(editor, "nobody-uses-this")).toEqual({ ok: true, message: `Available on ${DAY}.` });
  });
});
