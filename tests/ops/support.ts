// Helpers for the operations tests: the real server in a child process, raw HTTP with any Host
// header, and a TCP proxy in front of PostgreSQL that can be slowed down or cut.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import http from "node:http";
import net from "node:net";
import { resolve } from "node:path";
import { gunzipSync } from "node:zlib";

export const ROOT = resolve(import.meta.dirname, "../..");

export { freePort } from "../../src/db/net.ts";

/** The environment of a child process: ours without vitest's markers (config exits on bad values only outside vitest). */
/** `undefined` in `extra` removes the variable. */
function childEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === "VITEST" || k.startsWith("VITEST_") || k === "TEST" || k === "TEST_DATABASE_URL") continue;
    env[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  child: ChildProcess;
  /** stdout + stderr so far. */
  output(): string;
  /** pino's JSON log lines so far, parsed. */
  logs(): Array<Record<string, unknown>>;
  /** Resolves when the output matches (rejects if the process exits first or after `ms`). */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  exited: Promise<Exit>;
  /** Set once "Folio is serving" was logged (see start()). */
  port: number;
  kill(signal?: NodeJS.Signals): void;
}

/** An OS user to run a child process as (from root): Node's spawn sets the ids and drops supplementary groups. */
export interface RunAs {
  uid: number;
  gid: number;
}

/** Runs `src/server.ts` (the same entry as `npm start`, without the tsx CLI wrapper) with `env`; `as`: another OS user. */
export function spawnServer(env: Record<string, string | undefined>, as?: RunAs): ServerProcess {
  return spawnProcess("src/server.ts", [], env, as);
}

/** Runs `script` (a path under the checkout, e.g. "src/cli/seed.ts") like spawnServer; the same handle. */
export function spawnProcess(script: string, args: string[], env: Record<string, string | undefined>, as?: RunAs): ServerProcess {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    cwd: ROOT,
    env: childEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
    ...(as ? { uid: as.uid, gid: as.gid } : {}),
  });
  let out = "";
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<Exit>((done) => child.on("exit", (code, signal) => done({ code, signal })));
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
    for (const l of listeners) l();
  });
  const proc: ServerProcess = {
    child,
    output: () => out,
    logs: () =>
      out
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    waitFor: (pattern, ms = 60_000) =>
      new Promise((done, fail) => {
        const check = () => {
          const m = out.match(pattern);
          if (m) finish(() => done(m));
          else if (hasExited) finish(() => fail(new Error(`process exited before ${pattern}; output:\n${out}`)));
        };
        const timer = setTimeout(() => finish(() => fail(new Error(`timed out waiting for ${pattern}; output:\n${out}`))), ms);
        const finish = (f: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          f();
        };
        listeners.add(check);
        check();
      }),
    exited,
    port: 0,
    kill: (signal = "SIGTERM") => {
      if (!hasExited) child.kill(signal);
    },
  };
  return proc;
}

/** Production settings for a spawned server (random secret, Host check on folio.test, port 0). */
export function productionEnv(databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: "production",
    DATABASE_URL: databaseUrl,
    SESSION_SECRET: randomBytes(36).toString("base64url"),
    JWT_KEYS: `t1:${randomBytes(36).toString("base64url")}`,
    SITE_URL: "http://folio.test",
    ALLOWED_HOSTS: "folio.test",
    HOST: "127.0.0.1",
    PORT: "0",
    SEED_DEMO: "false",
    LOG_LEVEL: "info",
    WEB_CONCURRENCY: "1", // production's default is one worker per CPU; tests/ops/cluster.test.ts tests that mode
    ...extra,
  };
}

