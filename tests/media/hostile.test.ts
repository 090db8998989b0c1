// Hostile uploads (the list): a PHP or HTML file renamed .jpg, an SVG with a script, a
// decompression bomb, a 0-byte file, a 50 MB file, a truncated JPEG. Each is refused with a 4xx and a
// message naming the problem; nothing is written to the Media table or to disk. And who may upload.
import { renameSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import request from "supertest";
import type { Express } from "express";
import { buildApp } from "../../src/app.ts";
import { config } from "../../src/config.ts";
import { createUser, prisma, signedIn, type Signed } from "../support/fixtures.ts";
import { mediaFiles, photo, pngDeclaring, rawSession, upload, useTempDataDir } from "./support.ts";

useTempDataDir();
let app: Express;
let author: Signed;
let mediaRows = 0;
let files: string[] = [];

beforeAll(async () => {
  app = buildApp();
  author = await signedIn(app, "AUTHOR");
  // one image already stored: a refusal must leave it (and everything else) as it was
  const ok = await upload(author, await photo(400, 300).jpeg().toBuffer(), "kept.jpg");
  expect(ok.status).toBe(201);
});

beforeEach(async () => {
  mediaRows = await prisma.media.count();
  files = mediaFiles();
});

/** Nothing stored: the same rows and the same files as before the request. */
async function expectNothingStored() {
  expect(await prisma.media.count()).toBe(mediaRows);
  expect(mediaFiles()).toEqual(files);
}

async function expectRefused(bytes: Buffer, filename: string, contentType: string, message: RegExp, status = 400) {
  const a = await upload(author, bytes, filename, contentType);
  expect(a.status, JSON.stringify(a.body)).toBe(status);
  expect(a.type).toMatch(/^application\/problem\+json/);
  expect(a.body.detail).toMatch(message);
  expect((a.body.errors as Record<string, string>).file).toBe(a.body.detail);
  await expectNothingStored();
}

describe("hostile uploads: refused with a clear message, nothing stored", () => {
  it("a PHP script renamed .jpg", async () => {
    await expectRefused(Buffer.from("<?php system($_GET['cmd']); ?>\n"), "shell.jpg", "image/jpeg", /not an image Folio accepts.*whatever its name says/);
  });

  it("an HTML page renamed .jpg", async () => {
    await expectRefused(
      Buffer.from("<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"),
      "page.jpg",
      "image/jpeg",
      /not an image/,
    );
  });

  it("an SVG with a script (named .svg, and renamed .png)", async () => {
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><script>alert(1)</script><rect width="100" height="100" fill="red"/></svg>',
    );
    await expectRefused(svg, "logo.svg", "image/svg+xml", /SVG images are not accepted.*scripts/);
    await expectRefused(svg, "logo.png", "image/png", /SVG images are not accepted/);
  });

  it("a decompression bomb: a small PNG declaring 20000 x 20000 pixels, refused from its header", async () => {
    const bomb = pngDeclaring(20_000, 20_000);
    expect(bomb.length).toBeLessThan(10_000);
    await expectRefused(bomb, "bomb.png", "image/png", /20000 × 20000 pixels \(400 megapixels\).*at most 50 megapixels/);
  });

  it("an animated GIF whose frames together are over the pixel limit", async () => {
    const before = config.MEDIA_MAX_MEGAPIXELS;
    config.MEDIA_MAX_MEGAPIXELS = 1;
    try {
      const { animatedGif } = await import("./support.ts");
      await expectRefused(await animatedGif(400, 300, 10), "long.gif", "image/gif", /400 × 300 pixels in 10 frames \(1\.2 megapixels in all\)/);
    } finally {
      config.MEDIA_MAX_MEGAPIXELS = before;
    }
  });

  it("a 0-byte file", async () => {
    await expectRefused(Buffer.alloc(0), "empty.jpg", "image/jpeg", /The file is empty \(0 bytes\)/);
  });

  it("a truncated JPEG (cut in half)", async () => {
    const jpg = await photo(600, 400).jpeg().toBuffer();
    await expectRefused(jpg.subarray(0, Math.floor(jpg.length / 2)), "cut.jpg", "image/jpeg", /damaged or incomplete/);
  });

  it("a file over MEDIA_MAX_MB (a small limit): 413 with the limit named", async () => {
    const before = config.MEDIA_MAX_MB;
    config.MEDIA_MAX_MB = 1;
    try {
      await expectRefused(Buffer.alloc(1_048_577, 0xff), "big.jpg", "image/jpeg", /images may be at most 1 MB/, 413);
    } finally {
      config.MEDIA_MAX_MB = before;
    }
  });

  it("no file, or the file in another field: 400 naming the field", async () => {
    const none = await author.agent
      .post("/admin/media/upload/")
      .set("X-CSRF-Token", await author.session.csrf())
      .set("Accept", "application/json")
      .field("title", "x");
    expect(none.status).toBe(400);
    expect(none.body.errors.file).toMatch(/Choose an image file/);
    const other = await author.agent
      .post("/admin/media/upload/")
      .set("X-CSRF-Token", await author.session.csrf())
      .attach("image", await photo(50, 50).png().toBuffer(), "x.png");
    expect(other.status).toBe(400);
    expect(other.body.errors.file).toMatch(/field “file”/);
    const two = await author.agent
      .post("/admin/media/upload/")
      .set("X-CSRF-Token", await author.session.csrf())
      .attach("file", await photo(50, 50).png().toBuffer(), "x.png")
      .attach("file", await photo(60, 50).png().toBuffer(), "y.png");
    expect(two.status).toBe(400);
    expect(two.body.errors.file).toMatch(/one image at a time/);
    await expectNothingStored();
  });
});

