// Request logging above info (the test and usual production level): request id, no per-request
// child logger unless something logs, an error line for 5xx.
import { afterEach, describe, expect, it, vi } from "vitest";
import express from "express";
import request from "supertest";
import { logger, requestLogger } from "../src/web/logger.ts";
import { captureRequestLogs } from "./support/logs.ts";

function app() {
  const a = express();
  a.use(requestLogger);
  a.get("/ok", (_req, res) => void res.send("ok"));
  a.get("/logs", (req, res) => {
    req.log.warn("something to say");
    res.send("ok");
  });
  a.get("/boom", (_req, res) => void res.status(503).send("down"));
  return a;
}

afterEach(() => vi.restoreAllMocks());

describe("requestLogger above info", () => {
  it("is the quiet variant at the test level (warn)", () => {
    expect(logger.isLevelEnabled("info")).toBe(false);
  });

  it("sets X-Request-Id (keeping a sane incoming one) without building a child logger", async () => {
    const child = vi.spyOn(logger, "child");
    const res = await request(app()).get("/ok");
    expect(res.status).toBe(200);
    expect(res.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect((await request(app()).get("/ok").set("X-Request-Id", "abc.123")).headers["x-request-id"]).toBe("abc.123");
    expect((await request(app()).get("/ok").set("X-Request-Id", "bad id <x>")).headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(child).not.toHaveBeenCalled();
  });

  it("builds req.log on first use, bound to the request id", async () => {
    const child = vi.spyOn(logger, "child");
    const res = await request(app()).get("/logs?x=1").set("X-Request-Id", "req-42");
    expect(res.status).toBe(200);
    expect(child).toHaveBeenCalledTimes(1);
    expect(child.mock.calls[0]![0]).toEqual({ req: { id: "req-42", method: "GET", url: "/logs?x=1" } });
  });

  it("logs a 5xx response at error", async () => {
    const errors = captureRequestLogs("error");
    const res = await request(app()).get("/boom");
    expect(res.status).toBe(503);
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    expect(errors[0]![0]).toMatchObject({ res: { statusCode: 503 } });
    expect(errors[0]![1]).toBe("request errored");
  });
});
