// Every setting, parsed and validated once. Nothing else reads process.env.
import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { z } from "zod";

const bool = z.enum(["true", "false", "1", "0", "yes", "no", "on", "off", ""]).transform((v) => ["true", "1", "yes", "on"].includes(v));

const csv = z.string().transform((v) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
);

const schema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  HOST: z.string().min(1).default("0.0.0.0"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** External PostgreSQL. Unset: an embedded PostgreSQL is started in DATA_DIR. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgresql:// URL")
    .optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  /**
   * A streaming read replica of DATABASE_URL (postgresql://). Set: anonymous reader GETs read from it;
   * writes, signed-in requests and a client's requests just after a write use the primary (read-your-writes).
   */
  DATABASE_REPLICA_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgresql:// URL")
    .optional(),
  /** After a write, how long that client's requests keep reading from the primary (seconds). */
  REPLICA_STICKY_SECONDS: z.coerce.number().int().min(1).max(3600).default(15),
  /** Where the embedded PostgreSQL, outgoing mail (.eml) and other local state live. */
  DATA_DIR: z.string().min(1).default(".data"),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1024).max(65535).default(54329),
  /** Public base URL: used for canonical links, feeds, sitemaps and emailed links. Unset: http://localhost:<PORT> (see parseConfig). */
  SITE_URL: z
    .url({ protocol: /^https?$/ })
    .transform((u) => u.replace(/\/+$/, ""))
    .optional(),
  SITE_NAME: z.string().min(1).max(100).default("Folio"),
  SITE_DESCRIPTION: z.string().max(300).default("A blog about building software, published with Folio."),
  /** Host names accepted in production (comma-separated). */
  ALLOWED_HOSTS: csv.default(["localhost", "127.0.0.1"]),
  /** Express "trust proxy" setting: false, true, a hop count or a list of addresses. */
  TRUST_PROXY: z.string().default("false"),
  /**
   * Whether the session and other cookies are Secure (HTTPS only, with the __Host- prefix), as Django's
   * SESSION_COOKIE_SECURE / CSRF_COOKIE_SECURE. Unset: true in production, false otherwise. false in
   * production only for a site reached over plain HTTP on a trusted network (a loopback proxy).
   */
  SECURE_COOKIES: z
    .enum(["true", "false", "1", "0", "yes", "no", "on", "off", ""])
    .optional()
    .transform((v) => (v ? ["true", "1", "yes", "on"].includes(v) : undefined)), // "" is unset, never "off"
  SESSION_SECRET: z.string().default("dev-insecure-secret-change-me"),
  /** Signed-in sessions end after this much inactivity (rolling). */
  SESSION_IDLE_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(60 * 24 * 30)
    .default(120),
  /** ... and at the latest this long after the login, active or not. */
  SESSION_ABSOLUTE_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 90)
    .default(12),
  SIGNUP_ENABLED: bool.default(true),
  /**
   * Password for `npm run createsuperuser -- --no-input`, and for the first admin the start-up creates when
   * there is none (then no password is printed). compose.yaml requires it.
   */
  SUPERUSER_PASSWORD: z.string().optional(),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, "must be an smtp:// or smtps:// URL")
    .optional(),
  MAIL_FROM: z.string().default("Folio <no-reply@localhost>"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Seed demo content into an empty database at start-up. */
  SEED_DEMO: bool.default(true),
  POSTS_PER_PAGE: z.coerce.number().int().min(1).max(100).default(10),
  /**
   * HTTP worker processes (node:cluster), each with its own DATABASE_POOL_SIZE pool. "auto": one per
   * CPU. Unset: "auto" in production (Node runs JavaScript on one core per process), 1 otherwise.
   */
  WEB_CONCURRENCY: z.union([z.literal("auto"), z.coerce.number().int().min(1).max(64)]).optional(),
  /**
   * The API's JWT signing keys (HS256): comma-separated `kid:secret` pairs. The first signs new tokens;
   * every listed key verifies, so a key can be rotated in (list it second, then first) and out without
   * signing anyone out. Unset: one key derived from SESSION_SECRET (refused in production).
   */
  JWT_KEYS: z
    .string()
    .transform((v, ctx) => {
      const keys: { kid: string; secret: string }[] = [];
      for (const part of v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)) {
        const i = part.indexOf(":");
        const kid = part.slice(0, i);
        if (i < 1 || !/^[A-Za-z0-9._-]{1,64}$/.test(kid)) {
          ctx.addIssue({ code: "custom", message: "each key must be kid:secret, kid of letters, digits, '.', '_' or '-'" });
          return z.NEVER;
        }
        if (keys.some((k) => k.kid === kid)) {
          // two secrets under one kid: which one verifies a token would depend on the order
          ctx.addIssue({ code: "custom", message: `kid "${kid}" is listed twice (each key needs its own kid)` });
          return z.NEVER;
        }
        keys.push({ kid, secret: part.slice(i + 1) });
      }
      return keys;
    })
    .optional(),
  /** Requests per minute per client address on the API (anonymous or not). */
  API_RATE_LIMIT_IP: z.coerce.number().int().min(1).max(1_000_000).default(600),
  /** Requests per minute per signed-in user (token or session) on the API. */
  API_RATE_LIMIT_USER: z.coerce.number().int().min(1).max(1_000_000).default(1200),
  /**
   * Redis (redis:// or rediss://). Set: the shared cache (pages, fragments), sessions and the API's rate
   * limits live there, shared by every process and host. Unset: in memory per process, sessions in PostgreSQL.
   */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL")
    .optional(),
  /** Whether each server process also runs the background job workers (false: run `npm run worker`). */
  JOBS_IN_PROCESS: bool.default(true),
  /** Jobs a worker process runs at once (per queue). */
  JOB_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(4),
  /** Full-page cache for anonymous GETs of reader pages, feeds and sitemaps. */
  PAGE_CACHE: bool.default(true),
  /** How long a cached page is served before it is rendered again (a save clears it at once anyway). */
  PAGE_CACHE_TTL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  /** Bytes the in-memory shared cache (pages and fragments) may hold per process, in MB. */
  CACHE_MAX_MB: z.coerce.number().int().min(1).max(4096).default(32),
  /** How long a page's last good copy is kept to serve while the database is unreachable (stale-if-error). */
  STALE_IF_ERROR_HOURS: z.coerce.number().int().min(0).max(720).default(24),
  /** Cache-Control s-maxage for a CDN or proxy in front of cached reader pages (0: shared caches must revalidate). */
  CDN_S_MAXAGE: z.coerce.number().int().min(0).max(31_536_000).default(0),
  /** Cache-Control stale-while-revalidate for a CDN in front (seconds). */
  CDN_STALE_WHILE_REVALIDATE: z.coerce.number().int().min(0).max(31_536_000).default(60),
  /**
   * The site's time zone (an IANA name, as Django's TIME_ZONE): dates shown to readers and writers and the
   * date in post URLs. Stored times stay UTC. Changing it re-dates post URLs; the old ones redirect (301).
   */
  TIME_ZONE: z
    .string()
    .min(1)
    .max(64)
    .default("UTC")
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat("en-US", { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, "must be an IANA time zone name, e.g. Europe/Paris or America/New_York"),
  /** Largest image upload, in MB. */
  MEDIA_MAX_MB: z.coerce.number().int().min(1).max(200).default(20),
  /** Largest image upload, in megapixels (width x height): a decompression bomb is refused before it is decoded. */
  MEDIA_MAX_MEGAPIXELS: z.coerce.number().int().min(1).max(500).default(50),
  /**
   * Who may read /metrics (Prometheus): client addresses or CIDR blocks, comma-separated (the address
   * TRUST_PROXY resolves). Empty: nobody by address (METRICS_TOKEN only).
   */
  METRICS_ALLOW: csv.default(["127.0.0.1", "::1"]),
  /** A bearer token that may read /metrics from any address (at least 32 characters). Unset: addresses only. */
  METRICS_TOKEN: z.string().min(32, "must be at least 32 characters").optional(),
  /** How long a shared preview link of a draft works, in days. */
  PREVIEW_LINK_DAYS: z.coerce.number().int().min(1).max(90).default(7),
});

