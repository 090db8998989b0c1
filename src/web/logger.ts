import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Request, RequestHandler, Response } from "express";
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
 * This does the same job for that case: the request id, a req.log made only when something logs
 * (a getter on the app's request prototype, installed on its first request, instead of a property
 * defined on every request), and an error line for a 5xx response.
 */
const CHILD = Symbol("folio.requestLog");
type LazyLogRequest = Request & { [CHILD]?: pino.Logger };

/** req.log for the quiet logger: a child logger with the request id, created on first use. */
function installLazyRequestLog(proto: object): void {
  Object.defineProperty(proto, "log", {
    configurable: true,
    get(this: LazyLogRequest) {
      return (this[CHILD] ??= logger.child({ req: { id: this.id, method: this.method, url: this.originalUrl } }));
    },
    set(this: LazyLogRequest, v: pino.Logger) {
      this[CHILD] = v;
    },
  });
}

const STARTED = Symbol("folio.startedAt");
type TimedResponse = Response & { [STARTED]?: number };

function logServerError(this: TimedResponse): void {
  if (this.statusCode >= 500) {
    const responseTime = Date.now() - (this[STARTED] ?? Date.now());
    this.req.log.error({ err: this.err, res: { statusCode: this.statusCode }, responseTime }, "request errored");
  }
}

const withLazyLog = new WeakSet<object>();

const quietRequestLog: RequestHandler = (req, res, next) => {
  const proto = Object.getPrototypeOf(req) as object;
  if (!withLazyLog.has(proto)) {
    installLazyRequestLog(proto);
    withLazyLog.add(proto);
  }
  req.id = requestId(req, res);
  (res as TimedResponse)[STARTED] = Date.now();
  res.once("finish", logServerError);
  next();
};

/** Request logging middleware: full access log at info and below, the quiet variant above. */
export const requestLogger: RequestHandler = logger.isLevelEnabled("info") ? accessLog : quietRequestLog;
