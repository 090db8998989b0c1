// Serving stored images (GET/HEAD /media/<key>): headers, conditional requests, and 404 for every key
// that is not of the stored shape or not stored (path traversal in all its spellings). And the helpers
// pages use: pictureHtml, socialImageUrl, the Markdown engineer's mediaByUrls, getMedia, mediaForIds.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import request from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import type { Express } from "express";
import { buildApp } from "../../src/app.ts";
import { config } from "../../src/config.ts";
import { getMedia, mediaByUrls, mediaForIds, mediaUrl, pictureHtml, saveUpload, socialImageUrl, type MediaItem } from "../../src/media/index.ts";
import { createUser } from "../support/fixtures.ts";
import { photo, useTempDataDir } from "./support.ts";

useTempDataDir();
let app: Express;
let item: MediaItem;
let small: MediaItem;

beforeAll(async () => {
  app = buildApp();
  const { user } = await createUser({ role: "AUTHOR" });
  item = await saveUpload(await photo(2000, 1200).jpeg({ quality: 80 }).toBuffer(), "wide.jpg", user.id);
  small = await saveUpload(await photo(500, 300).png().toBuffer(), "small.png", user.id);
  // files near the media folder that no URL may reach
  writeFileSync(join(config.DATA_DIR, "secret.txt"), "top secret");
  mkdirSync(join(config.DATA_DIR, "media", "ab"), { recursive: true });
  writeFileSync(join(config.DATA_DIR, "media", "ab", "notes.txt"), "not an image");
});

describe("GET /media/<key>", () => {
  it("HEAD: the headers of GET, no body", async () => {
    const r = item.renditions.find((x) => x.format === "avif" && x.width === 640)!;
    const res = await request(app).head(mediaUrl(r.key));
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("image/avif");
    expect(res.headers["content-length"]).toBe(String(r.bytes));
    expect(res.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.text ?? "").toBe("");
  });

  it("If-None-Match with the file's ETag: 304", async () => {
    const url = mediaUrl(item.storageKey);
    const first = await request(app).get(url).expect(200);
    const again = await request(app).get(url).set("If-None-Match", String(first.headers.etag));
    expect(again.status).toBe(304);
    const other = await request(app).get(url).set("If-None-Match", '"something-else"');
    expect(other.status).toBe(200);
  });

  it("a well-formed key of no stored file: 404", async () => {
    const unknown = `${"0".repeat(2)}/${"0".repeat(64)}-640.jpg`;
    expect((await request(app).get(`/media/${unknown}`)).status).toBe(404);
    // a real image's hash with a width or format it does not have
    expect((await request(app).get(`/media/${item.hash.slice(0, 2)}/${item.hash}-641.jpg`)).status).toBe(404);
    expect((await request(app).get(`/media/${item.hash.slice(0, 2)}/${item.hash}-2000.gif`)).status).toBe(404);
  });

  it("anything not of the exact stored shape: 404 (traversal, encodings, backslashes, NUL, case, extra parts)", async () => {
    const k = item.storageKey; // "<h2>/<hash>-2000.jpg"
    const [dir, file] = k.split("/") as [string, string];
    const attempts = [
      "/media/../secret.txt",
      "/media/../../etc/passwd",
      "/media/%2e%2e/secret.txt",
      "/media/%2e%2e%2fsecret.txt",
      "/media/ab/..%2f..%2fsecret.txt",
      "/media/ab/%2e%2e%2f%2e%2e%2fsecret.txt",
      "/media/ab/notes.txt",
      `/media/ab%5c..%5c..%5csecret.txt`,
      `/media/${dir}\\..\\..\\secret.txt`,
      `/media/${dir}/${file}%00`,
      `/media/${dir}/${file}%00.png`,
      `/media/${dir}/${file.replace(".jpg", "%00.jpg")}`,
      `/media/${dir.toUpperCase()}/${file.toUpperCase()}`,
      `/media/${dir}/${file.replace("-2000", "-02000")}`,
      `/media/${dir}/${file}/`,
      `/media/${dir}/${file}/x`,
      `/media/${dir}/./${file}`,
      `/media/${dir}//${file}`,
      `/media/${dir}%2f${file}`,
      `/media/%${dir.charCodeAt(0).toString(16)}${dir[1]}/${file}`, // a valid key with one character percent-encoded
      `/media/ff/${file}`, // the folder is not the hash's
      `/media/${dir}/.${file}`,
      `/media/${dir}/${file}.tmp`,
      "/media/",
      "/media",
      `/media/${dir}`,
    ];
    for (const path of attempts) {
      const res = await request(app).get(path).set("Accept", "text/html");
      expect(res.status, path).toBe(404);
      expect(res.text, path).not.toContain("top secret");
      expect(res.text, path).not.toContain("not an image");
    }
    // the real one, for contrast
    expect((await request(app).get(mediaUrl(k))).status).toBe(200);
  });

  it("POST to a file: not served (404)", async () => {
    expect((await request(app).post(mediaUrl(item.storageKey))).status).toBeGreaterThanOrEqual(403);
  });
});

