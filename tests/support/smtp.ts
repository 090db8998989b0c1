// A real SMTP server inside the test (smtp-server on a free port of 127.0.0.1) that keeps what it
// receives, and points the app's mail transport at it.
//
//   const smtp = await startSmtp();          // the app now sends to it (setMailTransport)
//   ... trigger a password reset ...
//   const msg = await smtp.waitFor((m) => m.to.includes("ann@example.test"));
//   const link = /https?:\/\/\S+/.exec(msg.text)![0];
//   await smtp.close();                      // and the app's transport is reset
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { setMailTransport } from "../../src/mail/index.ts";

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
  messages: ReceivedMail[];
  /** Resolves with the first message (already received or arriving within `timeoutMs`) matching `pred`. */
  waitFor(pred?: (m: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
}

export async function startSmtp(): Promise<TestSmtp> {
  const messages: ReceivedMail[] = [];
  const waiters: { pred: (m: ReceivedMail) => boolean; resolve: (m: ReceivedMail) => void }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
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
  return {
    port,
    url,
    messages,
    waitFor(pred = () => true, timeoutMs = 10_000) {
      const found = messages.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no matching e-mail arrived")), timeoutMs);
        waiters.push({ pred, resolve: (m) => (clearTimeout(timer), resolve(m)) });
      });
    },
    close() {
      setMailTransport(undefined);
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
