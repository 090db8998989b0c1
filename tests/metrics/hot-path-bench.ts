// What counting a request costs (src/metrics/index.ts requestMetrics): CPU per request, with and without,
// over 1,000,000 requests of a named route (1 in 10 unrouted, 1 in 50 a 404) through the real middleware
// and prom-client's counter and histogram; the response is an EventEmitter standing in for Node's.
// A script, not a test (figures are printed, never asserted): npx tsx tests/metrics/hot-path-bench.ts
import { EventEmitter } from "node:events";
import { requestMetrics } from "../../src/metrics/index.ts";
import { route } from "../../src/web/urls.ts";

route("bench:list", "/bench/");
const N = 1_000_000;

function fake(i: number) {
  const res = Object.assign(new EventEmitter(), { statusCode: i % 50 ? 200 : 404, writableFinished: true, hasHeader: () => false });
  const req = { method: "GET", route: i % 10 ? { path: "/bench/" } : undefined, originalUrl: "/static/x.css" };
  return { req, res };
}

function run(withMetrics: boolean): number {
  const objs = Array.from({ length: 1000 }, (_, i) => fake(i));
  const t0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    const { req, res } = objs[i % 1000]!;
    if (withMetrics) requestMetrics(req as never, res as never, () => {});
    res.emit("close");
    res.removeAllListeners("close");
  }
  const cpu = process.cpuUsage(t0);
  return ((cpu.user + cpu.system) * 1000) / N;
}

for (let round = 1; round <= 3; round++) {
  const without = run(false);
  const withMetrics = run(true);
  console.log(`round ${round}: ${(withMetrics - without).toFixed(0)} ns CPU per request (with ${withMetrics.toFixed(0)}, without ${without.toFixed(0)})`);
}
process.exit(0);