/** The settings after parsing: WEB_CONCURRENCY resolved to a number, SITE_URL to its default. */
export type Config = Omit<z.infer<typeof schema>, "WEB_CONCURRENCY" | "SITE_URL" | "JWT_KEYS" | "SECURE_COOKIES"> & {
  WEB_CONCURRENCY: number;
  /** Resolved: unset means NODE_ENV === "production". */
  SECURE_COOKIES: boolean;
  SITE_URL: string;
  /** At least one; the first signs. */
  JWT_KEYS: { kid: string; secret: string }[];
};

export const DEFAULT_SESSION_SECRET = "dev-insecure-secret-change-me";

export class ConfigError extends Error {}

export function parseConfig(env: NodeJS.ProcessEnv): Config {
  const result = schema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const { WEB_CONCURRENCY, SITE_URL, JWT_KEYS, SECURE_COOKIES, ...rest } = result.data;
  const workers = WEB_CONCURRENCY ?? (rest.NODE_ENV === "production" ? "auto" : 1);
  // Unset SITE_URL follows PORT (PORT=3101: links to http://localhost:3101); PORT=0 (any free port) keeps :3000.
  const siteUrl = SITE_URL ?? `http://localhost:${rest.PORT || 3000}`;
  const jwtKeys = JWT_KEYS?.length
    ? JWT_KEYS
    : [{ kid: "dev", secret: createHash("sha256").update(`folio-jwt\u0000${rest.SESSION_SECRET}`).digest("base64url") }];
  const cfg: Config = {
    ...rest,
    SITE_URL: siteUrl,
    SECURE_COOKIES: SECURE_COOKIES ?? rest.NODE_ENV === "production",
    WEB_CONCURRENCY: workers === "auto" ? Math.min(availableParallelism(), 64) : workers,
    JWT_KEYS: jwtKeys,
  };
  if (cfg.NODE_ENV === "production") {
    const problems: string[] = [];
    if (cfg.SESSION_SECRET === DEFAULT_SESSION_SECRET || cfg.SESSION_SECRET.length < 32)
      problems.push("  SESSION_SECRET: must be set to a random value of at least 32 characters in production");
    if (!JWT_KEYS?.length) problems.push("  JWT_KEYS: must be set in production (kid:secret, a random secret of at least 32 characters)");
    else if (JWT_KEYS.some((k) => k.secret.length < 32)) problems.push("  JWT_KEYS: every secret must be at least 32 characters");
    // one leaked secret would then both forge sessions and mint API tokens (check-deploy's W010)
    if (JWT_KEYS?.some((k) => k.secret === cfg.SESSION_SECRET)) problems.push("  JWT_KEYS: a JWT secret must not be the SESSION_SECRET");
    if (problems.length) throw new ConfigError(`Unsafe production configuration:\n${problems.join("\n")}`);
  }
  return cfg;
}

function load(): Config {
  try {
    process.loadEnvFile();
  } catch {
    /* no .env file: fine */
  }
  try {
    return parseConfig(process.env);
  } catch (e) {
    // A bad setting stops start-up with a message naming the variable, not a stack trace.
    if (e instanceof ConfigError && !process.env.VITEST) {
      console.error(e.message);
      process.exit(1);
    }
    throw e;
  }
}

/** The process-wide settings. Tests may override fields before building the app. */
export const config: Config = load();
