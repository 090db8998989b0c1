// A sign-up is completed after its "check your e-mail" answer has gone out (so its timing says
// nothing about the address). The reader has been told, so a shutdown that comes meanwhile must still
// finish it. The real server process sends its welcome mail to a real SMTP server that holds the
// MAIL FROM reply until the process has begun shutting down (SIGTERM sent, "shutting down" logged):
// the mail must still arrive and the process exit 0 (src/web/after-response.ts, awaited by
// server.ts before the pool closes).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { afterAll, expect, it } from "vitest";
import { csrfFrom } from "../support/auth.ts";
import { startServerProcess, testDatabaseEnv, type ServerProcess } from "../ops/support.ts";
import { prisma } from "../../src/db/index.ts";

const dataDir = mkdtempSync(join(tmpdir(), "folio-signup-shutdown-"));
let server: ServerProcess | undefined;

/** What the held SMTP server got, and the switches the test turns. */
const smtp = { mailFromSeen: undefined as (() => void) | undefined, release: undefined as (() => void) | undefined, received: [] as string[] };
const held = new SMTPServer({
  authOptional: true,
  disabledCommands: ["STARTTLS", "AUTH"],
  logger: false,
  onMailFrom(_address, _session, callback) {
    smtp.mailFromSeen?.();
    smtp.release = () => callback();
  },
  onData(stream, session, callback) {
    stream.resume();
    stream.on("end", () => {
      smtp.received.push(...session.envelope.rcptTo.map((r) => r.address));
      callback();
    });
  },
});
await new Promise<void>((done) => held.listen(0, "127.0.0.1", () => done()));
const smtpPort = (held.server.address() as AddressInfo).port;

afterAll(async () => {
  server?.kill("SIGKILL");
  await new Promise<void>((done) => held.close(() => done()));
  rmSync(dataDir, { recursive: true, force: true });
});

it("a sign-up answered just before SIGTERM is completed, its mail sent, before the process exits (twice)", async () => {
  for (const n of [1, 2]) {
    server = await startServerProcess(testDatabaseEnv(dataDir, { SMTP_URL: `smtp://127.0.0.1:${smtpPort}` }));
    const base = `http://127.0.0.1:${server.port}`;
    const form = await fetch(`${base}/accounts/signup/`);
    const cookie = form.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
    const token = csrfFrom(await form.text());
    const password = "correct horse battery staple 9";
    const email = `late.${n}@example.test`;
    const body = new URLSearchParams({ _csrf: token, username: `late_${n}`, email, password1: password, password2: password });
    const mailStarted = new Promise<void>((done) => (smtp.mailFromSeen = done));
    const res = await fetch(`${base}/accounts/signup/`, { method: "POST", body, headers: { cookie, connection: "close" }, redirect: "manual" });
    expect(res.status).toBe(303);
    await mailStarted; // the account is made; its welcome mail is on its way
    server.kill("SIGTERM");
    await server.waitFor(/shutting down/);
    smtp.release!();
    expect((await server.exited).code).toBe(0);
    expect(smtp.received).toContain(email);
    expect((await prisma.user.findUnique({ where: { username: `late_${n}` } }))?.email).toBe(email);
  }
}, 120_000);
