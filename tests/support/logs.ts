// Captures what the request loggers (req.log: children of the app's pino logger) write at one level.
//
//   const warnings = captureRequestLogs("warn");   // before the requests
//   ... requests ...
//   expect(warnings.some((args) => String(args[1]).includes("..."))).toBe(true);
//   vi.restoreAllMocks();                          // afterwards (e.g. in afterEach)
import { vi } from "vitest";
import { logger } from "../../src/web/logger.ts";

/** The argument lists of every `level` call on a request logger made from now on (the lines are not written). */
export function captureRequestLogs(level: "warn" | "error"): unknown[][] {
  const calls: unknown[][] = [];
  const realChild = logger.child.bind(logger);
  vi.spyOn(logger, "child").mockImplementation((bindings, options) => {
    const c = realChild(bindings, options);
    vi.spyOn(c, level).mockImplementation((...args: unknown[]) => void calls.push(args));
    return c;
  });
  return calls;
}
