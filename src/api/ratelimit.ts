// API rate limits: every request under /api/ counts against its client address (policy "ip",
// API_RATE_LIMIT_IP per minute) and, when the caller is authenticated (bearer token or session),
// against that user too (policy "user", API_RATE_LIMIT_USER per minute, whatever address it comes
// from). Mounted in src/api/router.ts right after authentication (so the user is known); a request
// whose authentication failed (401 for a bad token, 403 for a bad CSRF token) still counts against its
// address, so guessing tokens is limited like anything else.
//
// Headers, after the IETF draft "RateLimit header fields for HTTP" (draft-ietf-httpapi-ratelimit-headers,
// revisions 11-12: Structured Field Lists whose items are Strings naming the policy), on every API answer:
//   RateLimit-Policy: "ip";q=600;w=60                      (anonymous: the policy that applies)
//   RateLimit-Policy: "ip";q=600;w=60, "user";q=1200;w=60  (authenticated: both apply)
//   RateLimit: "ip";r=599;t=42                             (the most restrictive of them: the fewest
//                                                           requests left; r left, t seconds to reset)
// A request over a limit is answered 429 problem+json with Retry-After (seconds until the exceeded
// window resets, the same moment as RateLimit's t) and is not handled.
//
// Windows are fixed, 60 seconds from a key's first request (rate-limiter-flexible's semantics).
// The client address is req.ip (TRUST_PROXY decides whether X-Forwarded-For is believed); an IPv6
// address counts as its /64 network (one subscriber's allocation, whose addresses are free to rotate).
//
// Store: RateLimiterMemory, one per process. Counting costs a Map lookup (no database round trip on
// every API call: the bench requires the API to cost no more CPU per request than the HTML pages,
// and a PostgreSQL store would add a write to every read). The price: limits are per process, so
// with WEB_CONCURRENCY=N a client may get up to N times the limit (a keep-alive connection stays on
// one worker, so a single client mostly sees the limit as configured), and counts start afresh on a
// restart. A shared store (Redis, issue 13) makes them exact across processes and machines: swap
// the limiter built in limiterFor() for RateLimiterRedis. Login and token throttling (brute force)
// is separate and shared: src/accounts/throttle.ts on PostgreSQL.
//
// Settings are read on each request: changing config.API_RATE_LIMIT_* (tests) takes effect at once,
// with fresh counts for that policy.
import type { ErrorRequestHandler, Request, RequestHandler, Response } from "express";
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import { config } from "../config.ts";
import { ApiProblem, sendProblem } from "./problem.ts";

const WINDOW_SECONDS = 60;

type Policy = "ip" | "user";

const limiters = new Map<Policy, { quota: number; limiter: RateLimiterMemory }>();

function limiterFor(policy: Policy, quota: number): RateLimiterMemory {
  const current = limiters.get(policy);
  if (current?.quota === quota) return current.limiter;
  const limiter = new RateLimiterMemory({ keyPrefix: `api_${policy}`, points: quota, duration: WINDOW_SECONDS });
  limiters.set(policy, { quota, limiter });
  return limiter;
}

/**
 * The rate-limit key of a client address: an IPv4 address as is (also when IPv4-mapped, ::ffff:a.b.c.d),
 * an IPv6 address as its /64 network.
 */
export function clientKey(ip: string | undefined): string {
  if (!ip) return "unknown";
  const v4 = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (v4) return v4[1]!;
  if (!ip.includes(":")) return ip.slice(0, 64);
  const [head = "", tail] = ip.split("%")[0]!.toLowerCase().split("::", 2);
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

interface Counted {
  policy: Policy;
  quota: number;
  res: RateLimiterRes;
  over: boolean;
}

async function consume(policy: Policy, quota: number, key: string): Promise<Counted> {
  try {
    return { policy, quota, res: await limiterFor(policy, quota).consume(key), over: false };
  } catch (e) {
    if (e instanceof RateLimiterRes) return { policy, quota, res: e, over: true };
    throw e;
  }
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** Counts the request in its lanes, sets the RateLimit headers; a 429 problem when a limit is exceeded. */
async function count(req: Request, res: Response): Promise<ApiProblem | null> {
  const lanes = [consume("ip", config.API_RATE_LIMIT_IP, clientKey(req.ip))];
  if (req.user) lanes.push(consume("user", config.API_RATE_LIMIT_USER, String(req.user.id)));
  const counted = await Promise.all(lanes);
  res.setHeader("RateLimit-Policy", counted.map((c) => `"${c.policy}";q=${c.quota};w=${WINDOW_SECONDS}`).join(", "));
  // The most restrictive: fewest requests left, then the longest wait.
  const left = (c: Counted) => Math.max(0, c.quota - c.res.consumedPoints);
  const worst = counted.reduce((a, b) => (left(b) < left(a) || (left(b) === left(a) && b.res.msBeforeNext > a.res.msBeforeNext) ? b : a));
  const reset = seconds(worst.res.msBeforeNext);
  res.setHeader("RateLimit", `"${worst.policy}";r=${left(worst)};t=${reset}`);
  const over = counted.filter((c) => c.over);
  if (!over.length) return null;
  // Over a limit, the most restrictive lane has none left, and the client must wait for the latest
  // reset among the exhausted lanes: exactly that lane's t.
  const wait = reset;
  const who = over.some((c) => c.policy === "user") ? "for your account" : "from your address";
  return new ApiProblem(429, `Too many requests ${who}: try again in ${wait} seconds.`, {}, { "Retry-After": String(wait) });
}

const countRequest: RequestHandler = (req, res, next) => {
  count(req, res).then((problem) => (problem ? sendProblem(req, res, problem) : next()), next);
};

/** A request whose authentication failed counts too; over the limit, the 429 takes the error's place. */
const countFailedRequest: ErrorRequestHandler = (err, req, res, next) => {
  count(req, res).then(
    (problem) => next(problem ?? err),
    () => next(err),
  );
};

/** Mount right after apiAuthentication: r.use(apiRateLimit). */
export const apiRateLimit: [RequestHandler, ErrorRequestHandler] = [countRequest, countFailedRequest];
