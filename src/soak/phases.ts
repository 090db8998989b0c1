// The soak's phases, each under the mixed load of src/soak/mix.ts against the fleet's Nginx, each
// returning its own figures and its bars (what must hold, and what was seen):
//   steady   : N connections for S seconds: no errors, no 5xx, p99 per kind, memory of every process at
//              start and end (growth bound: MEMORY_GROWTH_MB per Node process);
//   postgres : PostgreSQL stopped at once (immediate: as a crash) and started: cached or 503 pages, never another 5xx; the first good
//              uncached page soon after it is back; a write acknowledged before is there after; a post
//              saved meanwhile answers 503 with the writer's text kept, and that kept form saves after;
//   redis    : Redis stopped and started: no errors for readers; whether the editor's session survived;
//   kill     : one app SIGKILLed: the failed requests, at most the requests in flight at the kill;
//   conflict : two editors save the same post at once on two app processes: one 303, one conflict page
//              (409) showing the loser's text, which then saves: nothing lost;
//   cross    : a session made on app1 works on app2; a save on app1 shows at once on app2's page; mail
//              jobs enqueued once are each sent exactly once by the workers.
// Used by `npm run soak` (src/cli/soak.ts) and, at CI scale, by tests/fleet/faults.test.ts.
import { randomBytes } from "node:crypto";
import type pg from "pg";
import type { Fleet } from "../fleet/index.ts";
import { hashPassword } from "../accounts/passwords.ts";
import { enqueueMail } from "../mail/index.ts";
import { Browser, send } from "./http.ts";
import { figures, startLoad, type KindFigures, type LoadRun, type Sample } from "./load.ts";
import { fleetMemory, type MemoryFigure } from "./memory.ts";
import { formValues } from "./forms.ts";
import { mix, type Site } from "./mix.ts";
import { attemptsOn, logOffset } from "./nginxlog.ts";
import type { Mailbox } from "./mailbox.ts";

/** The stated bound: a Node process (app, worker) grows by at most this much over the steady phase. */
export const MEMORY_GROWTH_MB = 64;
/** The fleet serves uncached pages again within this many seconds of PostgreSQL accepting connections. */
export const RECOVERY_BOUND_S = 10;

export const PHASES = ["steady", "postgres", "redis", "kill", "conflict", "cross"] as const;
export type PhaseName = (typeof PHASES)[number];

export interface Bar {
  what: string;
  ok: boolean;
  seen: string;
}

export interface PhaseResult {
  name: PhaseName;
  ok: boolean;
  seconds: number;
  bars: Bar[];
  /** The load over the whole phase, per kind. */
  kinds: KindFigures[];
  /** The load in the phase's window of interest (the outage, the seconds after the kill), per kind. */
  window?: { label: string; kinds: KindFigures[] };
  memory?: { start: MemoryFigure[]; end: MemoryFigure[] };
  notes: string[];
}

export interface Account {
  username: string;
  password: string;
}

export interface SoakContext {
  fleet: Fleet;
  site: Site;
  /** The soak's own pool on the fleet's database (checks and set-up; never part of the load). */
  db: pg.Pool;
  /** The editor whose session the load's admin pages use, signed in through Nginx. */
  editor: Browser;
  /** The load's editor (`editor`), and the two editors of the conflict (a, b). */
  accounts: { editor: Account; a: Account; b: Account };
  mailbox: Mailbox;
  connections: number;
  /** Length of the steady phase. */
  seconds: number;
  /** Load before and after a fault, and the least time a fault lasts. */
  faultSeconds: number;
  /** The bar for the first good uncached page after PostgreSQL's return (default RECOVERY_BOUND_S; the tests give it more room on a busy CI machine). */
  recoveryBoundS?: number;
  log: (line: string) => void;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const bar = (what: string, ok: boolean, seen: string): Bar => ({ what, ok, seen });

/** Polls `check` every `every` ms until it holds or `ms` have passed; resolves with whether it held. */
async function waitFor(check: () => boolean | Promise<boolean>, ms: number, every = 100): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= end) return false;
    await pause(every);
  }
}

