// Leftover temporaries of the disk storage (a crash between write and rename, src/media/storage.ts): the
// hourly purge.media-temp job (src/jobs/purges.ts) deletes those older than an hour, and nothing else.
import { existsSync, mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { purgeMediaTemp } from "../../src/jobs/purges.ts";
import { mediaStorage } from "../../src/media/index.ts";
import { uploaded, useTempDataDir } from "./library-support.ts";

const dataDir = useTempDataDir();

describe("media temporaries", () => {
  it("are deleted when older than an hour; a fresh one (a write in progress) and stored files stay", async () => {
    const m = await uploaded("kept.jpg", null);
    const dir = join(dataDir, "media", "ab");
    mkdirSync(dir, { recursive: true });
    const old = join(dir, ".0123456789abcdef.tmp");
    const fresh = join(dir, ".fedcba9876543210.tmp");
    const other = join(dir, "notes.tmp"); // not the storage's name: not ours to delete
    for (const f of [old, fresh, other]) writeFileSync(f, "half a file");
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(old, twoHoursAgo, twoHoursAgo);
    utimesSync(other, twoHoursAgo, twoHoursAgo);

    await purgeMediaTemp.handle({});
    expect(existsSync(old)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    expect(existsSync(other)).toBe(true);
    expect(await mediaStorage().exists(m.storageKey)).toBe(true);
    for (const r of m.renditions) expect(await mediaStorage().exists(r.key)).toBe(true);
  });
});
