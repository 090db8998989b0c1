import { Router } from "express";
import { dbReady } from "../db/index.ts";
import { route } from "./urls.ts";

export const healthRouter = Router();
healthRouter.get(route("health:alive", "/healthz"), (_req, res) => {
  res.set("Cache-Control", "no-store").json({ status: "ok" });
});
healthRouter.get(route("health:ready", "/readyz"), async (_req, res) => {
  const ok = await dbReady();
  res.set("Cache-Control", "no-store").status(ok ? 200 : 503).json({ status: ok ? "ok" : "unavailable", database: ok });
});