/** An editor account of the soak (made or reset in the database), with a fresh password. */
export async function soakAccount(db: pg.Pool, username: string): Promise<Account> {
  const password = `Soak-${randomBytes(12).toString("base64url")}`;
  await db.query(
    `INSERT INTO "User" (email, username, "passwordHash", role, "isActive") VALUES ($1, $2, $3, 'EDITOR', true)
     ON CONFLICT (username) DO UPDATE SET "passwordHash" = EXCLUDED."passwordHash", role = 'EDITOR', "isActive" = true`,
    [`${username}@soak.invalid`, username, await hashPassword(password)],
  );
  return { username, password };
}

const sessions = new Map<string, Browser>();

/**
 * `account`'s browser signed in on app `i` (its own port): signed in once and reused while the session
 * holds (each sign-in counts against the login throttle of 127.0.0.1).
 */
async function session(ctx: SoakContext, account: Account, i: number): Promise<Browser> {
  const base = appBase(ctx.fleet, i);
  const key = `${account.username}@${base}`;
  const known = sessions.get(key);
  if (known && (await known.get("/admin/")).status === 200) return known;
  const fresh = await signedIn(base, account);
  sessions.set(key, fresh);
  return fresh;
}

/** Signs `account` in through `base` (Nginx or one app); throws when the site refuses. */
export async function signedIn(base: string, account: Account): Promise<Browser> {
  const b = new Browser(base);
  if (!(await b.signIn(account.username, account.password))) throw new Error(`${account.username} could not sign in through ${base}`);
  return b;
}

function load(ctx: SoakContext): LoadRun {
  return startLoad({ base: ctx.fleet.url, connections: ctx.connections, next: mix(ctx.site, () => ctx.editor.cookieHeader()) });
}

const inWindow = (samples: Sample[], from: number, to: number) => samples.filter((s) => s.sent >= from && s.sent <= to);
const adminForm = (a: Record<string, string>) => (a.class ?? "").includes("admin-form");
const keptForm = (a: Record<string, string>) => (a.class ?? "").includes("kept-fields");
const appBase = (fleet: Fleet, i: number) => `http://127.0.0.1:${fleet.apps[i]!.port}`;
const secs = (ms: number) => Math.round(ms / 100) / 10;

function finish(name: PhaseName, t0: number, bars: Bar[], samples: Sample[], rest: Partial<PhaseResult> = {}): PhaseResult {
  return { name, ok: bars.every((b) => b.ok), seconds: secs(Date.now() - t0), bars, kinds: figures(samples), notes: [], ...rest };
}

/** No request of `kinds` (all when empty) went unanswered or was answered 5xx (`allow`: statuses let through). */
function clean(samples: Sample[], label: string, allow: number[] = []): Bar {
  const errors = samples.filter((s) => s.status === 0);
  const bad = samples.filter((s) => s.status >= 500 && !allow.includes(s.status));
  const codes = [...new Set(errors.map((s) => s.error))].join(", ");
  return bar(
    `${label}: 0 unanswered, 0 answers 5xx${allow.length ? ` other than ${allow.join("/")}` : ""}`,
    !errors.length && !bad.length,
    `${samples.length} requests, ${errors.length} unanswered${codes ? ` (${codes})` : ""}, ${bad.length} answers 5xx${allow.length ? ` other than ${allow.join("/")}` : ""}`,
  );
}

// ---------------------------------------------------------------------------------------------
// (a) steady load

