import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import { makePost, signedIn } from "../support/fixtures.ts";

const app = buildApp();

describe("admin smoke", () => {
  it("renders every page for an admin", async () => {
    const s = await signedIn(app, "ADMIN");
    const p = await makePost({ authorId: s.user.id, title: "Hello admin", status: "DRAFT" });
    const repr = (text: string) => `<span class="object-repr">${text}</span></h1>`;
    const pages: [string, string][] = [
      ["/admin/", "<h1>Site administration</h1>"],
      ["/admin/blog/post/", "Hello admin"],
      ["/admin/blog/post/add/", "<h1>Add post</h1>"],
      [`/admin/blog/post/${p.id}/change/`, repr("Hello admin")],
      [`/admin/blog/post/${p.id}/delete/`, "<h1>Are you sure?</h1>"],
      [`/admin/blog/post/${p.id}/history/`, repr("Hello admin")],
      ["/admin/blog/category/", "<h1>Categories</h1>"],
      ["/admin/blog/category/add/", "<h1>Add category</h1>"],
      ["/admin/blog/tag/", "<h1>Tags</h1>"],
      ["/admin/accounts/user/", s.user.username],
      [`/admin/accounts/user/${s.user.id}/change/`, repr(s.user.username)],
      [`/admin/accounts/user/${s.user.id}/password/`, repr(s.user.username)],
      ["/admin/blog/post/?publish__year=2026", "<h1>Posts</h1>"],
      ["/admin/blog/post/?publish__year=2026&publish__month=11", "<h1>Posts</h1>"],
    ];
    for (const [path, content] of pages) {
      const res = await s.agent.get(path);
      expect(res.status, `${path}: ${res.text.slice(0, 2000)}`).toBe(200);
      expect(res.text, path).toContain(content);
    }
  });
});