describe("pictureHtml and socialImageUrl", () => {
  it("a <picture> with AVIF and WebP sources, the base format's srcset on the <img>, sizes, dimensions, lazy loading", () => {
    const html = pictureHtml(item, { sizes: "(min-width: 760px) 720px, 100vw", lazy: true });
    const urls = (f: string) =>
      item.renditions
        .filter((r) => r.format === f)
        .map((r) => `/media/${r.key} ${r.width}w`)
        .join(", ");
    expect(html).toBe(
      `<picture><source type="image/avif" srcset="${urls("avif")}" sizes="(min-width: 760px) 720px, 100vw">` +
        `<source type="image/webp" srcset="${urls("webp")}" sizes="(min-width: 760px) 720px, 100vw">` +
        `<img src="/media/${item.hash.slice(0, 2)}/${item.hash}-960.jpg" srcset="${urls("jpeg")}" sizes="(min-width: 760px) 720px, 100vw" ` +
        `width="2000" height="1200" alt="" loading="lazy" decoding="async"></picture>`,
    );
    expect(urls("avif")).toContain(" 320w, ");
  });

  it("above the fold: eager with fetchpriority high; alt and class escaped", () => {
    const html = pictureHtml({ ...small, alt: `a "quoted" <b>alt</b> & more` }, { sizes: `100vw"><script>`, lazy: false, className: `x" onload="y` });
    expect(html).toContain(`alt="a &quot;quoted&quot; &lt;b&gt;alt&lt;/b&gt; &amp; more"`);
    expect(html).toContain(`class="x&quot; onload=&quot;y"`);
    expect(html).toContain(`sizes="100vw&quot;&gt;&lt;script&gt;"`);
    expect(html).toContain(`loading="eager" fetchpriority="high" decoding="async"`);
    expect(html).not.toContain("<script>");
    // the override wins over the item's own alt text
    expect(pictureHtml({ ...small, alt: "library alt" }, { sizes: "100vw", lazy: true, alt: "markdown alt" })).toContain(`alt="markdown alt"`);
    // a 500 px image: the <img> shows its widest file
    expect(pictureHtml(small, { sizes: "100vw", lazy: true })).toContain(`src="/media/${small.hash.slice(0, 2)}/${small.hash}-500.png"`);
  });

  it("socialImageUrl: the absolute URL of the ~1200 px JPEG/PNG file (never AVIF or WebP)", () => {
    expect(socialImageUrl(item, "https://blog.example/")).toBe(`https://blog.example/media/${item.hash.slice(0, 2)}/${item.hash}-1280.jpg`);
    expect(socialImageUrl(small, "https://blog.example")).toBe(`https://blog.example/media/${small.hash.slice(0, 2)}/${small.hash}-500.png`);
  });
});

describe("lookups", () => {
  it("mediaByUrls: any file's URL (relative or on SITE_URL, with a query) maps to its item; other URLs are left out", async () => {
    const avif = mediaUrl(item.renditions.find((r) => r.format === "avif")!.key);
    const jpgAbs = `${config.SITE_URL}${mediaUrl(item.storageKey)}?v=1`;
    const png = mediaUrl(small.renditions.find((r) => r.format === "png")!.key);
    const unknown = `/media/${"1".repeat(2)}/${"1".repeat(64)}-320.jpg`;
    const wrongWidth = `/media/${item.hash.slice(0, 2)}/${item.hash}-321.jpg`;
    const map = await mediaByUrls([avif, jpgAbs, png, unknown, wrongWidth, "https://elsewhere.example/x.jpg", "/media/../secret.txt"]);
    expect([...map.keys()].sort()).toEqual([avif, jpgAbs, png].sort());
    expect(map.get(avif)!.id).toBe(item.id);
    expect(map.get(jpgAbs)!.id).toBe(item.id);
    expect(map.get(png)!.id).toBe(small.id);
    expect(map.get(avif)!.renditions).toEqual(item.renditions);
    expect((await mediaByUrls([])).size).toBe(0);
  });

  it("getMedia and mediaForIds", async () => {
    expect(await getMedia(item.id)).toEqual(item);
    expect(await getMedia(2147483648)).toBeNull();
    expect(await getMedia(999999)).toBeNull();
    const m = await mediaForIds([small.id, item.id, small.id, 424242]);
    expect([...m.keys()].sort()).toEqual([item.id, small.id].sort());
    expect(m.get(small.id)).toEqual(small);
    expect((await mediaForIds([])).size).toBe(0);
  });
});