export async function steady(ctx: SoakContext): Promise<PhaseResult> {
  const t0 = Date.now();
  const warm = load(ctx);
  await pause(Math.min(20, Math.max(2, ctx.seconds / 3)) * 1000); // every kind of page asked (and compiled) before the start figure
  await warm.stop();
  const start = await fleetMemory(ctx.fleet);
  const run = load(ctx);
  await pause(ctx.seconds * 1000);
  const samples = await run.stop();
  const end = await fleetMemory(ctx.fleet);
  const bars = [clean(samples, "all kinds")];
  for (const e of end.filter((m) => m.measure === "rss")) {
    const s = start.find((m) => m.name === e.name);
    if (!s) continue;
    bars.push(bar(`${e.name} grows by at most ${MEMORY_GROWTH_MB} MB`, e.mb - s.mb <= MEMORY_GROWTH_MB, `${s.mb.toFixed(0)} -> ${e.mb.toFixed(0)} MB RSS`));
  }
  const rate = samples.length / ctx.seconds;
  return finish("steady", t0, bars, samples, { memory: { start, end }, notes: [`${samples.length} requests in ${ctx.seconds} s (${rate.toFixed(0)}/s)`] });
}

// ---------------------------------------------------------------------------------------------
// (b) PostgreSQL restarted under load

export async function postgresRestart(ctx: SoakContext): Promise<PhaseResult> {
  const t0 = Date.now();
  const { fleet, db } = ctx;
  const bars: Bar[] = [];
  const notes: string[] = [];
  const stamp = `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
  // Writes go to app1 itself: the apps' Secure session cookie needs a request that says it came over HTTPS (see prepareSoak).
  const writer = await session(ctx, ctx.accounts.a, 0);
  const postId = ctx.site.postIds[ctx.site.postIds.length - 1]!;
  const changePath = `/admin/blog/post/${postId}/change/`;
  const run = load(ctx);
  const at = { down: 0, up: 0 };
  try {
    await pause(ctx.faultSeconds * 1000);
    // A write acknowledged (303) just before the restart: a category made through the admin form.
    // A saturated database may answer a save 503 (nothing written): the writer tries again, as a person would.
    let marker = "";
    let made = { status: 0 };
    for (let attempt = 1; attempt <= 5 && made.status !== 303; attempt++) {
      marker = `Soak marker ${stamp}-${attempt}`;
      made = await writer.submit(
        "/admin/blog/category/add/",
        { name: marker, slug: `soak-marker-${stamp}-${attempt}`, description: "Saved just before PostgreSQL restarted." },
        adminForm,
      );
      if (made.status !== 303) notes.push(`the marker save, attempt ${attempt}, answered ${made.status}`);
    }
    bars.push(bar("a write acknowledged just before the restart", made.status === 303, `category save answered ${made.status}`));
    // The writer opens a post's form, PostgreSQL goes away, the writer saves.
    const form = await writer.get(changePath);
    const typed = `Written during the outage ${stamp}: this paragraph must not be lost.`;
    ctx.log(`postgres: stopping PostgreSQL at once (${ctx.connections} connections of load running)`);
    at.down = run.now();
    // An immediate stop (pg_ctl -m immediate: no checkpoint, as a crash): the acknowledged write must come
    // back from the WAL at the next start, not from a checkpoint a clean stop would have made.
    await fleet.postgres.stop({ immediate: true });
    const values = { ...formValues(form.body, adminForm) };
    const body = `${String(values.body ?? "")}\n\n${typed}`;
    const refused = await writer.post(changePath, { ...values, body, _save: "1" });
    const kept = refused.body.includes(typed);
    bars.push(
      bar(
        "a post saved during the outage: 503, a clear message, the writer's text kept",
        refused.status === 503 && kept && /not saved/i.test(refused.body),
        `answered ${refused.status}, ${kept ? "the text kept in the page" : "the text NOT in the page"}`,
      ),
    );
    // Held down until readers have met the outage (at least faultSeconds).
    const since = run.samples.length;
    await pause(ctx.faultSeconds * 1000);
    await waitFor(() => run.samples.length - since >= ctx.connections, 30_000);
    ctx.log(`postgres: starting PostgreSQL after ${secs(run.now() - at.down)} s`);
    await fleet.postgres.start();
    at.up = run.now();
    // Recovery: the first good answer to a page no cache can hold (a search nobody asked before).
    const bound = ctx.recoveryBoundS ?? RECOVERY_BOUND_S;
    let n = 0;
    const back = await waitFor(
      async () => {
        const res = await send(fleet.url, `/blog/search/?q=soakprobe${stamp}${n++}`, { timeoutMs: 10_000 }).catch(() => null);
        return res?.status === 200;
      },
      Math.max(60, bound) * 1000,
    );
    const recovery = run.now() - at.up;
    bars.push(
      bar(
        `the first good uncached page within ${bound} s of PostgreSQL's return`,
        back && recovery <= bound * 1000,
        back ? `${secs(recovery)} s (${n} probes)` : `no good page in ${Math.max(60, bound)} s`,
      ),
    );
    notes.push(`PostgreSQL down ${secs(at.up - at.down)} s; first good uncached page ${secs(recovery)} s after it was back`);
    await pause(ctx.faultSeconds * 1000);
    // The acknowledged write is there; the kept form saves now.
    const { rows } = await db.query(`SELECT 1 FROM "Category" WHERE name = $1`, [marker]);
    bars.push(bar("the write acknowledged before the restart is still there", rows.length === 1, `${rows.length} row(s) named "${marker}"`));
    // Sent again from the kept page (again from the next kept page while a saturated database answers 503).
    let resent = await writer.post(changePath, formValues(refused.body, keptForm));
    for (let attempt = 2; attempt <= 5 && resent.status === 503 && resent.body.includes(typed); attempt++) {
      notes.push(`the kept form, sent again, answered 503 (attempt ${attempt - 1}): sent again from the page it kept`);
      resent = await writer.post(changePath, formValues(resent.body, keptForm));
    }
    const saved = await db.query<{ body: string }>(`SELECT body FROM "Post" WHERE id = $1`, [postId]);
    bars.push(
      bar(
        "the kept form, sent again after the outage, saves the writer's text",
        resent.status === 303 && (saved.rows[0]?.body ?? "").includes(typed),
        `answered ${resent.status}; the post's body ${(saved.rows[0]?.body ?? "").includes(typed) ? "holds" : "does NOT hold"} the text`,
      ),
    );
  } finally {
    await run.stop();
  }
  const samples = run.samples;
  const outage = inWindow(samples, at.down, at.up);
  bars.unshift(clean(samples, "all kinds over the phase", [503]));
  const stale = outage.filter((s) => s.cache === "STALE").length;
  const refusedCount = outage.filter((s) => s.status === 503).length;
  notes.push(`during the outage: ${outage.length} requests, ${stale} served from a kept copy (X-Cache: STALE), ${refusedCount} answered 503`);
  return finish("postgres", t0, bars, samples, { window: { label: "PostgreSQL down", kinds: figures(outage) }, notes });
}

