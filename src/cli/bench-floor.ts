// The floor under the reader pages' figures on this machine, for `npm run bench` (scenario "floor"):
// Express 5 and the pg pool with nothing of Folio's: no middleware, no template, no session. Each
// request runs one prepared query (the newest 11 published posts' ids, as a list page's index scan
// does) and sends a fixed HTML body of FLOOR_BODY_BYTES (a list page's size). Same cluster set-up
// as the real server (WEB_CONCURRENCY workers). What it measures is what the machine gives any
// Express + PostgreSQL app under the bench's load; the pages' figures sit on top of it.
import cluster from "node:cluster";
import os from "node:os";
import express from "express";
import pg from "pg";

const workers = Number(process.env.WEB_CONCURRENCY ?? os.availableParallelism());
const bytes = Number(process.env.FLOOR_BODY_BYTES ?? 16_384);

if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i++) cluster.fork();
  process.on("SIGTERM", () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill("SIGTERM");
    process.exit(0);
  });
} else {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
  const body = `<!doctype html><html lang="en"><title>floor</title><body><p>${"x".repeat(Math.max(0, bytes - 80))}</p></body></html>`;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.get("/readyz", (_req, res) => void res.json({ status: "ok" }));
  app.get("/floor", async (_req, res) => {
    const { rows } = await pool.query({
      name: "floor",
      text: `SELECT id FROM "Post" WHERE status = 'PUBLISHED' AND publish <= now() ORDER BY publish DESC, id DESC LIMIT 11`,
    });
    res.type("html").set("X-Rows", String(rows.length)).send(body);
  });
  const server = app.listen(Number(process.env.PORT), process.env.HOST ?? "127.0.0.1");
  process.on("SIGTERM", () => server.close(() => void pool.end().then(() => process.exit(0))));
}
