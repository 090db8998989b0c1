// A form refused because the writer's session ended (it expired, they signed out in another tab) or
// its CSRF token went stale comes back with everything typed, says why, and can be sent again after
// signing in (inline, through the editor script's sign-in dialog, or in a second tab): nothing typed
// is lost. Used by the CSRF failure handler (src/web/csrf.ts), the login-required check for POSTs
// (src/accounts/middleware.ts), and the 503 of a save met by a database outage (src/web/errors.ts).
//
// Only for a form this site's own page sent (the browser says so: Sec-Fetch-Site: same-origin, or an
// Origin header naming this host): a page on another site cannot get its fields echoed back into a
// form of ours with a valid token (that would hand it a one-click CSRF). Passwords are never echoed.
import type { Request, Response } from "express";
import { config } from "../config.ts";
import { url } from "./urls.ts";
import { logger } from "./logger.ts";
import { cookieSecure } from "./security.ts";

/** Why a form was refused; "unavailable": the database could not be reached (a restart), nothing was saved (src/web/errors.ts). */
export type RefusalReason = "expired" | "nosession" | "mismatch" | "signedout" | "insecure" | "unavailable";

/** Was this request sent by a page of this site (same origin)? Unknown (no headers) counts as no. */
function sameOrigin(req: Request): boolean {
  const site = req.headers["sec-fetch-site"];
  if (typeof site === "string") return site === "same-origin";
  const origin = req.headers.origin;
  if (typeof origin !== "string" || origin === "null") return false;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/**
 * Secure cookies (cookieSecure(): production unless SECURE_COOKIES=false) reached over plain HTTP, or through
 * a proxy TRUST_PROXY does not trust: the browser drops the session cookie, so every form POST fails its CSRF check.
 */
export function insecureTransport(req: Request): boolean {
  return cookieSecure() && !req.secure;
}

export const INSECURE_MESSAGE =
  "This site runs in production mode, which keeps sessions in Secure cookies, but this page was reached over plain HTTP " +
  "(or through a proxy that TRUST_PROXY does not trust). Browsers do not keep Secure cookies on such a page, so every form " +
  "on it (sign-in included) will be refused. Open the site over https://, or set TRUST_PROXY when a proxy in front of it handles HTTPS.";

let warned = false;

/** Logs the plain-HTTP problem once per process (each form page also says so: csrf_warning()). */
export function warnInsecureOnce(req: Request): void {
  if (warned) return;
  warned = true;
  (req.log ?? logger).warn(
    { path: req.path, protocol: req.protocol, trustProxy: config.TRUST_PROXY },
    "Production site reached over plain HTTP: the Secure session cookie cannot be set, so every form POST will fail its CSRF check. Serve it over HTTPS, or set TRUST_PROXY when a proxy terminates TLS.",
  );
}

// Form bookkeeping never shown as a field; password fields are never echoed at all.
const HIDDEN = new Set(["_csrf", "_version", "version", "next", "_save", "_continue", "_addanother"]);
const SECRET = /pass(word)?|secret|token/i;
const WRITTEN = /title|body|excerpt|description|tags|text|content|name|bio|slug/i;

interface KeptField {
  name: string;
  label: string;
  value: string;
  multiline: boolean;
}

/** The submitted fields, sorted into what the writer typed (shown, editable) and the rest (hidden, sent again). */
function keptFields(body: unknown) {
  const written: KeptField[] = [];
  const other: { name: string; value: string }[] = [];
  const b = body && typeof body === "object" ? (body as Record<string, unknown>) : {};
  // A form with a password (sign-in, password change) is not a writer's text: the plain refusal page.
  if (Object.keys(b).some((k) => SECRET.test(k) && k !== "_csrf")) return { written, other };
  for (const [name, raw] of Object.entries(b)) {
    if (name === "_csrf" || !/^[\w.-]{1,50}$/.test(name)) continue;
    const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is string => typeof v === "string").map((v) => v.replace(/\0/g, ""));
    if (!values.length) continue;
    const one = values.length === 1 ? values[0]! : null;
    if (one !== null && !HIDDEN.has(name) && (WRITTEN.test(name) || one.includes("\n") || one.length > 80)) {
      const label = name
        .replace(/Id$/, "")
        .replace(/[_-]+/g, " ")
        .replace(/([a-z])([A-Z])/g, "$1 $2")
        .toLowerCase();
      written.push({
        name,
        label: label.charAt(0).toUpperCase() + label.slice(1),
        value: one,
        multiline: name === "body" || one.includes("\n") || one.length > 200,
      });
    } else for (const v of values) other.push({ name, value: v });
  }
  return { written, other };
}

/**
 * Answers a refused form POST with the kept-form page when this site's own page sent it and it
 * carries fields; returns false (the caller answers as before) otherwise.
 */
export function renderKeptForm(req: Request, res: Response, reason: RefusalReason, status = 403): boolean {
  if (req.method !== "POST" || !sameOrigin(req)) return false;
  const { written, other } = keptFields(req.body);
  if (!written.length) return false;
  req.log?.info({ path: req.path, reason, fields: written.length + other.length }, "refused form kept for the writer");
  res.setHeader("Cache-Control", "private, no-store");
  res.locals.meta = { ...(res.locals.meta ?? {}), title: "Your changes are not saved yet", noindex: true };
  res.status(status).render("accounts/form_kept.njk", {
    reason,
    idleMinutes: config.SESSION_IDLE_MINUTES,
    action: req.originalUrl,
    written,
    other,
    loginUrl: url("accounts:login"),
    sessionUrl: url("autosave:session"),
    insecureMessage: reason === "insecure" ? INSECURE_MESSAGE : null,
  });
  return true;
}
