// What Nginx's access log (the fleet's `folio` format: `... rt=$request_time upstream=$upstream_addr
// ust=$upstream_status ...`) says about one upstream app: the requests Nginx sent to it and how each
// attempt there ended. A SIGKILLed app's requests in flight end with an upstream error there (502:
// connection reset or refused; 504: timeout); Nginx then retries an idempotent one on the other app, or
// answers the client 502. So the attempts on the killed app's address that ended in an upstream error
// bound the client-visible failures the kill may cause: per app, not per fleet.
import { closeSync, openSync, readSync, statSync } from "node:fs";

export interface UpstreamAttempts {
  /** Requests (log lines) with at least one attempt on the address. */
  sent: number;
  /** Attempts on the address that ended without an answer from it (an upstream status >= 502, or none). */
  errors: number;
  /** Requests whose client answer was 5xx after an attempt on the address failed. */
  failedToClient: number;
}

/** The log's size now: read from here on with `attemptsOn`. */
export function logOffset(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** The attempts on upstream `address` (host:port) in the lines written to `file` after byte `from`. */
export function attemptsOn(file: string, from: number, address: string): UpstreamAttempts {
  const size = logOffset(file);
  const buf = Buffer.alloc(Math.max(0, size - from));
  const fd = openSync(file, "r");
  try {
    readSync(fd, buf, 0, buf.length, from);
  } finally {
    closeSync(fd);
  }
  const out: UpstreamAttempts = { sent: 0, errors: 0, failedToClient: 0 };
  for (const line of buf.toString("utf8").split("\n")) {
    const m = /" (\d{3}) \d+ rt=\S+ upstream=(.*?) ust=(.*?) urt=/.exec(line);
    if (!m) continue;
    // Attempts are listed in order, ", " between servers of one group and " : " across internal redirects.
    const addrs = m[2]!.split(/, | : /);
    const statuses = m[3]!.split(/, | : /);
    let tried = false;
    let failedHere = false;
    addrs.forEach((a, i) => {
      if (a !== address) return;
      tried = true;
      const s = Number(statuses[i]);
      if (!(s > 0 && s < 502)) failedHere = true;
    });
    if (!tried) continue;
    out.sent++;
    if (failedHere) {
      out.errors++;
      if (Number(m[1]) >= 500) out.failedToClient++;
    }
  }
  return out;
}
