// npm run check:deploy -- like Django's `manage.py check --deploy`: reads the settings the app would
// use (environment + .env) and reports the ones that are unsafe for production. Exits 1 when there
// is at least one error, 0 when there are only warnings (or nothing).
//
// config.ts itself refuses to start a production process with a weak SESSION_SECRET (or JWT_KEYS); this command
// must report that problem (with the others) instead of stopping at it, so it parses the settings
// itself with parseConfig, loaded while NODE_ENV is temporarily not "production".
import { pathToFileURL } from "node:url";

export interface Finding {
  id: string;
  level: "error" | "warning";
  message: string;
  hint?: string;
}

const distinctChars = (s: string) => new Set(s).size;

/** The findings for this environment (an env-like object: process.env after .env). */
export async function checkDeploy(env: NodeJS.ProcessEnv): Promise<Finding[]> {
  const { parseConfig, ConfigError, DEFAULT_SESSION_SECRET } = await import("../config.ts");
  const findings: Finding[] = [];
  const error = (id: string, message: string, hint?: string) => findings.push({ id, level: "error", message, hint });
  const warn = (id: string, message: string, hint?: string) => findings.push({ id, level: "warning", message, hint });

  let cfg;
  try {
    // Parsed as if not in production so the secret check below reports instead of throwing.
    cfg = parseConfig({ ...env, NODE_ENV: env.NODE_ENV === "production" ? "development" : env.NODE_ENV });
  } catch (e) {
    if (e instanceof ConfigError) {
      error("folio.E000", e.message);
      return findings;
    }
    throw e;
  }

  if (env.NODE_ENV !== "production")
    error(
      "folio.E001",
      `NODE_ENV is ${JSON.stringify(env.NODE_ENV ?? "")}, not "production".`,
      "Development mode shows stack traces, reloads templates and skips HSTS and Secure cookies.",
    );

  const secret = cfg.SESSION_SECRET;
  if (!env.SESSION_SECRET || secret === DEFAULT_SESSION_SECRET)
    error(
      "folio.E002",
      "SESSION_SECRET is not set (the built-in development value is in use).",
      "Generate one: node -e \"console.log(require('crypto').randomBytes(48).toString('base64url'))\"",
    );
  else if (secret.length < 32 || distinctChars(secret) < 10)
    error("folio.E003", "SESSION_SECRET is weak: it must be at least 32 random characters.", "Sessions signed with a guessable secret can be forged.");

  // JWT_KEYS unset: config.ts derives a "dev" key from SESSION_SECRET (and refuses to start in production).
  const jwtKeys = env.JWT_KEYS?.split(",").some((part) => part.trim()) ? cfg.JWT_KEYS : [];
  const makeKey = "node -e \"console.log('k1:' + require('crypto').randomBytes(48).toString('base64url'))\"";
  if (!jwtKeys.length)
    error("folio.E008", "JWT_KEYS is not set (the API's tokens would be signed with a key derived from SESSION_SECRET).", `Generate one: ${makeKey}`);
  else {
    const weak = jwtKeys.filter((k) => k.secret.length < 32 || distinctChars(k.secret) < 10).map((k) => k.kid);
    if (weak.length)
      error(
        "folio.E009",
        `JWT_KEYS is weak: the secret of ${weak.map((k) => JSON.stringify(k)).join(", ")} must be at least 32 random characters.`,
        "API access tokens signed with a guessable secret can be forged for any user.",
      );
    if (jwtKeys.some((k) => k.secret === secret))
      warn("folio.W010", "A JWT_KEYS secret is the SESSION_SECRET.", "Use a separate secret for each purpose, so rotating one does not expose the other.");
  }

  if (cfg.ALLOWED_HOSTS.length === 0) error("folio.E004", "ALLOWED_HOSTS is empty.", "List the host names the site answers to.");
  else if (cfg.ALLOWED_HOSTS.includes("*"))
    error("folio.E005", 'ALLOWED_HOSTS contains "*": any Host header is accepted.', "Host header poisoning (e.g. in links) becomes possible.");

  let site: URL | undefined;
  try {
    site = new URL(cfg.SITE_URL);
  } catch {
    /* validated by the schema */
  }
  if (site && site.protocol !== "https:")
    error("folio.E006", `SITE_URL (${cfg.SITE_URL}) is not https.`, "Emailed password-reset links and canonical URLs would use plain HTTP.");
  if (site && cfg.ALLOWED_HOSTS.length && !cfg.ALLOWED_HOSTS.includes("*")) {
    const host = site.hostname.toLowerCase();
    const ok = cfg.ALLOWED_HOSTS.some((h) => (h.startsWith(".") ? host.endsWith(h) || host === h.slice(1) : h.toLowerCase() === host));
    if (!ok) warn("folio.W001", `SITE_URL's host (${host}) is not in ALLOWED_HOSTS.`);
  }

  // Parsed out of production above, so an unset SECURE_COOKIES reads false there: only an explicit false counts.
  if (env.SECURE_COOKIES?.trim() && !cfg.SECURE_COOKIES)
    warn(
      "folio.W011",
      "SECURE_COOKIES is false: the session cookie (with the CSRF token) and the device cookie are not marked Secure.",
      "Browsers would then send them over plain HTTP, readable on the network. Keep it for a site reached over a trusted network only (a loopback proxy); behind HTTPS, unset it.",
    );

  const trust = cfg.TRUST_PROXY.trim().toLowerCase();
  if (site?.protocol === "https:" && (trust === "false" || trust === ""))
    warn(
      "folio.W002",
      "SITE_URL is https but TRUST_PROXY is off.",
      "If TLS ends at a reverse proxy, set TRUST_PROXY (e.g. 1): without it the app sees plain HTTP, does not send the Secure session cookie, and logs the proxy's address for every client.",
    );
  if (trust === "true")
    warn(
      "folio.W003",
      'TRUST_PROXY is "true": X-Forwarded-For is trusted from anyone.',
      "Clients can then forge their address (and dodge per-address throttling). Use the number of proxy hops (e.g. 1) or their addresses.",
    );

  if (!cfg.SMTP_URL) error("folio.E007", "SMTP_URL is not set: e-mail (password resets) would only be written to files under DATA_DIR/mail.");
  else if (cfg.SMTP_URL.startsWith("smtp://") && !/^smtp:\/\/([^@/]*@)?(localhost|127\.0\.0\.1|\[::1\])(:\d+)?/.test(cfg.SMTP_URL))
    warn(
      "folio.W004",
      "SMTP_URL uses smtp:// to a remote server.",
      "Prefer smtps:// (or a server that offers STARTTLS): reset links travel in these messages.",
    );

  if (cfg.SIGNUP_ENABLED)
    warn("folio.W005", "SIGNUP_ENABLED is on: anyone can create a (reader) account.", "Set SIGNUP_ENABLED=false if the site does not need public accounts.");
  if (!cfg.DATABASE_URL)
    warn("folio.W006", "DATABASE_URL is not set: the embedded PostgreSQL would be used.", "Use a managed PostgreSQL with backups in production.");
  if (cfg.SEED_DEMO) warn("folio.W007", "SEED_DEMO is on: demo content is added to an empty database.");
  if (cfg.LOG_LEVEL === "debug" || cfg.LOG_LEVEL === "trace") warn("folio.W008", `LOG_LEVEL is ${cfg.LOG_LEVEL}: verbose logs may hold personal data.`);
  if (cfg.SESSION_ABSOLUTE_HOURS > 24 * 7) warn("folio.W009", `SESSION_ABSOLUTE_HOURS is ${cfg.SESSION_ABSOLUTE_HOURS}: sessions outlive a week.`);
  return findings;
}

function formatFindings(findings: Finding[]): string {
  if (!findings.length) return "System check identified no issues (0 silenced).";
  const block = (level: Finding["level"], title: string) => {
    const list = findings.filter((f) => f.level === level);
    if (!list.length) return "";
    return `${title}:\n${list.map((f) => `?: (${f.id}) ${f.message}${f.hint ? `\n\tHINT: ${f.hint}` : ""}`).join("\n")}\n\n`;
  };
  const n = findings.length;
  return `System check identified some issues:\n\n${block("error", "ERRORS")}${block("warning", "WARNINGS")}System check identified ${n} issue${n === 1 ? "" : "s"} (0 silenced).`;
}

async function main(): Promise<number> {
  try {
    process.loadEnvFile();
  } catch {
    /* no .env file */
  }
  const env = { ...process.env };
  // Importing config.ts loads the settings for this process; do it out of production mode so a weak
  // secret is reported below rather than ending the process here.
  if (process.env.NODE_ENV === "production") process.env.NODE_ENV = "development";
  const findings = await checkDeploy(env);
  const out = formatFindings(findings);
  if (findings.some((f) => f.level === "error")) {
    console.error(out);
    return 1;
  }
  console.log(out);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(2);
    },
  );
}
