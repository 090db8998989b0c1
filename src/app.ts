// Builds the Express app. The middleware order, top to bottom, is the request's path through it.
import express from "express";
import compression from "compression";
import { config } from "./config.ts";
import { maskRoutesOf, requestLogger } from "./web/logger.ts";
import { routePaths } from "./web/urls.ts";
import { allowedHosts, parseTrustProxy, securityHeaders } from "./web/security.ts";
import { createTemplateEnv } from "./web/templates.ts";
import { serveStatic } from "./web/static.ts";
import { healthRouter } from "./web/health.ts";
import { errorHandler, notFoundHandler } from "./web/errors.ts";
import { requestLocals } from "./web/locals.ts";
import { blogRouter } from "./blog/routes.ts";
import { csrfErrorHandler } from "./web/csrf.ts";
import { accountsRouter, authPipeline, installAuthTemplateGlobals } from "./accounts/index.ts";
import { authoringRouter } from "./authoring/routes.ts";
import { previewsRouter } from "./previews/routes.ts";
import { discoveryRouter } from "./blog/discovery.ts";
import { adminRouter } from "./admin/routes.ts";
import { autosaveRouter } from "./autosave/routes.ts";
import { buildApiRouter } from "./api/router.ts";
import { pageCache } from "./cache/pages.ts";
import { mediaRouter } from "./media/routes.ts";
import { metricsEndpoint, requestMetrics } from "./metrics/index.ts";
import { databaseRouting } from "./db/replica.ts";

/**
 * Runs `router` only for paths under `prefix` ("/admin/": also "/admin", any letter case, as Express
 * matches routes); other requests go straight on.
 */
function under(prefix: string, router: express.RequestHandler): express.RequestHandler {
  const bare = prefix.slice(0, -1).toLowerCase();
  return (req, res, next) => {
    const p = req.path.slice(0, prefix.length).toLowerCase();
    return p === prefix || p === bare ? router(req, res, next) : next();
  };
}

export function buildApp(): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", parseTrustProxy(config.TRUST_PROXY));
  app.set("query parser", "simple"); // no nested objects from ?a[b]=c
  // No automatic ETag (a SHA-1 of every HTML page): like Django, pages are not conditional by
  // default; feeds and sitemaps, which clients poll, set their own (src/blog/discovery.ts).
  app.set("etag", false);
  const templates = createTemplateEnv(app);
  installAuthTemplateGlobals(templates); // csrf_token()

  maskRoutesOf(routePaths); // log lines mask the secret parameters of the routes (src/web/logger.ts)
  app.use(requestLogger); // request id + access log
  app.use(requestMetrics); // Prometheus: counts and durations by route name (src/metrics/index.ts)
  app.use(metricsEndpoint); // GET /metrics for METRICS_ALLOW addresses or METRICS_TOKEN; others: 404
  if (config.NODE_ENV === "production") app.use(allowedHosts(config.ALLOWED_HOSTS));
  app.use(securityHeaders); // helmet: CSP, HSTS (production), nosniff, Referrer-Policy...
  // gzip HTML, CSS, feeds; a client that accepts no encoding (curl, probes, load tests) skips the
  // middleware's per-response hooks entirely (gzipped responses still say Vary: Accept-Encoding).
  const gzip = compression();
  app.use((req, res, next) => (req.headers["accept-encoding"] ? gzip(req, res, next) : next()));
  app.use(serveStatic); // /static/<hashed name>, immutable
  // Which database this request reads from: the replica for anonymous reader GETs, else the primary (src/db/replica.ts)
  app.use(databaseRouting);
  app.use(under("/media/", mediaRouter)); // uploaded images: /media/<content-hashed key>, immutable; no session
  app.use(healthRouter); // /healthz, /readyz
  // The REST API: its own authentication (bearer token or session + CSRF), JSON bodies and problem+json errors.
  app.use(under("/api/", buildApiRouter()));
  // Anonymous readers' pages, feeds and sitemaps from the shared page cache (src/cache/pages.ts): a hit
  // needs no database query and no session; a miss renders below and is stored on its way out.
  app.use(pageCache);
  app.use(requestLocals); // per-request template context (current path, SEO defaults)
  app.use(authPipeline()); // form bodies, session (only with a cookie), req.user, CSRF check on unsafe methods
  // Feature routers keep their full paths (so route names reverse whole) but are only entered for
  // their own prefix: a reader's request skips their ~80 route layers (a path match each).
  app.use(under("/accounts/", accountsRouter)); // login, logout, sign-up, password change/reset, profile
  app.use(under("/write/", authoringRouter)); // "My posts"; the old editor's addresses, redirected to the one editor (the admin's)
  app.use(under("/preview/", previewsRouter)); // previews of drafts and scheduled posts, share links (never cached)
  app.use(under("/admin/", adminRouter)); // the admin site (registry of model admins; every view asks can())
  app.use(under("/autosave/", autosaveRouter)); // post forms' autosaves, the editor script's session check

  // search, feeds, sitemaps, robots.txt: literal paths, mounted first because blog:post_detail
  // (/blog/:year/:month/:day/:slug/) would otherwise claim /blog/category/<slug>/feed/rss/
  app.use(discoveryRouter);
  app.use(blogRouter); // readers: list, detail, archives, search, feeds, sitemap

  app.use(notFoundHandler);
  app.use(csrfErrorHandler); // 403 page for a missing/wrong CSRF token
  app.use(errorHandler);
  return app;
}