describe("a 50 MB file: the parser stops keeping it at the limit", () => {
  let server: http.Server;
  let port: number;
  let session: { cookie: string; csrf: string };

  beforeAll(async () => {
    server = http.createServer(app);
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    port = (server.address() as AddressInfo).port;
    const { user, password } = await createUser({ role: "AUTHOR" });
    session = await rawSession(app, user.username, password);
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

  const boundary = "----folio-test-boundary";
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="huge.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);

  function post(headers: Record<string, string | number>) {
    const req = http.request({
      host: "127.0.0.1",
      port,
      method: "POST",
      path: "/admin/media/upload/",
      headers: {
        Cookie: session.cookie,
        "X-CSRF-Token": session.csrf,
        Accept: "application/json",
        "Content-Type": `multipart/form-data; boundary=${boundary}`,
        ...headers,
      },
    });
    const answer = new Promise<{ status: number; body: Record<string, unknown> }>((ok, fail) => {
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => ok({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) }));
      });
      req.on("error", fail);
    });
    return { req, answer };
  }

  it("streamed without a length (chunked): the whole 50 MB is sent, 413 with the limit, nothing stored", async () => {
    const { req, answer } = post({ "Transfer-Encoding": "chunked" });
    req.write(head);
    const mb = Buffer.alloc(1_048_576, 0xab);
    mb.set([0xff, 0xd8, 0xff, 0xe0]); // starts like a JPEG
    for (let i = 0; i < 50; i++) if (!req.write(mb)) await new Promise((ok) => req.once("drain", ok));
    req.end(tail);
    const a = await answer;
    expect(a.status).toBe(413);
    expect(a.body.detail).toMatch(/images may be at most 20 MB/);
    expect((a.body.errors as Record<string, string>).file).toBe(a.body.detail);
    await expectNothingStored();
  });

  it("with its length declared: refused before the body is read (the answer comes while the client has sent almost nothing)", async () => {
    const total = head.length + 50 * 1_048_576 + tail.length;
    const { req, answer } = post({ "Content-Length": total });
    req.write(head);
    req.write(Buffer.alloc(64 * 1024));
    // the rest is never sent: the refusal cannot have waited for it
    const a = await answer;
    req.destroy();
    expect(a.status).toBe(413);
    expect(a.body.detail).toMatch(/images may be at most 20 MB/);
    await expectNothingStored();
  });
});

describe("when the storage fails", () => {
  it("the files cannot be written (DATA_DIR/media is not a folder): 503 with a message, no row", async () => {
    const dir = join(config.DATA_DIR, "media");
    renameSync(dir, `${dir}.away`);
    writeFileSync(dir, "not a folder");
    try {
      const a = await upload(author, await photo(300, 200).jpeg().toBuffer(), "no-disk.jpg");
      expect(a.status, JSON.stringify(a.body)).toBe(503);
      expect(a.type).toMatch(/^application\/problem\+json/);
      expect(a.body.detail).toMatch(/could not be stored right now/);
      expect(await prisma.media.count()).toBe(mediaRows);
    } finally {
      rmSync(dir);
      renameSync(`${dir}.away`, dir);
    }
    expect(mediaFiles()).toEqual(files);
  });
});

describe("who may upload", () => {
  const png = () => photo(80, 60).png().toBuffer();

  it("a reader: 403, nothing stored", async () => {
    const reader = await signedIn(app, "READER");
    const a = await upload(reader, await png(), "r.png", "image/png");
    expect(a.status).toBe(403);
    await expectNothingStored();
  });

  it("an anonymous visitor with a valid session token: 403; without one: 403 (CSRF)", async () => {
    const agent = request.agent(app);
    const page = await agent.get("/accounts/login/").expect(200);
    const token = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const withToken = await agent
      .post("/admin/media/upload/")
      .set("X-CSRF-Token", token)
      .set("Accept", "application/json")
      .attach("file", await png(), "a.png");
    expect(withToken.status).toBe(403);
    const bare = await request(app)
      .post("/admin/media/upload/")
      .set("Accept", "application/json")
      .attach("file", await png(), "a.png");
    expect(bare.status).toBe(403);
    expect(bare.body.detail).toMatch(/CSRF/);
    await expectNothingStored();
  });

  it("an author without the CSRF header: 403, nothing stored", async () => {
    const res = await author.agent
      .post("/admin/media/upload/")
      .set("Accept", "application/json")
      .attach("file", await png(), "a.png");
    expect(res.status).toBe(403);
    await expectNothingStored();
  });

  it("editors and admins may (and an author, above)", async () => {
    for (const role of ["EDITOR", "ADMIN"] as const) {
      const s = await signedIn(app, role);
      const a = await upload(
        s,
        await photo(90, 60 + role.length)
          .png()
          .toBuffer(),
        `${role}.png`,
        "image/png",
      );
      expect(a.status, role).toBe(201);
    }
  });
});