// ---------------------------------------------------------------------------------------------
// (c) Redis stopped and started under load

export async function redisRestart(ctx: SoakContext): Promise<PhaseResult> {
  const t0 = Date.now();
  const { fleet } = ctx;
  const notes: string[] = [];
  const run = load(ctx);
  const at = { down: 0, up: 0, sessionKept: false };
  try {
    await pause(ctx.faultSeconds * 1000);
    ctx.log("redis: stopping Redis");
    at.down = run.now();
    await fleet.redis.stop();
    const since = run.samples.length;
    await pause(ctx.faultSeconds * 1000);
    await waitFor(() => run.samples.length - since >= ctx.connections, 30_000);
    await fleet.redis.start();
    at.up = run.now();
    ctx.log(`redis: started again after ${secs(at.up - at.down)} s`);
    // Is the editor still signed in once Redis is back? (Sessions live in Redis.)
    const back = await waitFor(async () => (await ctx.editor.get("/admin/").catch(() => null))?.status === 200, 15_000, 200);
    at.sessionKept = back;
    if (!back) {
      notes.push("the editor's session did not survive the Redis restart: signed in again");
      const fresh = await signedIn(appBase(fleet, 0), ctx.accounts.editor);
      ctx.editor.cookies.clear();
      for (const [k, v] of fresh.cookies) ctx.editor.cookies.set(k, v);
    }
    await pause(ctx.faultSeconds * 1000);
  } finally {
    await run.stop();
  }
  const samples = run.samples;
  const readers = samples.filter((s) => s.kind !== "admin");
  const outage = inWindow(samples, at.down, at.up);
  const uncached = outage.filter((s) => s.kind !== "admin" && s.status === 200 && s.cache !== "HIT").length;
  const admin = outage.filter((s) => s.kind === "admin");
  const adminStatuses = figures(admin).find((f) => f.kind === "all")?.statuses ?? {};
  notes.push(`during the outage: ${outage.length} requests; readers' pages not from the cache: ${uncached}`);
  notes.push(`admin pages during the outage (signed-in GETs are served as anonymous: a redirect to sign in): ${JSON.stringify(adminStatuses)}`);
  notes.push(
    `sessions: ${at.sessionKept ? "kept (the editor was still signed in after Redis came back)" : "lost (Redis kept no copy): everyone signs in again"}`,
  );
  const bars = [
    clean(readers, "readers (every kind but admin)"),
    bar("the editor's session after Redis is back (stated, not a bar)", true, at.sessionKept ? "kept" : "lost"),
  ];
  return finish("redis", t0, bars, samples, { window: { label: "Redis down", kinds: figures(outage) }, notes });
}

