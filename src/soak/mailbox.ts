// An SMTP server on 127.0.0.1 that counts what it is handed per recipient: the fleet's workers send
// the soak's mail jobs to it (SMTP_URL), and a job that ran twice shows as two messages.
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

export interface Mailbox {
  url: string;
  /** Messages received per recipient address. */
  received(to: string): number;
  close(): Promise<void>;
}

export async function startMailbox(): Promise<Mailbox> {
  const counts = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, session, done) {
      stream.on("data", () => {});
      stream.on("end", () => {
        for (const r of session.envelope.rcptTo) counts.set(r.address.toLowerCase(), (counts.get(r.address.toLowerCase()) ?? 0) + 1);
        done();
      });
    },
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => ok());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received: (to) => counts.get(to.toLowerCase()) ?? 0,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
