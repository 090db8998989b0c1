// Work that runs after the answer has been sent (so that its timing says nothing: the sign-up and
// password-reset forms look up the address and write the account or token with its mail job here; the
// mail itself is sent by a job worker, src/jobs/index.ts). The reader has already been told
// "check your e-mail", so a shutdown must not cut it off: server.ts awaits settleAfterResponse()
// after the last request has drained and before it closes the database pool.
import { logger } from "./logger.ts";

const running = new Set<Promise<void>>();

/** Runs `work` once the current response has gone out; a failure is logged with `what`. */
export function afterResponse(what: string, work: () => Promise<unknown>, log: Pick<typeof logger, "error"> = logger): void {
  const task: Promise<void> = new Promise<void>((done) => setImmediate(done))
    .then(work)
    .then(
      () => {},
      (err: unknown) => log.error({ err }, what),
    )
    .finally(() => running.delete(task));
  running.add(task);
}

/** Waits for the work started by afterResponse() (at most `timeoutMs`); returns how many were still running then. */
export async function settleAfterResponse(timeoutMs: number): Promise<number> {
  if (!running.size) return 0;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<void>((done) => (timer = setTimeout(done, timeoutMs)));
  await Promise.race([Promise.allSettled([...running]), timedOut]);
  clearTimeout(timer);
  return running.size;
}
