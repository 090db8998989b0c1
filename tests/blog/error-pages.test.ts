// The site's error pages: 404 and 400 through the real app, and the 500 page rendered by the real
// error handler and templates for a handler that throws (no stack trace outside development).
import { describe, expect, it } from "vitest";
import request from "supertest";
import express from "express";
import { buildApp } from "../../src/app.ts";
import { createTemplateEnv } from "../../src/web/templates.ts";
import { errorHandler } from "../../src/web/errors.ts";
import { requestLocals } from "../../src/web/locals.ts";
import "../../src/blog/routes.ts";
import "../../src/blog/discovery.ts";

describe("error pages", () => {
  it("404 is the styled site page, noindex, with a way back", async () => {
    const res = await request(buildApp()).get("/definitely/not/here/").expect(404);
    expect(res.headers["content-type"]).toMatch(/text\/html/);
    expect(res.text).toContain('<p class="error-code">404</p>');
    expect(res.text).toContain('<meta name="robots" content="noindex">');
    expect(res.text).toContain('href="/blog/">Back to the blog</a>');
    expect(res.text).toContain("<title>Page not found · Folio</title>");
  });

  it("a malformed percent-encoding in a path is a 400 or 404 site page", async () => {
    const res = await request(buildApp()).get("/blog/tag/%E0%A4%A/");
    expect([400, 404]).toContain(res.status);
    expect(res.text).toContain('class="error-code"');
  });

  it("500 renders the styled page without a stack trace outside development", async () => {
    const app = express();
    createTemplateEnv(app);
    app.use(requestLocals);
    app.get("/boom", () => {
      throw new Error("secret internal detail at /work/main/src/x.ts:1");
    });
    app.use(errorHandler);
    const res = await request(app).get("/boom").expect(500);
    expect(res.text).toContain('<p class="error-code">500</p>');
    expect(res.text).toContain("Something went wrong");
    expect(res.text).not.toContain("secret internal detail");
    expect(res.text).not.toContain('class="stack"');
    expect(res.text).toContain('<meta name="robots" content="noindex">');
  });
});
