// Requests Node's HTTP parser rejects before Express sees them: a request line or headers over
// Node's 16 KB limit (a 20,000-character path), a malformed request line, a header timeout. Node's
// own answer is a bare status line with no body; this one is the site's error page (error.njk,
// rendered once per status) with the same security headers as every page, then the connection closes.
import type { Server } from "node:http";
import type { Duplex } from "node:stream";
import type { Express } from "express";
import { config } from "../config.ts";
import { SECURITY_HEADERS } from "./security.ts";

// Node's choice of status for each parser error (lib/_http_server.js), with the site's wording.
const ANSWERS: Record<string, { status: number; reason: string; message: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, reason: "Request Header Fields Too Large", message: "The address or the request headers are too long." },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, reason: "Payload Too Large", message: "The request is too large." },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, reason: "Request Timeout", message: "The request took too long to arrive." },
};
const BAD_REQUEST = { status: 400, reason: "Bad Request", message: "The request could not be understood." };

/** Answers parser-level client errors on `server` with the site's error page (see above). */
export function answerClientErrors(server: Server, app: Express): void {
  const pages = new Map<number, Promise<string>>();
  const page = (a: typeof BAD_REQUEST) => {
    let html = pages.get(a.status);
    if (!html) {
      html = new Promise<string>((resolve) => {
        const context = {
          status: a.status,
          title: a.reason,
          message: a.message,
          fields: {},
          user: null,
          currentPath: "",
          signupEnabled: config.SIGNUP_ENABLED,
          meta: {},
        };
        app.render("error.njk", context, (err: Error | null, out?: string) =>
          resolve(err || !out ? `<!doctype html><title>${a.status} ${a.reason}</title><h1>${a.reason}</h1>` : out),
        );
      });
      pages.set(a.status, html);
    }
    return html;
  };
  server.on("clientError", (err: Error & { code?: string }, socket: Duplex) => {
    // A reset connection or one already answering (a response on its way): nothing to say.
    if (err.code === "ECONNRESET" || !socket.writable || (socket as { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    const answer = ANSWERS[err.code ?? ""] ?? BAD_REQUEST;
    void page(answer).then((body) => {
      if (!socket.writable) return socket.destroy();
      const headers = SECURITY_HEADERS.map(([n, v]) => `${n}: ${v}\r\n`).join("");
      socket.end(
        `HTTP/1.1 ${answer.status} ${answer.reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `Cache-Control: no-store\r\n${headers}Connection: close\r\n\r\n${body}`,
      );
    });
  });
}