// ---------------------------------------------------------------------------------------------
// (d) one app process SIGKILLed under load

export async function killApp(ctx: SoakContext): Promise<PhaseResult> {
  const t0 = Date.now();
  const { fleet } = ctx;
  const victim = fleet.apps[fleet.apps.length - 1]!;
  const address = `127.0.0.1:${victim.port}`;
  const run = load(ctx);
  const at = { inFlight: 0, killedAt: 0, restartedAt: 0, logFrom: 0 };
  try {
    await pause(ctx.faultSeconds * 1000);
    at.inFlight = run.inFlight();
    at.logFrom = logOffset(fleet.nginx.accessLog);
    at.killedAt = run.now();
    ctx.log(`kill: SIGKILL to ${victim.name} (pid ${victim.pid}) with ${at.inFlight} requests in flight across the fleet`);
    await victim.kill("SIGKILL");
    await pause(ctx.faultSeconds * 1000);
    await victim.restart();
    at.restartedAt = run.now();
    ctx.log(`kill: ${victim.name} restarted (pid ${victim.pid})`);
    await pause(ctx.faultSeconds * 1000);
  } finally {
    await run.stop();
  }
  const samples = run.samples;
  const failed = samples.filter((s) => s.status === 0 || s.status >= 500);
  // The bound, from Nginx's access log since just before the kill: the attempts on the killed app's
  // address that ended in an upstream error (its requests in flight at the kill, and those sent to it
  // before Nginx marked it failed).
  const onVictim = attemptsOn(fleet.nginx.accessLog, at.logFrom, address);
  const bars = [
    bar(
      `failed requests at most ${victim.name}'s requests in flight at its death (Nginx's upstream errors on ${address})`,
      failed.length <= onVictim.errors,
      `${failed.length} failed (${[...new Set(failed.map((s) => s.error ?? s.status))].join(", ") || "none"}); Nginx: ${onVictim.errors} attempts on ${victim.name} ended in an upstream error (${onVictim.errors - onVictim.failedToClient} retried on another app, ${onVictim.failedToClient} answered 5xx)`,
    ),
    clean(
      samples.filter((s) => s.sent > at.killedAt + 1000),
      "from 1 s after the kill on",
    ),
  ];
  const notes = [
    `${at.inFlight} requests in flight across the fleet at the kill; Nginx sent ${onVictim.sent} requests to ${victim.name} from the kill to the phase's end, ${onVictim.errors} met its death; Nginx retries idempotent requests on the other app`,
  ];
  return finish("kill", t0, bars, samples, { window: { label: `${victim.name} dead`, kinds: figures(inWindow(samples, at.killedAt, at.restartedAt)) }, notes });
}

// ---------------------------------------------------------------------------------------------
// (e) two editors save the same post at the same moment, on two processes

