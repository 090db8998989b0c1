import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestHandler } from "express";
import pino from "pino";
import { pinoHttp } from "pino-http";
import { config } from "../config.ts";

export const logger = pino({
  level: config.NODE_ENV === "test" && config.LOG_LEVEL === "info" ? "warn" : config.LOG_LEVEL,
  redact: ["req.headers.cookie", "req.headers.authorization", 'res.headers["set-cookie"]'],
});

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The request's id: a sane incoming X-Request-Id, else a new UUID; echoed in the response. */
function requestId(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers["x-request-id"];
  const id = typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader("X-Request-Id", id);
  return id;
}

/** Access log (one line per request at info) with the request id, echoed in the response. */
const accessLog = pinoHttp({
  logger,
  genReqId: requestId,
  customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? "error" : "info"),
  serializers: {
    req: (req) => ({ id: req.id, method: req.method, url: req.url }),
    res: (res) => ({ statusCode: res.statusCode }),
  },
});

/**
 * Above info (production usually runs at warn) no access line is written for a request that does not
 * fail, yet pino-http still builds two child loggers per request (serialising the request each time).
 * This does the same job for that case: the request id, a req.log made only when something logs, and
 * an error line for a 5xx response.
 */
const quietRequestLog: RequestHandler = (req, res, next) => {
  const id = requestId(req, res);
  req.id = id;
  let child: pino.Logger | undefined;
  Object.defineProperty(req, "log", {
    configurable: true,
    get: () => (child ??= logger.child({ req: { id, method: req.method, url: req.originalUrl } })),
    set: (v: pino.Logger) => (child = v),
  });
  const started = Date.now();
  res.once("finish", () => {
    if (res.statusCode >= 500)
      req.log.error({ err: res.err, res: { statusCode: res.statusCode }, responseTime: Date.now() - started }, "request errored");
  });
  next();
};

/** Request logging middleware: full access log at info and below, the quiet variant above. */
export const requestLogger: RequestHandler = logger.isLevelEnabled("info") ? accessLog : quietRequestLog;
