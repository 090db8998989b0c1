// Probes: /healthz (the process answers) and /readyz (it can serve pages: the database answers).
// /readyz says 503 with the same Retry-After as the pages while the database is unavailable
// (src/web/errors.ts), so a load balancer and a reader see the same thing at the same time.
import { Router } from "express";
import { dbReady } from "../db/index.ts";
import { RETRY_AFTER_SECONDS } from "./errors.ts";
import { route } from "./urls.ts";

export const healthRouter = Router();
healthRouter.get(route("health:alive", "/healthz"), (_req, res) => {
  res.set("Cache-Control", "no-store").json({ status: "ok" });
});
healthRouter.get(route("health:ready", "/readyz"), async (_req, res) => {
  const ok = await dbReady();
  res.set("Cache-Control", "no-store");
  if (!ok) res.set("Retry-After", String(RETRY_AFTER_SECONDS));
  res.status(ok ? 200 : 503).json({ status: ok ? "ok" : "unavailable", database: ok });
});