export async function conflict(ctx: SoakContext): Promise<PhaseResult> {
  const t0 = Date.now();
  const { db } = ctx;
  const postId = ctx.site.postIds[0]!;
  const path = `/admin/blog/post/${postId}/change/`;
  const stamp = Date.now().toString(36);
  const run = load(ctx);
  const bars: Bar[] = [];
  try {
    const a = await session(ctx, ctx.accounts.a, 0);
    const b = await session(ctx, ctx.accounts.b, 1);
    const [fa, fb] = await Promise.all([a.get(path), b.get(path)]);
    const va = formValues(fa.body, adminForm);
    const vb = formValues(fb.body, adminForm);
    const titles = { a: `Saved by editor A ${stamp}`, b: `Saved by editor B ${stamp}` };
    const [ra, rb] = await Promise.all([a.post(path, { ...va, title: titles.a, _save: "1" }), b.post(path, { ...vb, title: titles.b, _save: "1" })]);
    const statuses = [ra.status, rb.status].sort();
    bars.push(bar("one save wins (303), the other gets the conflict page (409)", statuses[0] === 303 && statuses[1] === 409, `A ${ra.status}, B ${rb.status}`));
    const [winner, loser, loserPage, loserBrowser] = ra.status === 303 ? (["a", "b", rb, b] as const) : (["b", "a", ra, a] as const);
    bars.push(
      bar(
        "the loser's page is the conflict page with their text",
        loserPage.body.includes("Edit conflict") && loserPage.body.includes(titles[loser]),
        `${loserPage.body.includes("Edit conflict") ? "conflict page" : "no conflict page"}, ${loserPage.body.includes(titles[loser]) ? "their title shown" : "their title NOT shown"}`,
      ),
    );
    const now1 = await db.query<{ title: string }>(`SELECT title FROM "Post" WHERE id = $1`, [postId]);
    bars.push(bar("the winner's save is the post", now1.rows[0]?.title === titles[winner], `title now "${now1.rows[0]?.title}"`));
    // The loser saves again from the conflict page (a deliberate choice): their text is saved, nothing lost.
    const again = await loserBrowser.post(path, { ...formValues(loserPage.body, adminForm), _save: "1" });
    const now2 = await db.query<{ title: string }>(`SELECT title FROM "Post" WHERE id = $1`, [postId]);
    bars.push(
      bar(
        "the loser's text, saved from the conflict page, is kept",
        again.status === 303 && now2.rows[0]?.title === titles[loser],
        `answered ${again.status}, title now "${now2.rows[0]?.title}"`,
      ),
    );
  } finally {
    await run.stop();
  }
  bars.unshift(clean(run.samples, "the load meanwhile"));
  return finish("conflict", t0, bars, run.samples);
}

// ---------------------------------------------------------------------------------------------
// (f) across processes: sessions, invalidation, jobs

