// A real Redis server for a test file: Debian's /usr/bin/redis-server (installed by .ci/run) on a free
// port of 127.0.0.1, in a throwaway folder, without persistence (no RDB snapshots, no AOF). It can be
// stopped, killed (SIGKILL: an outage) and started again on the same port, so clients that keep the
// URL reconnect to it.
//
//   const redis = await startRedis();        // redis.url: redis://127.0.0.1:<port>
//   await redis.kill();                      // gone (connections reset)
//   await redis.restart();                   // back, empty (no persistence), same port
//   await redis.stop();                      // at the end (afterAll)
//
// For in-process tests of the app: connectAppToRedis() starts one and connects this process's Redis
// client (src/cache/redis.ts) to it through a TCP proxy, so a test can cut the network while Redis
// keeps its data (proxy.cut() / proxy.restore()); `raw` is a direct connection to look at what is stored.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type RedisClientType } from "redis";
import { expect } from "vitest";
import { config } from "../../src/config.ts";
import { freePort } from "../../src/db/net.ts";
import { closeRedis, connectRedis, redisAvailable } from "../../src/cache/redis.ts";
import { TcpProxy } from "../ops/support.ts";

export const REDIS_SERVER = process.env.REDIS_SERVER_BIN || "/usr/bin/redis-server";

export interface TestRedis {
  port: number;
  url: string;
  /** Output of the current (or last) redis-server process. */
  output(): string;
  /** Starts it again on the same port (after kill() or stop()). */
  restart(): Promise<void>;
  /** SIGKILL: an outage as clients see it (sockets reset, nothing saved). */
  kill(): Promise<void>;
  /** SIGTERM and remove the folder. */
  stop(): Promise<void>;
}

function waitForPort(port: number, proc: ChildProcess, out: () => string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((done, fail) => {
    const attempt = () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return fail(new Error(`redis-server exited (${proc.exitCode ?? proc.signalCode}):\n${out()}`));
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => {
        // Accepting connections; PING until it answers (it may still be loading).
        s.write("PING\r\n");
        s.once("data", (d) => {
          s.destroy();
          if (d.toString().startsWith("+PONG")) done();
          else retry();
        });
      });
      s.once("error", () => {
        s.destroy();
        retry();
      });
    };
    const retry = () => {
      if (Date.now() > end) return fail(new Error(`redis-server did not answer on port ${port} within ${ms} ms:\n${out()}`));
      setTimeout(attempt, 25);
    };
    attempt();
  });
}

/** Starts a redis-server for this test file. Fails (never skips) when the binary is missing. */
export async function startRedis(): Promise<TestRedis> {
  if (!existsSync(REDIS_SERVER)) {
    throw new Error(`${REDIS_SERVER} is missing: install Redis (apt-get install -y redis-server; .ci/run does) to run the Redis tests`);
  }
  const dir = mkdtempSync(join(tmpdir(), "folio-redis-"));
  const port = await freePort();
  let proc: ChildProcess | undefined;
  let out = "";

  const launch = async () => {
    out = "";
    const child = spawn(
      REDIS_SERVER,
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--protected-mode",
        "yes",
        "--logfile",
        "",
        "--loglevel",
        "warning",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    proc = child;
    await waitForPort(port, child, () => out);
  };

  const end = async (signal: NodeJS.Signals) => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((done) => p.once("exit", () => done()));
    p.kill(signal);
    await exited;
  };

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    output: () => out,
    restart: async () => {
      await end("SIGKILL");
      await launch();
    },
    kill: () => end("SIGKILL"),
    stop: async () => {
      await end("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type RawRedis = RedisClientType;

/** A plain connection to `url` (reconnecting every 50 ms), to read and write keys as another process would. */
export async function rawClient(url: string): Promise<RawRedis> {
  const c: RawRedis = createClient({ url, socket: { reconnectStrategy: 50 } });
  c.on("error", () => {});
  await c.connect();
  return c;
}

export interface AppRedis {
  redis: TestRedis;
  /** Between the app's connection and Redis: cut() is a network split, restore() ends it. */
  proxy: TcpProxy;
  raw: RawRedis;
  /** Closes the app's connection and everything started here (afterAll). */
  close(): Promise<void>;
}

/** Starts a redis-server and connects this process's app to it (config.REDIS_URL, connectRedis()) through a TCP proxy. */
export async function connectAppToRedis(): Promise<AppRedis> {
  const redis = await startRedis();
  const proxy = new TcpProxy("127.0.0.1", redis.port);
  await proxy.start();
  config.REDIS_URL = proxy.rewrite(redis.url);
  await connectRedis();
  expect(redisAvailable()).toBe(true);
  const raw = await rawClient(redis.url);
  return {
    redis,
    proxy,
    raw,
    close: async () => {
      await raw.close().catch(() => raw.destroy());
      await closeRedis();
      config.REDIS_URL = undefined;
      await proxy.cut();
      await redis.stop();
    },
  };
}
