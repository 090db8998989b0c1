// Uploading images through the real endpoint (POST /admin/media/upload/) as a signed-in author: each
// accepted format stored with its renditions on disk and served with immutable caching; metadata
// (EXIF with GPS) dropped and orientation applied; the same image twice is one item.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import request from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import type { Express } from "express";
import { buildApp } from "../../src/app.ts";
import { config } from "../../src/config.ts";
import { getMedia, type MediaItem } from "../../src/media/index.ts";
import { prisma, signedIn, type Signed } from "../support/fixtures.ts";
import { animatedGif, jpegWithExif, mediaFiles, photo, upload, useTempDataDir } from "./support.ts";

useTempDataDir();
let app: Express;
let author: Signed;

beforeAll(async () => {
  app = buildApp();
  author = await signedIn(app, "AUTHOR");
});

const onDisk = (key: string) => readFileSync(join(config.DATA_DIR, "media", key));

async function stored(id: unknown): Promise<MediaItem> {
  const item = await getMedia(Number(id));
  expect(item, `media ${String(id)}`).not.toBeNull();
  return item!;
}

/** Every file of the item is on disk with the bytes, format and size the row says, and is served as such. */
async function expectServed(item: MediaItem) {
  for (const r of item.renditions) {
    const bytes = onDisk(r.key);
    expect(bytes.length, r.key).toBe(r.bytes);
    const meta = await sharp(bytes).metadata();
    expect(meta.format === "heif" ? "avif" : meta.format, r.key).toBe(r.format);
    expect(meta.width, r.key).toBe(r.width);
    const res = await request(app)
      .get(`/media/${r.key}`)
      .buffer(true)
      .parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => cb(null, Buffer.concat(chunks)));
      });
    expect(res.status, r.key).toBe(200);
    expect(res.headers["content-type"]).toBe(`image/${r.format}`);
    expect(res.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers.etag).toMatch(/^"[0-9a-f]{64}-\d+\.(avif|webp|jpg|png|gif)"$/);
    expect(res.headers["set-cookie"]).toBeUndefined();
    expect(Buffer.compare(res.body as Buffer, bytes)).toBe(0);
  }
}

