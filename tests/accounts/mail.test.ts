// Outgoing mail without SMTP_URL: each message becomes an .eml file under DATA_DIR/mail/.
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { config } from "../../src/config.ts";
import { sendMail, setMailTransport } from "../../src/mail/index.ts";
import { parseMessage } from "../support/smtp.ts";

const dir = mkdtempSync(join(tmpdir(), "folio-mail-"));
const saved = { DATA_DIR: config.DATA_DIR, SMTP_URL: config.SMTP_URL };
config.DATA_DIR = dir;
config.SMTP_URL = undefined;
setMailTransport(undefined);

afterAll(() => {
  Object.assign(config, saved);
  rmSync(dir, { recursive: true, force: true });
});

describe("mail without SMTP_URL", () => {
  it("writes an .eml file (readable only by the owner) with headers and body", async () => {
    const res = await sendMail({ to: "ann@example.test", subject: "Hello Ann", text: "Follow http://folio.test/accounts/reset/abc/ please." });
    expect(res.file).toBeDefined();
    expect(res.file!.startsWith(join(dir, "mail") + "/")).toBe(true); // DATA_DIR/mail/
    const raw = readFileSync(res.file!, "utf8");
    const msg = parseMessage(raw, { from: "", to: [] });
    expect(msg.headers.to).toBe("ann@example.test");
    expect(msg.subject).toBe("Hello Ann");
    expect(msg.headers.from).toContain(config.MAIL_FROM.replace(/^.*</, "").replace(/>$/, ""));
    expect(msg.text).toContain("http://folio.test/accounts/reset/abc/");
    expect(statSync(res.file!).mode & 0o777).toBe(0o600);
  });

  it("header injection in the subject is neutralised by nodemailer", async () => {
    const res = await sendMail({ to: "ann@example.test", subject: "Hi\r\nBcc: victim@example.test", text: "x" });
    const raw = readFileSync(res.file!, "utf8");
    expect(raw).not.toMatch(/^Bcc:/m);
  });
});
