// Outgoing mail (nodemailer).
//  - SMTP_URL set: messages go to that SMTP server.
//  - SMTP_URL unset (development): each message is written as an .eml file under DATA_DIR/mail/ and
//    its links are logged, so a developer can follow a password-reset link without a mail server.
// The transport is looked up at send time; tests point it at their own SMTP server with setMailTransport().
// Request code never sends: it enqueues a "mail.send" job in its transaction (enqueueMail), which a
// worker sends (src/jobs/index.ts).
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import nodemailer, { type Transporter } from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport";
import { config } from "../config.ts";
import { logger } from "../web/logger.ts";
import { defineJob, enqueue, JobFailed, type Tx } from "../jobs/index.ts";

export interface Message {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

let override: string | undefined;
let cached: { url: string; transport: Transporter<SMTPTransport.SentMessageInfo> } | undefined;

/** Sends through `smtpUrl` from now on (undefined: back to SMTP_URL / .eml files). For tests. */
export function setMailTransport(smtpUrl: string | undefined): void {
  override = smtpUrl;
  cached?.transport.close();
  cached = undefined;
}

function smtpTransport(url: string) {
  if (cached?.url !== url) {
    cached?.transport.close();
    cached = { url, transport: nodemailer.createTransport(url) };
  }
  return cached.transport;
}

const mailDir = () => resolve(config.DATA_DIR, "mail");

/** Sends one message. Resolves with the message id once the server (or the .eml file) has it. */
export async function sendMail(msg: Message): Promise<{ messageId: string; file?: string }> {
  const url = override ?? config.SMTP_URL;
  const envelope = { from: config.MAIL_FROM, to: msg.to, subject: msg.subject, text: msg.text, html: msg.html };
  if (url) {
    const info = await smtpTransport(url).sendMail(envelope);
    logger.info({ messageId: info.messageId, subject: msg.subject }, "mail sent");
    return { messageId: info.messageId };
  }
  const buffered = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" });
  const info = await buffered.sendMail(envelope);
  const dir = mailDir();
  await mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const file = join(dir, `${stamp}-${Math.random().toString(36).slice(2, 8)}.eml`);
  await writeFile(file, info.message as Buffer, { mode: 0o600 });
  const links = msg.text.match(/https?:\/\/\S+/g) ?? [];
  logger.info({ file, subject: msg.subject, links }, "mail written to file (SMTP_URL not set)");
  return { messageId: info.messageId, file };
}

/** A mail job's payload: the message sealed with AES-256-GCM (it may hold a password-reset link). */
interface Sealed {
  v: 1;
  iv: string;
  tag: string;
  box: string;
}

/** The key that seals queued mail, derived from SESSION_SECRET (HKDF-SHA256): a job's row says nothing readable. */
const sealKey = () => Buffer.from(hkdfSync("sha256", config.SESSION_SECRET, "folio", "folio mail job v1", 32));

function seal(msg: Message): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", sealKey(), iv);
  const box = Buffer.concat([cipher.update(JSON.stringify(msg), "utf8"), cipher.final()]);
  return { v: 1, iv: iv.toString("base64url"), tag: cipher.getAuthTag().toString("base64url"), box: box.toString("base64url") };
}

export const UNSEALABLE_MESSAGE = "sealed under a previous SESSION_SECRET: cannot be opened; ask the user to request it again";

/**
 * Opens a sealed message. One that does not open (sealed under another SESSION_SECRET: the secret was
 * rotated while it was queued; or damaged) never will: JobFailed, so the job fails at once, not after
 * an hour of retries. The payload's key cannot outlive SESSION_SECRET without a second secret setting:
 * a key kept in the database would sit beside the sealed rows it protects.
 */
function unseal(sealed: Sealed): Message {
  try {
    const decipher = createDecipheriv("aes-256-gcm", sealKey(), Buffer.from(sealed.iv, "base64url"));
    decipher.setAuthTag(Buffer.from(sealed.tag, "base64url"));
    const text = Buffer.concat([decipher.update(Buffer.from(sealed.box, "base64url")), decipher.final()]).toString("utf8");
    return JSON.parse(text) as Message;
  } catch {
    throw new JobFailed(UNSEALABLE_MESSAGE);
  }
}

/**
 * The "mail.send" job: 1 attempt + 5 retries with exponential backoff from 60 s (pg-boss waits
 * 60-120 s, then 120-240 s, ... about 30-60 min in all before the job is kept as failed): an SMTP
 * server that refuses for a few minutes does not lose mail. 120 s per attempt at most.
 */
export const mailJob = defineJob<Sealed>({
  name: "mail.send",
  retryLimit: 5,
  retryDelaySeconds: 60,
  retryBackoff: true,
  expireInSeconds: 120,
  async handle(sealed) {
    await sendMail(unseal(sealed));
  },
});

/**
 * Enqueues `msg` as a "mail.send" job in `tx` (the write that causes the mail; null: on its own), so a
 * rolled-back write sends nothing and a committed one always sends, with retries. The message is
 * sealed (never readable in the job table, never logged). Use this, never sendMail(), from request code.
 */
export async function enqueueMail(tx: Tx | null, msg: Message): Promise<void> {
  await enqueue(tx, mailJob, seal(msg));
}