describe("uploads of each accepted format", () => {
  it("a JPEG: 201 with the item; the original and AVIF, WebP and JPEG renditions at each width below it", async () => {
    const jpg = await photo(1500, 1125).jpeg({ quality: 85 }).toBuffer();
    const a = await upload(author, jpg, "harbour at dawn.jpg");
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    const item = await stored(a.body.id);
    expect(item).toMatchObject({ mime: "image/jpeg", width: 1500, height: 1125, filename: "harbour at dawn.jpg", alt: "" });
    expect(item.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(item.storageKey).toBe(`${item.hash.slice(0, 2)}/${item.hash}-1500.jpg`);
    // 320, 640, 960, 1280 (at most 90% of 1500) and the original's width, in each format
    const by = (f: string) => item.renditions.filter((r) => r.format === f).map((r) => r.width);
    expect(by("avif")).toEqual([320, 640, 960, 1280, 1500]);
    expect(by("webp")).toEqual([320, 640, 960, 1280, 1500]);
    expect(by("jpeg")).toEqual([320, 640, 960, 1280, 1500]);
    expect(item.renditions.find((r) => r.width === 640)!.height).toBe(480);
    // the original is the stored file its hash names
    const original = onDisk(item.storageKey);
    const { createHash } = await import("node:crypto");
    expect(createHash("sha256").update(original).digest("hex")).toBe(item.hash);
    expect(item.bytes).toBe(original.length);
    // the answer: the widest JPEG up to 1920 (here the original), and its Markdown
    expect(a.body).toEqual({
      id: item.id,
      url: `/media/${item.storageKey}`,
      width: 1500,
      height: 1125,
      alt: "",
      filename: "harbour at dawn.jpg",
      markdown: `![](/media/${item.storageKey})`,
    });
    expect(a.type).toMatch(/^application\/json/);
    await expectServed(item);
    // the upload is in the audit log, by its author
    const entry = await prisma.auditLog.findFirst({ where: { model: "media.media", objectId: String(item.id) } });
    expect(entry).toMatchObject({ action: "ADD", userId: author.user.id, objectRepr: "harbour at dawn.jpg" });
  });

  it("a PNG with transparency keeps PNG as its base format (and alpha in AVIF and WebP)", async () => {
    const png = await sharp({ create: { width: 720, height: 400, channels: 4, background: { r: 200, g: 30, b: 30, alpha: 0.5 } } })
      .png()
      .toBuffer();
    const a = await upload(author, png, "badge.png", "image/png");
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    const item = await stored(a.body.id);
    expect(item.mime).toBe("image/png");
    expect([...new Set(item.renditions.map((r) => r.format))].sort()).toEqual(["avif", "png", "webp"]);
    expect(item.renditions.filter((r) => r.format === "png").map((r) => r.width)).toEqual([320, 640, 720]);
    const webp = item.renditions.find((r) => r.format === "webp" && r.width === 320)!;
    expect((await sharp(onDisk(webp.key)).metadata()).hasAlpha).toBe(true);
    await expectServed(item);
  });

  it("a WebP: stored as WebP; the base format (for <img> and og:image) is JPEG", async () => {
    const webp = await photo(800, 600).webp({ quality: 80 }).toBuffer();
    const a = await upload(author, webp, "street.webp", "image/webp");
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    const item = await stored(a.body.id);
    expect(item.mime).toBe("image/webp");
    expect(item.storageKey).toMatch(/-800\.webp$/);
    expect(item.renditions.filter((r) => r.format === "jpeg").map((r) => r.width)).toEqual([320, 640, 800]);
    expect(a.body.url).toMatch(/-800\.jpg$/);
    await expectServed(item);
  });

  it("an AVIF: accepted by its bytes (HEIF with AV1), stored as AVIF", async () => {
    const avif = await photo(640, 480).avif({ quality: 50, effort: 2 }).toBuffer();
    const a = await upload(author, avif, "photo.avif", "image/avif");
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    const item = await stored(a.body.id);
    expect(item.mime).toBe("image/avif");
    expect(item.storageKey).toMatch(/-640\.avif$/);
    expect([...new Set(item.renditions.map((r) => r.format))].sort()).toEqual(["avif", "jpeg", "webp"]);
    await expectServed(item);
  });

  it("an animated GIF stays animated: GIF renditions only, every frame kept", async () => {
    const gif = await animatedGif(400, 300, 3);
    const a = await upload(author, gif, "spinner.gif", "image/gif");
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    const item = await stored(a.body.id);
    expect(item).toMatchObject({ mime: "image/gif", width: 400, height: 300 });
    expect(item.renditions.map((r) => [r.format, r.width, r.height])).toEqual([
      ["gif", 320, 240],
      ["gif", 400, 300],
    ]);
    for (const r of item.renditions) expect((await sharp(onDisk(r.key)).metadata()).pages, r.key).toBe(3);
    await expectServed(item);
  });

  it("a still GIF gets AVIF and WebP renditions too", async () => {
    const gif = await photo(500, 300).gif().toBuffer();
    const a = await upload(author, gif, "still.gif", "image/gif");
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    const item = await stored(a.body.id);
    expect([...new Set(item.renditions.map((r) => r.format))].sort()).toEqual(["avif", "gif", "webp"]);
  });
});

describe("what is kept of an upload", () => {
  it("EXIF (GPS position, camera, owner) is dropped from every stored file, and a payload hidden in it is gone", async () => {
    const jpg = await jpegWithExif(900, 600);
    expect((await sharp(jpg).metadata()).exif).toBeDefined();
    expect(jpg.includes("FolioCam")).toBe(true);
    const a = await upload(author, jpg, "gps.jpg");
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    const item = await stored(a.body.id);
    for (const r of item.renditions) {
      const bytes = onDisk(r.key);
      const meta = await sharp(bytes).metadata();
      expect(meta.exif, r.key).toBeUndefined();
      expect(meta.xmp, r.key).toBeUndefined();
      expect(meta.iptc, r.key).toBeUndefined();
      expect(meta.orientation ?? 1, r.key).toBe(1);
      for (const secret of ["FolioCam", "secret-owner", "GPS"]) expect(bytes.includes(secret), `${r.key} holds ${secret}`).toBe(false);
    }
  });

  it("a JPEG comment carrying PHP is not kept (the stored file is re-encoded)", async () => {
    const clean = await photo(400, 300).jpeg().toBuffer();
    // a COM segment right after SOI: a valid JPEG that also contains PHP source
    const php = Buffer.from("<?php system($_GET['c']); ?>");
    const com = Buffer.concat([Buffer.from([0xff, 0xfe, 0, php.length + 2]), php]);
    const polyglot = Buffer.concat([clean.subarray(0, 2), com, clean.subarray(2)]);
    const a = await upload(author, polyglot, "polyglot.jpg");
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    const item = await stored(a.body.id);
    for (const r of item.renditions) expect(onDisk(r.key).includes("<?php"), r.key).toBe(false);
  });

  it("orientation is applied: a portrait photo stored sideways with EXIF orientation 6 is stored upright", async () => {
    // 300 x 200 as stored: the left half red, the right half blue; orientation 6 shows it turned 90° clockwise
    const px = Buffer.alloc(300 * 200 * 3);
    for (let y = 0; y < 200; y++) for (let x = 0; x < 300; x++) px.set(x < 150 ? [220, 0, 0] : [0, 0, 220], (y * 300 + x) * 3);
    const jpg = await sharp(px, { raw: { width: 300, height: 200, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const a = await upload(author, jpg, "portrait.jpg");
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    expect([a.body.width, a.body.height]).toEqual([200, 300]);
    const item = await stored(a.body.id);
    const { data, info } = await sharp(onDisk(item.storageKey)).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([200, 300]);
    const at = (x: number, y: number) => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3)];
    // turned clockwise: what was on the left is now at the top
    expect(at(100, 20)[0]).toBeGreaterThan(150);
    expect(at(100, 20)[2]).toBeLessThan(80);
    expect(at(100, 280)[2]).toBeGreaterThan(150);
    expect(at(100, 280)[0]).toBeLessThan(80);
  });
});

describe("the name it was uploaded under", () => {
  it("is only shown: its last path part (UTF-8), without control characters", async () => {
    const a = await upload(author, await photo(64, 40).png().toBuffer(), "../../etc/café ☕\u2028wd\u0085.png", "image/png");
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    expect(a.body.filename).toBe("café ☕wd.png");
    expect(mediaFiles().some((f) => f.includes("wd"))).toBe(false);
    // a NUL in the part's header: the multipart parser refuses the request (400, not a 500)
    const rows = await prisma.media.count();
    const nul = await upload(author, await photo(65, 40).png().toBuffer(), "x\u0000.png", "image/png");
    expect(nul.status).toBe(400);
    expect(nul.body.detail).toMatch(/could not be read/);
    expect(await prisma.media.count()).toBe(rows);
    const b = await upload(author, await photo(66, 40).png().toBuffer(), "  ", "image/png");
    expect([b.status, b.body.filename]).toEqual([201, "image.png"]);
    // no name at all: to the multipart parser, a text field
    const c = await upload(author, await photo(67, 40).png().toBuffer(), "", "image/png");
    expect(c.status).toBe(400);
    expect(c.body.detail).toMatch(/came without a file name/);
  });
});

describe("the same image twice", () => {
  it("the same bytes again: the same item, nothing new on disk", async () => {
    const jpg = await photo(500, 400).jpeg({ quality: 80 }).toBuffer();
    const first = await upload(author, jpg, "once.jpg");
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    const files = mediaFiles();
    const again = await upload(author, jpg, "twice.jpg");
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.filename).toBe("once.jpg");
    expect(mediaFiles()).toEqual(files);
    expect(await prisma.media.count({ where: { id: Number(first.body.id) } })).toBe(1);
  });

  it("the same image uploaded by two requests at once: one item (the unique hash decides), both answered with it", async () => {
    const jpg = await photo(520, 390).jpeg({ quality: 80 }).toBuffer();
    const other = await signedIn(app, "EDITOR");
    const [a, b] = await Promise.all([upload(author, jpg, "a.jpg"), upload(other, jpg, "b.jpg")]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.id).toBe(b.body.id);
    const item = await stored(a.body.id);
    expect(await prisma.media.count({ where: { hash: item.hash } })).toBe(1);
    expect(mediaFiles().filter((f) => f.includes(item.hash))).toHaveLength(item.renditions.length);
    expect(mediaFiles().filter((f) => /\.tmp$/.test(f))).toEqual([]);
  });
});
