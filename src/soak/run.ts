// A soak against a running fleet: the soak's accounts, the editor whose session the load's admin pages
// use, the site's URLs (src/soak/mix.ts), a mailbox for the workers' mail, then the phases asked for.
// The caller (src/cli/soak.ts, tests/fleet/faults.test.ts) owns the fleet; the app's pool of this
// process must be connected to the fleet's database (connectDb): the soak's checks and its mail jobs
// (enqueueMail, sealed with this process's SESSION_SECRET, which the fleet's processes must share).
import type { Fleet } from "../fleet/index.ts";
import { pool } from "../db/client.ts";
import { discover } from "./mix.ts";
import type { Mailbox } from "./mailbox.ts";
import { Browser } from "./http.ts";
import { RUNNERS, signedIn, soakAccount, type PhaseName, type PhaseResult, type SoakContext } from "./phases.ts";

export interface SoakOptions {
  connections: number;
  seconds: number;
  faultSeconds: number;
  /** List pages read to find the posts (default 60). */
  listPages?: number;
  log: (line: string) => void;
}

/** Settings a fleet needs for a soak: mail to the soak's mailbox, no per-address API limit (every request comes from 127.0.0.1). */
export function soakFleetEnv(mailbox: Mailbox, sessionSecret: string): Record<string, string> {
  return {
    SMTP_URL: mailbox.url,
    SESSION_SECRET: sessionSecret,
    API_RATE_LIMIT_IP: "1000000",
    API_RATE_LIMIT_USER: "1000000",
  };
}

export async function prepareSoak(fleet: Fleet, mailbox: Mailbox, opts: SoakOptions): Promise<SoakContext> {
  const accounts = {
    editor: await soakAccount(pool, "soak_editor"),
    a: await soakAccount(pool, "soak_editor_a"),
    b: await soakAccount(pool, "soak_editor_b"),
  };
  // Signed in on app1 itself: the apps run in production (Secure session cookie) and Nginx here speaks
  // plain HTTP, so the session is made where the request can say it came over HTTPS; the load then
  // sends its cookie through Nginx (GETs).
  const app1 = `http://127.0.0.1:${fleet.apps[0]!.port}`;
  const editor = await signedIn(app1, accounts.editor);
  opts.log("reading the site's pages (list pages, posts, categories, tags, the admin's change list)");
  const site = await discover(new Browser(fleet.url), editor, { listPages: opts.listPages });
  opts.log(`found ${site.paths.post.length} posts on ${site.listPages} list pages; ${Object.values(site.paths).flat().length} distinct URLs in the mix`);
  return {
    fleet,
    site,
    db: pool,
    editor,
    accounts,
    mailbox,
    connections: opts.connections,
    seconds: opts.seconds,
    faultSeconds: opts.faultSeconds,
    log: opts.log,
  };
}

/** Runs `phases` in order; one that throws is a failed phase (its error noted), and the next still run. */
export async function runPhases(ctx: SoakContext, phases: readonly PhaseName[], onResult?: (r: PhaseResult) => void): Promise<PhaseResult[]> {
  const results: PhaseResult[] = [];
  for (const name of phases) {
    ctx.log(`phase ${name}: ${ctx.connections} connections`);
    const t0 = Date.now();
    let r: PhaseResult;
    try {
      r = await RUNNERS[name](ctx);
    } catch (e) {
      r = {
        name,
        ok: false,
        seconds: Math.round((Date.now() - t0) / 100) / 10,
        bars: [{ what: "the phase ran to its end", ok: false, seen: (e as Error).stack ?? String(e) }],
        kinds: [],
        notes: [],
      };
    }
    results.push(r);
    onResult?.(r);
  }
  return results;
}
