// The shared input primitives (src/web/inputs.ts) at the edges that use them, through the real app:
// a day and a slug in a reader's URL (a post, a category, a category's feed), a day in the admin's
// date filters. What no stored object can have is the site's 404 (a URL) or a 400 naming the field
// (a filter), before any query; what is well-formed is looked up as before.
import { beforeAll, describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../../src/app.ts";
import { createUser, csrfPost, makeCategory, makePost, signedIn, type Signed } from "../support/fixtures.ts";

const app = buildApp();
let editor: Signed;

beforeAll(async () => {
  const { user } = await createUser({ role: "AUTHOR" });
  const news = await makeCategory("Input News");
  await makePost({ authorId: user.id, title: "Leap day", publish: new Date("2024-02-29T10:00:00Z"), categoryId: news.id });
  editor = await signedIn(app, "EDITOR");
});

const notFound = async (path: string) => {
  const res = await request(app).get(path);
  expect(res.status, path).toBe(404);
  expect(res.text, path).toContain('<p class="error-code">404</p>');
};

describe("a post's address: /blog/YYYY/MM/DD/slug/", () => {
  it("finds the post on its real day", async () => {
    const res = await request(app).get("/blog/2024/02/29/leap-day/").expect(200);
    expect(res.text).toContain("<h1");
    expect(res.text).toContain("Leap day");
  });

  it.each([
    "/blog/2023/02/29/leap-day/", // no such day that year
    "/blog/2024/02/30/leap-day/",
    "/blog/2024/13/01/leap-day/",
    "/blog/2024/00/10/leap-day/",
    "/blog/2024/2/29/leap-day/", // the address is always written with two-digit months
    "/blog/0000/01/01/leap-day/",
    "/blog/2024/02/29/Leap-Day/", // slugs are lower case
    "/blog/2024/02/29/leap--day/",
    "/blog/2024/02/29/-leap-day/",
    "/blog/2024/02/29/leap%20day/",
  ])("%s is the site's 404", notFound);
});

describe("a category's address: /blog/category/<slug>/", () => {
  it("finds the category and its feed by slug", async () => {
    expect((await request(app).get("/blog/category/input-news/").expect(200)).text).toContain("Leap day");
    expect((await request(app).get("/blog/category/input-news/feed/rss/").expect(200)).text).toContain("<title>Leap day</title>");
  });

  it.each([
    "/blog/category/Input-News/",
    "/blog/category/input_news/",
    "/blog/category/input-news-/",
    "/blog/category/INPUT-NEWS/feed/rss/",
    "/blog/tag/a%00b/",
  ])("%s is the site's 404", notFound);
});

describe("the admin's date filters: YYYY-MM-DD of a real day", () => {
  const titles = (html: string) => [...html.matchAll(/class="row-link">([^<]+)</g)].map((m) => m[1]!.trim());

  it("a range over the leap day lists the post", async () => {
    const res = await editor.agent.get("/admin/blog/post/?publish__gte=2024-02-29&publish__lt=2024-03-01").expect(200);
    expect(titles(res.text)).toEqual(["Leap day"]);
    const none = await editor.agent.get("/admin/blog/post/?publish__gte=2024-03-01&publish__lt=2024-03-02").expect(200);
    expect(none.text).not.toContain("Leap day");
    expect(titles(none.text)).toEqual([]);
  });

  it.each(["2023-02-29", "2024-02-30", "2024-13-01", "2024-2-29", "29/02/2024", "0000-01-01"])("publish__gte=%s is a 400 naming the field", async (day) => {
    const res = await editor.agent.get(`/admin/blog/post/?publish__gte=${encodeURIComponent(day)}`).expect(400);
    expect(res.text).toContain("must be a date like 2026-11-21");
  });
});

describe("the admin's way back to the list (next=): a path under the list, as the browser resolves it", () => {
  it("follows the list with its filters; refuses dot segments leaving it, other sites and encoded tricks", async () => {
    const back = async (next: string) =>
      (await csrfPost(editor, "/admin/blog/post/", { action: "publish", _selected_action: [], next }, 303)).headers.location as string;
    expect(await back("/admin/blog/post/?status__exact=DRAFT")).toBe("/admin/blog/post/?status__exact=DRAFT");
    for (const bad of [
      "/admin/blog/post/../../../accounts/logout/",
      "/admin/blog/post/%2e%2e/%2e%2e/",
      "//evil.example/",
      "/\\evil.example/",
      "https://evil.example/admin/blog/post/",
      "/accounts/logout/",
    ]) {
      expect(await back(bad), bad).toBe("/admin/blog/post/");
    }
  });
});