/** A one-worker development server on this test file's database (TEST_DATABASE_URL), logging at info, on any port. */
export function testDatabaseEnv(dataDir: string, over: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    NODE_ENV: "development",
    DATABASE_URL: process.env.TEST_DATABASE_URL!,
    DATA_DIR: dataDir,
    HOST: "127.0.0.1",
    PORT: "0",
    SEED_DEMO: "false",
    LOG_LEVEL: "info", // the start-up line the harness waits for
    WEB_CONCURRENCY: "1",
    SMTP_URL: undefined,
    ...over,
  };
}

/** A development server on its own embedded PostgreSQL (DATA_DIR `dataDir`, on `pgPort`), listening on `port` (any when 0). */
export function embeddedEnv(dataDir: string, pgPort: number, port = 0): Record<string, string | undefined> {
  return {
    NODE_ENV: "development",
    LOG_LEVEL: "info",
    DATABASE_URL: undefined, // embedded, even when the suite runs against an external server
    SITE_URL: undefined, // the development default (follows PORT), not vitest's
    SEED_DEMO: "false",
    DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: String(pgPort),
    PORT: String(port),
    HOST: "127.0.0.1",
  };
}

/** Spawns a server and waits until it listens; `port` is then set. */
export async function startServerProcess(env: Record<string, string | undefined>, as?: RunAs): Promise<ServerProcess> {
  const proc = spawnServer(env, as);
  const m = await proc.waitFor(/Folio is serving .* \(listening on [^:]+:(\d+)\)/);
  proc.port = Number(m[1]);
  return proc;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** GET (or another method, with a body) with full control over the path and the Host header; gzip bodies are decoded. */
export function request(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  opts: { method?: string; agent?: http.Agent; body?: string } = {},
): Promise<RawResponse> {
  return new Promise((done, fail) => {
    const options = { host: "127.0.0.1", port, path, method: opts.method ?? "GET", headers: { host: "folio.test", ...headers }, agent: opts.agent ?? false };
    const req = http.request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        let buf = Buffer.concat(chunks);
        if (res.headers["content-encoding"] === "gzip") buf = gunzipSync(buf);
        done({ status: res.statusCode ?? 0, headers: res.headers, body: buf.toString("utf8") });
      });
      res.on("error", fail);
    });
    req.on("error", fail);
    req.end(opts.body);
  });
}

/** A TCP connection attempt: "connected" or the error code (ECONNREFUSED...). */
export function tryConnect(port: number): Promise<string> {
  return new Promise((done) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      done("connected");
    });
    s.once("error", (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

/**
 * A TCP proxy to PostgreSQL: `delayMs` holds client->server data back (a slow database);
 * `cut()` stops listening and drops every connection (a database outage); `restore()` undoes it.
 */
export class TcpProxy {
  delayMs = 0;
  port = 0;
  private server?: net.Server;
  private sockets = new Set<net.Socket>();
  private dataWaiters: Array<() => void> = [];

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static forUrl(url: string): TcpProxy {
    const u = new URL(url);
    return new TcpProxy(u.hostname, Number(u.port || 5432));
  }

  /** `url` with host:port replaced by the proxy's. */
  rewrite(url: string): string {
    const u = new URL(url);
    u.hostname = "127.0.0.1";
    u.port = String(this.port);
    return u.toString();
  }

  async start(port = 0): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      this.sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on("error", drop).on("close", drop);
      upstream.on("error", drop).on("close", drop);
      client.on("data", (chunk) => {
        for (const w of this.dataWaiters.splice(0)) w();
        const send = () => upstream.write(chunk);
        if (this.delayMs > 0) setTimeout(send, this.delayMs);
        else send();
      });
      upstream.on("data", (chunk) => client.write(chunk));
    });
    await new Promise<void>((done, fail) => {
      server.once("error", fail);
      server.listen(port, "127.0.0.1", () => done());
    });
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
  }

  /** Resolves at the next chunk a client sends through the proxy. */
  nextClientData(): Promise<void> {
    return new Promise((done) => this.dataWaiters.push(done));
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((done) => server.close(() => done()));
  }

  async restore(): Promise<void> {
    await this.start(this.port);
  }
}
