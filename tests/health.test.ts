import { describe, expect, it } from "vitest";
import request from "supertest";
import { buildApp } from "../src/app.ts";

const app = buildApp();

describe("health endpoints", () => {
  it("/healthz answers ok while the process is alive", async () => {
    const res = await request(app).get("/healthz").expect(200);
    expect(res.body).toEqual({ status: "ok" });
    expect(res.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });
  it("/readyz checks the database", async () => {
    const res = await request(app).get("/readyz").expect(200);
    expect(res.body.database).toBe(true);
  });
  it("keeps a sane incoming request id and replaces a hostile one", async () => {
    expect((await request(app).get("/healthz").set("X-Request-Id", "abc-123")).headers["x-request-id"]).toBe("abc-123");
    expect((await request(app).get("/healthz").set("X-Request-Id", "<script>")).headers["x-request-id"]).not.toContain("<");
  });
  it("answers unknown URLs with the site's 404 page", async () => {
    const res = await request(app).get("/no/such/page").expect(404);
    expect(res.text).toContain("Page not found");
  });
});