export async function crossProcess(ctx: SoakContext, opts: { jobs?: number } = {}): Promise<PhaseResult> {
  const t0 = Date.now();
  const { fleet, db } = ctx;
  const bars: Bar[] = [];
  const notes: string[] = [];
  const run = load(ctx);
  try {
    // A session made on app1 works on app2.
    const one = await session(ctx, ctx.accounts.a, 0);
    const onTwo = await one.on(appBase(fleet, 1)).get("/admin/");
    bars.push(bar("a session made on app1 is signed in on app2", onTwo.status === 200, `app2's /admin/ answered ${onTwo.status}`));

    // A save on app1 is seen at once on app2 (a page app2 has in its cache).
    const { rows } = await db.query<{ id: number }>(
      `SELECT id FROM "Post" WHERE status = 'PUBLISHED' AND "publishDate" < now() - interval '1 day' ORDER BY id DESC LIMIT 1 OFFSET 5`,
    );
    const postId = rows[0]!.id;
    const path = `/admin/blog/post/${postId}/change/`;
    const form = await one.get(path);
    const page = /href="(\/blog\/\d{4}\/\d{2}\/\d{2}\/[a-z0-9-]+\/)"/.exec(form.body)?.[1];
    if (!page) throw new Error(`no "View on site" link on ${path}`);
    const reader2 = new Browser(appBase(fleet, 1));
    await reader2.get(page);
    const cached = await reader2.get(page);
    const title = `Retitled on app1 ${Date.now().toString(36)}`;
    const saved = await one.post(path, { ...formValues(form.body, adminForm), title, _save: "1" });
    const seen = await reader2.get(page);
    bars.push(
      bar(
        "an admin save on app1 is seen at once on app2 (its first request after the save)",
        saved.status === 303 && seen.status === 200 && seen.body.includes(title),
        `save ${saved.status}; app2 had the page ${String(cached.headers["x-cache"] ?? "(no X-Cache)")}, then answered ${seen.status} ${seen.body.includes(title) ? "with" : "WITHOUT"} the new title (X-Cache ${String(seen.headers["x-cache"] ?? "-")})`,
      ),
    );

    // Mail jobs enqueued once each: each is sent exactly once, however many workers compete.
    const jobs = opts.jobs ?? 20;
    const batch = randomBytes(4).toString("hex");
    const to = Array.from({ length: jobs }, (_, i) => `soak-${batch}-${i}@soak.invalid`);
    const sentAt = new Date();
    for (const address of to) await enqueueMail(null, { to: address, subject: `Soak job ${batch}`, text: "One job, one message." });
    // Counted once no duplicate can still come (the load sends no mail: the queue's jobs since `sentAt` are
    // the batch). pg-boss fetches only jobs in a state before 'active', and
    // a job fetched again has its retry_count raised (plans.js fetchNextJob); a job's handler sends before
    // the job is completed, and the mailbox counts a message before it answers the SMTP DATA. So once no
    // job of the queue is created, retry or active, and every job of the batch is completed at
    // retry_count 0, each was run by one handler, which has finished: the counts are final. A job fetched
    // more than once (a failed or expired attempt) is named: its earlier attempt's end is not observable.
    const state = async () => {
      const r = await db.query<{ completed: number; rerun: number; pending: number }>(
        `SELECT count(*) FILTER (WHERE state = 'completed')::int AS completed,
                count(*) FILTER (WHERE retry_count > 0)::int AS rerun,
                count(*) FILTER (WHERE state IN ('created', 'retry', 'active'))::int AS pending
         FROM pgboss.job WHERE name = 'mail.send' AND created_on >= $1`,
        [sentAt],
      );
      return r.rows[0] ?? { completed: 0, rerun: 0, pending: 0 };
    };
    let last = await state();
    const finished = await waitFor(
      async () => {
        last = await state();
        return last.completed >= jobs && last.pending === 0 && to.every((a) => ctx.mailbox.received(a) >= 1);
      },
      60_000,
      200,
    );
    const counts = to.map((a) => ctx.mailbox.received(a));
    bars.push(
      bar(
        `${jobs} mail jobs, each enqueued once, each sent exactly once by ${fleet.workers.length} workers`,
        finished && counts.every((c) => c === 1),
        `${finished ? "all completed, none of the queue waiting or active" : `NOT settled in 60 s (${last.completed} completed, ${last.pending} of the queue waiting or active)`}; ${last.rerun} fetched more than once; messages per job: ${[...new Set(counts)].join("/")} (${counts.reduce((a, b) => a + b, 0)} in all)`,
      ),
    );
    notes.push(`jobs: ${jobs} enqueued by the soak, ${fleet.workers.length} worker processes`);
  } finally {
    await run.stop();
  }
  bars.unshift(clean(run.samples, "the load meanwhile"));
  return finish("cross", t0, bars, run.samples, { notes });
}

export const RUNNERS: Record<PhaseName, (ctx: SoakContext) => Promise<PhaseResult>> = {
  steady,
  postgres: postgresRestart,
  redis: redisRestart,
  kill: killApp,
  conflict,
  cross: crossProcess,
};
