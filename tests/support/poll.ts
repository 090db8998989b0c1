import { inspect } from "node:util";

// Waiting for a condition instead of for time to pass: the one poll loop of the tests. Two forms:
//
// - until(check, ms?) polls `check` (sync, or async such as a query) every 20 ms until it holds or `ms`
//   (5 s) have gone by, and returns whether it holds (assert on it: `expect(await until(...)).toBe(true)`).
//
// - until(read, { label, accept?, timeout?, interval?, context? }) polls `read` until `accept` (default:
//   a truthy value) holds for what it returned, and returns that value; on timeout it throws, naming the
//   label, what the last check saw and the `context` (a server's output, say):
//   `const state = await until(() => stateOf(id), { label: "the job has failed", accept: (s) => s === "failed" })`.

/** How the labelled form polls. */
export interface Poll<T> {
  /** What is awaited, for the failure message: "both workers serve". */
  label: string;
  /** Whether a value read is the one awaited (default: a truthy value). */
  accept?: (value: T) => boolean;
  /** At most this many ms (default 5 000). */
  timeout?: number;
  /** Between two checks, in ms (default 20). */
  interval?: number;
  /** More for the failure message, read on timeout (a server's output). */
  context?: () => string;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function until(check: () => boolean | Promise<boolean>, ms?: number): Promise<boolean>;
export function until<T>(read: () => T | Promise<T>, poll: Poll<T>): Promise<T>;
export async function until<T>(read: () => T | Promise<T>, poll: number | Poll<T> = 5_000): Promise<T | boolean> {
  const { label, accept = Boolean, timeout = 5_000, interval = 20, context }: Partial<Poll<T>> = typeof poll === "number" ? { timeout: poll } : poll;
  const t0 = Date.now();
  for (;;) {
    const seen = await read();
    if (accept(seen)) return label === undefined ? true : seen;
    if (Date.now() - t0 >= timeout) {
      if (label === undefined) return false;
      const saw = inspect(seen, { depth: 4, breakLength: 160, maxArrayLength: 20, maxStringLength: 500 });
      throw new Error(`timed out after ${timeout} ms waiting until ${label}; the last check saw ${saw}${context ? `\n${context()}` : ""}`);
    }
    await pause(interval);
  }
}
