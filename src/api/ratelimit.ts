// API rate limits: every request under /api/ counts against its client address (policy "ip",
// API_RATE_LIMIT_IP per minute) and, when the caller is authenticated (bearer token or session),
// against that user too (policy "user", API_RATE_LIMIT_USER per minute, whatever address it comes
// from). Two middlewares, mounted in src/api/router.ts around authentication: the address's lane
// BEFORE it (a request over that limit is refused without the database being read: no token user, no
// session; so guessing tokens is limited like anything else), the user's lane AFTER it (the user must be
// known). A request whose authentication then fails (401 bad token, 403 bad CSRF token of a signed-in
// session) has counted against its address, and against the session's user when there is one.
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
// Store: with REDIS_URL, RateLimiterRedis on the process's Redis connection (src/cache/redis.ts; keys
// "<prefix>rl:api_<policy>_<quota>:<key>", one Lua INCR per request): the limits count across every process and
// host, and survive a restart of the app. Its insuranceLimiter is a RateLimiterMemory of the same policy:
// while Redis is unreachable (commands fail fast, or rejectIfRedisNotReady refuses them without a round
// trip) each process counts on its own, as without Redis, and no request fails because of the limiter.
// Without REDIS_URL, that RateLimiterMemory alone: counting costs a Map lookup (no database round trip on
// every API call: the bench requires the API to cost no more CPU per request than the HTML pages, and a
// PostgreSQL store would add a write to every read). The price: limits are per process, so with
// WEB_CONCURRENCY=N a client may get up to N times the limit (a keep-alive connection stays on one worker,
// so a single client mostly sees the limit as configured), and counts start afresh on a restart. Login
// and token throttling (brute force) is separate and shared: src/accounts/throttle.ts on PostgreSQL.
//
// Settings are read on each request: changing config.API_RATE_LIMIT_* (tests) takes effect at once,
// with fresh counts for that policy.
import type { ErrorRequestHandler, Request, RequestHandler, Response } from "express";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { config } from "../config.ts";
import { redisClient, redisPrefix } from "../cache/redis.ts";
import { ApiProblem, sendProblem } from "./problem.ts";

const WINDOW_SECONDS = 60;

type Policy = "ip" | "user";

const limiters = new Map<Policy, { quota: number; limiter: RateLimiterAbstract }>();

function limiterFor(policy: Policy, quota: number): RateLimiterAbstract {
  const current = limiters.get(policy);
  if (current?.quota === quota) return current.limiter;
  const memory = new RateLimiterMemory({ keyPrefix: `api_${policy}`, points: quota, duration: WINDOW_SECONDS });
  const redis = config.REDIS_URL ? redisClient() : undefined;
  const limiter = redis
    ? new RateLimiterRedis({
        storeClient: redis,
        useRedisPackage: true,
        rejectIfRedisNotReady: true,
        keyPrefix: `${redisPrefix()}rl:api_${policy}_${quota}`, // a new quota: fresh counts, as in memory
        points: quota,
        duration: WINDOW_SECONDS,
        insuranceLimiter: memory,
      })
    : memory;
  limiters.set(policy, { quota, limiter });
  return limiter;
}

/**
 * The rate-limit key of a client address: an IPv4 address as is (also when IPv4-mapped, ::ffff:a.b.c.d),
 * an IPv6 address as its /64 network.
 */
export function clientKey(ip: string | undefined): string {
  if (!ip) return "unknown";
  if (!ip.includes(":")) return ip.slice(0, 64);
  // a dotted quad at the end (::ffff:192.0.2.7) is the last two groups
  const addr = ip
    .split("%")[0]!
    .toLowerCase()
    .replace(/(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/, (_m, a: string, b: string, c: string, d: string) => {
      const group = (x: string, y: string) => ((Number(x) << 8) + Number(y)).toString(16);
      return `${group(a, b)}:${group(c, d)}`;
    });
  const [head = "", tail] = addr.split("::", 2);
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  // IPv4-mapped (::ffff:0:0/96, in either notation): the IPv4 address, not the one /64 they all share
  const n = groups.map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : NaN));
  if (n.length === 8 && n.slice(0, 5).every((x) => x === 0) && n[5] === 0xffff) return [n[6]! >> 8, n[6]! & 255, n[7]! >> 8, n[7]! & 255].join(".");
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

/** Sets the RateLimit headers from the lanes counted; a 429 problem when one of them is exceeded. */
function report(res: Response, counted: Counted[]): ApiProblem | null {
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

const ADDRESS_LANE = Symbol("folio.api.addressLane");
type WithLane = Request & { [ADDRESS_LANE]?: Counted };

/** The address's lane, before authentication: over its limit, a 429 and nothing else is done. */
const countAddress: RequestHandler = (req, res, next) => {
  consume("ip", config.API_RATE_LIMIT_IP, clientKey(req.ip)).then((lane) => {
    (req as WithLane)[ADDRESS_LANE] = lane;
    const problem = report(res, [lane]);
    if (problem) sendProblem(req, res, problem);
    else next();
  }, next);
};

/** The user's lane (when authentication found one), reported with the address's: null, or the 429. */
async function countUser(req: Request, res: Response): Promise<ApiProblem | null> {
  const address = (req as WithLane)[ADDRESS_LANE];
  if (!req.user || !address) return null;
  return report(res, [address, await consume("user", config.API_RATE_LIMIT_USER, String(req.user.id))]);
}

const countUserRequest: RequestHandler = (req, res, next) => {
  countUser(req, res).then((problem) => (problem ? sendProblem(req, res, problem) : next()), next);
};

/** A signed-in session whose CSRF check failed counts against its user too; over the limit, the 429 takes the error's place. */
const countFailedUserRequest: ErrorRequestHandler = (err, req, res, next) => {
  countUser(req, res).then(
    (problem) => next(problem ?? err),
    () => next(err),
  );
};

/** Mount BEFORE apiAuthentication: r.use(apiRateLimitByAddress). */
export const apiRateLimitByAddress: RequestHandler = countAddress;

/** Mount right after apiAuthentication: r.use(apiRateLimitByUser). */
export const apiRateLimitByUser: [RequestHandler, ErrorRequestHandler] = [countUserRequest, countFailedUserRequest];
