// WEB_CONCURRENCY > 1: a primary listens and hands connections to the workers it forks; dead workers
// are replaced (all of them at once too); SIGTERM serves every connection already accepted (in both
// modes), stops the workers in order and exits 0; a signal to a worker stops the whole server; a
// taken port fails the start.
import { afterAll, describe, expect, it } from "vitest";
import http from "node:http";
import net from "node:net";
import { productionEnv, request, spawnServer, startServerProcess, type ServerProcess } from "./support.ts";
import { until } from "../support/poll.ts";

const started: ServerProcess[] = [];
afterAll(() => {
  for (const p of started) p.kill("SIGKILL");
});

const workerPids = (proc: ServerProcess) =>
  new Set(
    proc
      .logs()
      .filter((l) => String(l.msg ?? "").startsWith("Folio is serving"))
      .map((l) => Number(l.pid)),
  );

/** Each worker logs "Folio is serving" itself, possibly just after the primary's "2 workers serving". */
const untilWorkers = (proc: ServerProcess, n: number, ms = 30_000) =>
  until(() => workerPids(proc), {
    label: `${n} workers have logged that they serve`,
    accept: (pids) => pids.size >= n,
    timeout: ms,
    interval: 100,
    context: () => `output:\n${proc.output()}`,
  });

/** The workers that answered GET /blog/ (200), over up to 20 requests until two different ones did. */
async function answeringWorkers(proc: ServerProcess): Promise<Set<number>> {
  const seen = new Set<number>();
  for (let i = 0; i < 20 && seen.size < 2; i++) {
    const res = await request(proc.port, "/blog/");
    expect(res.status).toBe(200);
    const id = String(res.headers["x-request-id"]);
    await proc.waitFor(new RegExp(`"pid":(\\d+)[^\\n]*"id":"${id}"`), 10_000).then((m) => seen.add(Number(m[1])));
  }
  return seen;
}

