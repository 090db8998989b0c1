// Prometheus metrics (prom-client): GET /metrics, restricted to METRICS_ALLOW addresses or METRICS_TOKEN.
// Groundwork stub: the metrics engineer fills it in (request counts and durations by route name, cache
// hits and misses, job queue depth and failures, database pool use).
import type { RequestHandler } from "express";

/** Times every request and counts it under its route name once it has been answered. */
export const requestMetrics: RequestHandler = (_req, _res, next) => next();

/** GET /metrics for allowed clients; everyone else goes on (and gets the 404 page). */
export const metricsEndpoint: RequestHandler = (_req, _res, next) => next();
