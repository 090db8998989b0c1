// Outgoing mail (nodemailer).
//  - SMTP_URL set: messages go to that SMTP server.
//  - SMTP_URL unset (development): each message is written as an .eml file under DATA_DIR/mail/ and
//    its links are logged, so a developer can follow a password-reset link without a mail server.
// The transport is looked up at send time; tests point it at their own SMTP server with setMailTransport().
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import nodemailer, { type Transporter } from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport";
import { config } from "../config.ts";
import { logger } from "../web/logger.ts";

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

/**
 * GROUNDWORK STUB (the jobs engineer builds it): enqueues `msg` as a "mail.send" job in `tx` (the write
 * that causes the mail; null: on its own), so a rolled-back write sends nothing and a committed one always
 * sends, with retries. Use this, never sendMail(), from request code.
 */
export async function enqueueMail(_tx: import("../jobs/index.ts").Tx | null, _msg: Message): Promise<void> {
  throw new Error("enqueueMail: not built yet");
}
