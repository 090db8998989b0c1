// A real SMTP server inside the test (smtp-server on a free port of 127.0.0.1) that keeps what it
// receives, and points the app's mail transport at it.
//
//   const smtp = await startSmtp();          // the app now sends to it (setMailTransport)
//   ... trigger a password reset ...
//   const msg = await smtp.waitFor((m) => m.to.includes("ann@example.test"));
//   const link = /https?:\/\/\S+/.exec(msg.text)![0];
//   await smtp.close();                      // and the app's transport is reset
//
// Mail is sent by jobs (enqueueMail): startSmtp() also runs the job workers in this test process
// (startJobs({ work: true }); close() stops them), so a mail enqueued by the app arrives here. Tests
// of spawned servers pass { jobs: false } and point SMTP_URL at `url` instead.
//
// Misbehaving on purpose: refuseNext(n, code) answers the next n messages' DATA with that code (4xx:
// "try again later", 5xx: refused) before accepting again; holdNext() keeps the next message waiting
// for its answer until released (a slow server, to interrupt a job in the middle of its send).
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { setMailTransport } from "../../src/mail/index.ts";
import { startJobs, stopJobs } from "../../src/jobs/index.ts";

export interface ReceivedMail {
  from: string;
  to: string[];
  headers: Record<string, string>;
  subject: string;
  /** The decoded text body. */
  text: string;
  raw: string;
}

/** Header/body split with quoted-printable / base64 decoding of a single-part text message. */
export function parseMessage(raw: string, envelope: { from: string; to: string[] }): ReceivedMail {
  const split = raw.search(/\r?\n\r?\n/);
  const head = raw.slice(0, split).replace(/\r?\n[ \t]+/g, " ");
  let body = raw.slice(split).replace(/^\r?\n\r?\n/, "");
  const headers: Record<string, string> = {};
  for (const line of head.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const cte = (headers["content-transfer-encoding"] ?? "").toLowerCase();
  if (cte === "quoted-printable") {
    const bytes = body.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
    body = Buffer.from(bytes, "latin1").toString("utf8");
  } else if (cte === "base64") {
    body = Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  }
  return { ...envelope, headers, subject: headers.subject ?? "", text: body.replace(/\r\n/g, "\n"), raw };
}

export interface TestSmtp {
  port: number;
  url: string;
  /** The messages accepted. */
  messages: ReceivedMail[];
  /** Messages whose DATA was answered with an error (refuseNext). */
  refused: number;
  /** The next `n` messages are answered `code` (451: try again later; 550: refused); later ones are accepted. */
  refuseNext(n: number, code?: number): void;
  /**
   * The next message waits for its answer until release() (accepted then); `arrived` resolves when its
   * data is in. A message whose sender hung up before release() is not kept (it was never acknowledged).
   */
  holdNext(): { arrived: Promise<void>; release(): void };
  /** Resolves with the first message (already received or arriving within `timeoutMs`) matching `pred`. */
  waitFor(pred?: (m: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
}

export async function startSmtp(opts: { jobs?: boolean } = {}): Promise<TestSmtp> {
  const jobs = opts.jobs ?? true;
  const messages: ReceivedMail[] = [];
  let refuse = { left: 0, code: 451 };
  let refused = 0;
  let hold: { arrived: () => void; released: Promise<void> } | undefined;
  const closed = new Set<string>(); // sessions whose client hung up
  const waiters: { pred: (m: ReceivedMail) => boolean; resolve: (m: ReceivedMail) => void }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onClose(session) {
      closed.add(session.id);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        void (async () => {
          if (refuse.left > 0) {
            refuse.left--;
            refused++;
            const err = Object.assign(new Error(refuse.code >= 500 ? "5.7.1 Message refused" : "4.3.0 Try again later"), { responseCode: refuse.code });
            return callback(err);
          }
          const held = hold;
          hold = undefined;
          if (held) {
            held.arrived();
            await held.released;
            // The client gave up (its process was stopped) while we held it: nothing was acknowledged.
            if (closed.has(session.id)) return callback(new Error("4.4.2 Connection dropped"));
          }
          const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
          const to = session.envelope.rcptTo.map((r) => r.address);
          const msg = parseMessage(Buffer.concat(chunks).toString("utf8"), { from, to });
          messages.push(msg);
          for (const w of [...waiters]) {
            if (w.pred(msg)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(msg);
            }
          }
          callback();
        })();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  const url = `smtp://127.0.0.1:${port}`;
  setMailTransport(url);
  if (jobs) await startJobs({ work: true });
  return {
    port,
    url,
    messages,
    get refused() {
      return refused;
    },
    refuseNext(n, code = 451) {
      refuse = { left: n, code };
    },
    holdNext() {
      let arrived!: () => void;
      let release!: () => void;
      const arrival = new Promise<void>((r) => (arrived = r));
      const released = new Promise<void>((r) => (release = r));
      hold = { arrived, released };
      return { arrived: arrival, release };
    },
    waitFor(pred = () => true, timeoutMs = 10_000) {
      const found = messages.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no matching e-mail arrived")), timeoutMs);
        waiters.push({ pred, resolve: (m) => (clearTimeout(timer), resolve(m)) });
      });
    },
    async close() {
      if (jobs) await stopJobs();
      setMailTransport(undefined);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