describe("cluster mode (WEB_CONCURRENCY=2), and the SIGTERM drain in both modes", () => {
  it("serves from two workers, replaces a dead one, and shuts down in order", async () => {
    const proc = await startServerProcess(productionEnv(process.env.TEST_DATABASE_URL!, { WEB_CONCURRENCY: "2" }));
    started.push(proc);
    await proc.waitFor(/2 workers serving/);
    const pids = await untilWorkers(proc, 2);
    expect(pids.size).toBe(2);
    expect(pids.has(proc.child.pid!)).toBe(false); // the primary serves nothing itself

    // Both workers answer (new connections are dealt round-robin by the primary).
    expect((await answeringWorkers(proc)).size).toBe(2);

    // A worker killed outright is replaced by a new one; the site keeps answering meanwhile.
    const victim = [...pids][0]!;
    process.kill(victim, "SIGKILL");
    await proc.waitFor(/worker died: starting a new one/);
    expect((await request(proc.port, "/healthz")).status).toBe(200);
    await untilWorkers(proc, 3);
    const fresh = [...workerPids(proc)].find((p) => !pids.has(p))!;
    expect(fresh).toBeGreaterThan(0);

    // SIGTERM: each worker drains and stops, then the primary; exit 0.
    const agent = new http.Agent({ keepAlive: true });
    expect((await request(proc.port, "/readyz", {}, { agent })).status).toBe(200);
    proc.kill("SIGTERM");
    const exit = await proc.exited;
    agent.destroy();
    expect(exit.code).toBe(0);
    const out = proc.output();
    expect(out).toMatch(/SIGTERM: stopping 2 workers/);
    expect(out.match(/"msg":"stopped"/g)?.length).toBe(3); // two workers + the primary
    expect(out.lastIndexOf(`"pid":${proc.child.pid},`)).toBeGreaterThan(out.lastIndexOf(`"pid":${fresh},`));
  }, 120_000);

  it("replaces every worker when all of them die at once (SIGKILL): the primary stays and new ones answer", async () => {
    const proc = await startServerProcess(productionEnv(process.env.TEST_DATABASE_URL!, { WEB_CONCURRENCY: "2" }));
    started.push(proc);
    const first = await untilWorkers(proc, 2);
    for (const pid of first) process.kill(pid, "SIGKILL");
    // Two new workers log that they serve; the primary is still the same process.
    await untilWorkers(proc, 4);
    const fresh = [...workerPids(proc)].filter((p) => !first.has(p));
    expect(fresh).toHaveLength(2);
    expect(proc.child.exitCode).toBeNull();
    expect([...(await answeringWorkers(proc))].sort()).toEqual([...fresh].sort());
    proc.kill("SIGTERM");
    expect((await proc.exited).code).toBe(0);
  }, 120_000);

  it.each([2, 1])(
    "SIGTERM: every connection accepted before the signal gets its full response, none reset (WEB_CONCURRENCY=%i)",
    async (workers) => {
      const proc = await startServerProcess(productionEnv(process.env.TEST_DATABASE_URL!, { WEB_CONCURRENCY: String(workers), SEED_DEMO: "true" }));
      started.push(proc);
      await untilWorkers(proc, workers);
      expect((await request(proc.port, "/blog/")).status).toBe(200);
      // 20 requests on 20 new connections; the signal as soon as all of them are connected (while
      // most still wait in the primary to be handed to a busy worker).
      let connected = 0;
      let allConnected!: () => void;
      const ready = new Promise<void>((done) => (allConnected = done));
      const results = Array.from(
        { length: 20 },
        (_, i) =>
          new Promise<{ status: number; complete: boolean; error?: string }>((done) => {
            const req = http.get(
              { host: "127.0.0.1", port: proc.port, path: `/blog/?page=${(i % 5) + 1}`, headers: { host: "folio.test", accept: "text/html" }, agent: false },
              (res) => {
                let body = "";
                res.setEncoding("latin1");
                res.on("data", (c: string) => (body += c));
                res.on("end", () => done({ status: res.statusCode ?? 0, complete: res.complete && body.length > 0 }));
                res.on("error", (e: NodeJS.ErrnoException) => done({ status: res.statusCode ?? 0, complete: false, error: e.code ?? e.message }));
              },
            );
            req.on("socket", (sock) => sock.once("connect", () => ++connected === 20 && allConnected()));
            req.on("error", (e: NodeJS.ErrnoException) => done({ status: 0, complete: false, error: e.code ?? e.message }));
          }),
      );
      await ready;
      proc.kill("SIGTERM");
      const got = await Promise.all(results);
      expect(got, proc.output().slice(-6000)).toEqual(Array.from({ length: 20 }, () => ({ status: 200, complete: true })));
      expect((await proc.exited).code).toBe(0);
    },
    120_000,
  );

  it("a signal sent to a worker stops the whole server in order (Ctrl-C signals every process of the group)", async () => {
    const proc = await startServerProcess(productionEnv(process.env.TEST_DATABASE_URL!, { WEB_CONCURRENCY: "2" }));
    started.push(proc);
    const pids = await untilWorkers(proc, 2);
    process.kill([...pids][0]!, "SIGINT");
    expect((await proc.exited).code).toBe(0);
    const out = proc.output();
    expect(out).toMatch(/SIGINT sent to worker \d+: stopping the server/);
    expect(out).not.toMatch(/worker died/);
    expect(out.match(/"msg":"stopped"/g)?.length).toBe(3);
  }, 120_000);

  it("fails the start (exit 1), naming the cause, when the port is taken", async () => {
    const blocker = net.createServer();
    await new Promise<void>((done) => blocker.listen(0, "127.0.0.1", () => done()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const proc = spawnServer(productionEnv(process.env.TEST_DATABASE_URL!, { WEB_CONCURRENCY: "2", PORT: String(port) }));
      started.push(proc);
      const exit = await proc.exited;
      expect(exit.code).toBe(1);
      expect(proc.output()).toMatch(new RegExp(`port ${port} in use`));
      expect(proc.output()).not.toMatch(/workers serving/);
    } finally {
      await new Promise<void>((done) => blocker.close(() => done()));
    }
  }, 120_000);
});
