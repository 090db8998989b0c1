import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import { makePost, signedIn } from "../support/fixtures.ts";

const app = buildApp();

describe("admin smoke", () => {
  it("renders every page for an admin", async () => {
    const s = await signedIn(app, "ADMIN");
    const p = await makePost({ authorId: s.user.id, title: "Hello admin", status: "DRAFT" });
    for (const path of ["/admin/", "/admin/blog/post/", "/admin/blog/post/add/", `/admin/blog/post/${p.id}/change/`, `/admin/blog/post/${p.id}/delete/`, `/admin/blog/post/${p.id}/history/`, "/admin/blog/category/", "/admin/blog/category/add/", "/admin/blog/tag/", "/admin/accounts/user/", `/admin/accounts/user/${s.user.id}/change/`, `/admin/accounts/user/${s.user.id}/password/`, "/admin/blog/post/?publish__year=2026", "/admin/blog/post/?publish__year=2026&publish__month=11"]) {
      const res = await s.agent.get(path);
      expect(res.status, `${path}: ${res.text.slice(0, 2000)}`).toBe(200);
    }
  });
});
