// Images for the media library's tests: real files made by sharp, stored through the real upload path
// (saveUpload: renditions, storage under DATA_DIR/media) in a throwaway DATA_DIR for the test file.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll } from "vitest";
import { config } from "../../src/config.ts";
import { saveUpload, type MediaItem } from "../../src/media/index.ts";
import { prisma } from "../../src/db/index.ts";

/** Points DATA_DIR at a new temporary folder for this test file (removed after it). Returns the folder. */
export function useTempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "folio-media-"));
  const saved = config.DATA_DIR;
  config.DATA_DIR = dir;
  afterAll(() => {
    config.DATA_DIR = saved;
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

let n = 0;

/** A JPEG of `width` x `height` in a colour of its own (distinct bytes each call: a new item each time). */
export async function jpeg(width = 640, height = 480): Promise<Buffer> {
  n++;
  const background = { r: (n * 53) % 256, g: (n * 97) % 256, b: (n * 151) % 256 };
  return sharp({ create: { width, height, channels: 3, background } })
    .composite([{ input: Buffer.from(`<svg width="${width}" height="${height}"><text x="10" y="40" font-size="30">${n}</text></svg>`), top: 0, left: 0 }])
    .jpeg({ quality: 80 })
    .toBuffer();
}

/** An image uploaded through saveUpload by `userId`, with `alt` set directly when given. */
export async function uploaded(filename: string, userId: number | null, alt = "", size: [number, number] = [640, 480]): Promise<MediaItem> {
  const item = await saveUpload(await jpeg(...size), filename, userId);
  if (alt) await prisma.media.update({ where: { id: item.id }, data: { alt } });
  return { ...item, alt };
}
