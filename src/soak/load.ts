// The soak's load generator: `connections` loops, each sending one request at a time on a keep-alive
// agent of that many sockets (node:http), the next request's path and kind chosen by the mix. Every
// answer is recorded (when, kind, status, latency, X-Cache) so that a phase can count what happened in
// a window (the outage, the seconds after a kill) as well as over the whole run.
import http from "node:http";
import { send } from "./http.ts";

export interface Target {
  /** The page kind the figures are grouped by: "home", "post", "search", "feed", "api", "admin"... */
  kind: string;
  path: string;
  headers?: Record<string, string>;
}

export interface Sample {
  /** ms since the run started, when the answer (or the failure) came. */
  at: number;
  /** ms since the run started, when the request was sent. */
  sent: number;
  kind: string;
  /** 0: no HTTP answer (refused, reset, timed out). */
  status: number;
  ms: number;
  /** X-Cache of the answer (HIT, MISS, STALE) or "". */
  cache: string;
  error?: string;
  /** Sent again once on a new connection (its keep-alive connection was closed under it). */
  retried?: boolean;
}

export interface LoadRun {
  readonly startedAt: number;
  readonly samples: Sample[];
  /** Requests sent and not answered yet. */
  inFlight(): number;
  /** GETs sent again once because their keep-alive connection was closed under them (see send()). */
  retries(): number;
  /** ms since the run started. */
  now(): number;
  /** Stops sending, waits for the requests in flight, and returns every sample. */
  stop(): Promise<Sample[]>;
}

export interface LoadOptions {
  base: string;
  connections: number;
  next: () => Target;
  /** A request unanswered after this long counts as an error (default 30 s). */
  timeoutMs?: number;
  headers?: Record<string, string>;
}

export function startLoad(opts: LoadOptions): LoadRun {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections, maxFreeSockets: opts.connections });
  const startedAt = performance.now();
  const now = () => performance.now() - startedAt;
  const samples: Sample[] = [];
  let running = true;
  let inFlight = 0;
  let retries = 0;
  const loop = async () => {
    while (running) {
      const t = opts.next();
      const sent = now();
      let retried = false;
      inFlight++;
      try {
        const res = await send(opts.base, t.path, {
          agent,
          headers: { accept: "text/html,application/json;q=0.9", ...opts.headers, ...t.headers },
          timeoutMs: opts.timeoutMs ?? 30_000,
          discardBody: true,
          onRetry: () => {
            retries++;
            retried = true;
          },
        });
        const cache = res.headers["x-cache"];
        samples.push({ at: now(), sent, kind: t.kind, status: res.status, ms: res.ms, cache: typeof cache === "string" ? cache : "", retried });
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        samples.push({ at: now(), sent, kind: t.kind, status: 0, ms: now() - sent, cache: "", error: err.code ?? err.message, retried });
      } finally {
        inFlight--;
      }
    }
  };
  const loops = Array.from({ length: opts.connections }, loop);
  return {
    startedAt,
    samples,
    inFlight: () => inFlight,
    retries: () => retries,
    now,
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return samples;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Figures

export interface KindFigures {
  kind: string;
  requests: number;
  /** Answers by status ("200": 1234, "503": 5); "error" for no answer. */
  statuses: Record<string, number>;
  errors: number;
  /** Answers 500 and above. */
  serverErrors: number;
  p50: number;
  p99: number;
  max: number;
  /** Answers served from a copy while the database was away (X-Cache: STALE). */
  stale: number;
  /** GETs sent again once on a new connection (a keep-alive connection closed under them). */
  retried: number;
}

/** The q-quantile of sorted values (nearest rank). */
export function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Per kind (and "all"): counts by status, errors, p50/p99/max latency in ms. */
export function figures(samples: Sample[]): KindFigures[] {
  const byKind = new Map<string, Sample[]>();
  for (const s of samples) {
    const list = byKind.get(s.kind);
    if (list) list.push(s);
    else byKind.set(s.kind, [s]);
  }
  const one = (kind: string, list: Sample[]): KindFigures => {
    const statuses: Record<string, number> = {};
    for (const s of list) {
      const key = s.status === 0 ? "error" : String(s.status);
      statuses[key] = (statuses[key] ?? 0) + 1;
    }
    const ms = list
      .filter((s) => s.status !== 0)
      .map((s) => s.ms)
      .sort((a, b) => a - b);
    return {
      kind,
      requests: list.length,
      statuses,
      errors: list.filter((s) => s.status === 0).length,
      serverErrors: list.filter((s) => s.status >= 500).length,
      p50: round(quantile(ms, 0.5)),
      p99: round(quantile(ms, 0.99)),
      max: round(ms.at(-1) ?? 0),
      stale: list.filter((s) => s.cache === "STALE").length,
      retried: list.filter((s) => s.retried).length,
    };
  };
  const kinds = [...byKind.keys()].sort();
  return [...kinds.map((k) => one(k, byKind.get(k)!)), one("all", samples)];
}

const round = (n: number) => Math.round(n * 10) / 10;
