// Helpers of the media tests: a DATA_DIR of the test file's own (uploads land in DATA_DIR/media), real
// image files made with sharp, an upload through the real endpoint, and the files on disk.
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { deflateSync } from "node:zlib";
import sharp from "sharp";
import request from "supertest";
import type { Express } from "express";
import { config } from "../../src/config.ts";
import { csrfFrom, sessionCookie } from "../support/auth.ts";
import type { Signed } from "../support/fixtures.ts";

// A throwaway DATA_DIR for the test file: the media library's helper (one copy).
export { useTempDataDir } from "./library-support.ts";

/** Every file under DATA_DIR/media (relative paths, sorted), temporary files included. */
export function mediaFiles(): string[] {
  const root = join(config.DATA_DIR, "media");
  const out: string[] = [];
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

/** A photo-like RGB picture (gradients and texture, so encoders have work to do). */
export function photoPixels(width: number, height: number): { data: Buffer; raw: { width: number; height: number; channels: 3 } } {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = ((x * 255) / width + Math.sin(x * 0.3 + y * 0.1) * 20) & 255;
      data[i + 1] = ((y * 255) / height + ((x * y) % 17)) & 255;
      data[i + 2] = (((x + y) * 128) / (width + height) + ((x * 7 + y * 13) % 31)) & 255;
    }
  return { data, raw: { width, height, channels: 3 } };
}

export const photo = (width: number, height: number) => {
  const p = photoPixels(width, height);
  return sharp(p.data, { raw: p.raw });
};

/** A JPEG with EXIF: GPS position, camera, a comment, and (optionally) an orientation. */
export async function jpegWithExif(width: number, height: number, orientation?: number): Promise<Buffer> {
  let s = photo(width, height)
    .jpeg({ quality: 85 })
    .withExif({
      IFD0: { Make: "FolioCam", Model: "Test 1", Copyright: "secret-owner" },
      IFD3: { GPSLatitudeRef: "N", GPSLatitude: "48/1 51/1 2400/100", GPSLongitudeRef: "E", GPSLongitude: "2/1 21/1 300/100" },
    });
  if (orientation) s = s.withMetadata({ orientation });
  return s.toBuffer();
}

/** An animated GIF of `frames` frames of width x height, each a different colour. */
export async function animatedGif(width: number, height: number, frames: number): Promise<Buffer> {
  const data = Buffer.alloc(width * height * frames * 3);
  for (let f = 0; f < frames; f++)
    for (let i = 0; i < width * height; i++) {
      const o = (f * width * height + i) * 3;
      data[o] = (f * 80) & 255;
      data[o + 1] = (i % width) & 255;
      data[o + 2] = 255 - ((f * 60) & 255);
    }
  return sharp(data, { raw: { width, height: height * frames, channels: 3, pageHeight: height } })
    .gif({ loop: 0, delay: Array(frames).fill(100) })
    .toBuffer();
}

/** A PNG whose header declares width x height but whose pixel data is a few bytes (a decompression bomb's header). */
export function pngDeclaring(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, body: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    const tb = Buffer.concat([Buffer.from(type, "ascii"), body]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(tb));
    return Buffer.concat([len, tb, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  // a few rows of zeros: the whole image would inflate to width*height*3 bytes
  const idat = deflateSync(Buffer.alloc((width * 3 + 1) * 4), { level: 9 });
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", idat),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

export interface UploadAnswer {
  status: number;
  body: Record<string, unknown>;
  type: string;
}

/** POSTs `bytes` as the multipart field `file` to the upload endpoint, with the session's token in X-CSRF-Token. */
export async function upload(s: Signed, bytes: Buffer, filename: string, contentType = "image/jpeg"): Promise<UploadAnswer> {
  const res = await s.agent
    .post("/admin/media/upload/")
    .set("X-CSRF-Token", await s.session.csrf())
    .set("Accept", "application/json")
    .attach("file", bytes, { filename, contentType });
  return { status: res.status, body: (res.body ?? {}) as Record<string, unknown>, type: String(res.headers["content-type"]) };
}

/** A session (cookie and CSRF token) signed in by hand, for raw http requests. */
export async function rawSession(app: Express, username: string, password: string): Promise<{ cookie: string; csrf: string }> {
  const page = await request(app).get("/accounts/login/").expect(200);
  let cookie = sessionCookie(page)!;
  const res = await request(app)
    .post("/accounts/login/")
    .set("Cookie", cookie)
    .type("form")
    .send({ _csrf: csrfFrom(page.text), username, password })
    .expect(303);
  cookie = sessionCookie(res) ?? cookie;
  const profile = await request(app).get("/accounts/profile/").set("Cookie", cookie).expect(200);
  return { cookie, csrf: csrfFrom(profile.text) };
}
