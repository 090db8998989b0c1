// The site's time zone (TIME_ZONE=America/New_York here): post URLs, the dates shown, the admin's
// datetime inputs and date drill-down, and old URLs after a change of zone (301 to the new ones).
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import request from "supertest";
import { config } from "../../src/config.ts";
import { buildApp } from "../../src/app.ts";
import { redateToZone, recordedZone } from "../../src/posts/timezone.ts";
import { formatDate } from "../../src/web/templates.ts";
import { parseDatetimeLocal, toDatetimeLocal } from "../../src/admin/forms.ts";
import { dayString } from "../../src/web/inputs.ts";
import { logger } from "../../src/web/logger.ts";
import { createUser, makePost, prisma, signedIn, type Signed } from "../support/fixtures.ts";

const setZone = (zone: string) => ((config as { TIME_ZONE: string }).TIME_ZONE = zone);
const publishDate = async (id: number) => (await prisma.post.findUniqueOrThrow({ where: { id } })).publishDate!.toISOString().slice(0, 10);

let app: ReturnType<typeof buildApp>;
let authorId: number;
let editor: Signed;
let evening: { id: number };

beforeAll(async () => {
  setZone("America/New_York");
  // What the server does at start-up: the database takes the configured zone.
  expect(await redateToZone()).toMatchObject({ from: "UTC", to: "America/New_York", moved: 0, kept: [] });
  app = buildApp();
  authorId = (await createUser({ role: "AUTHOR", username: "nyauthor" })).user.id;
  editor = await signedIn(app, "EDITOR");
  // 2026-11-22 02:00 UTC is 9 pm on the 21st in New York.
  evening = await makePost({ authorId, title: "Evening post", slug: "evening-post", publish: new Date("2026-11-22T02:00:00Z") });
});

afterAll(() => {
  vi.restoreAllMocks();
  setZone("UTC");
});

describe("dates in the site's zone", () => {
  it("gives the post the New York date in its URL, on its page and in the list", async () => {
    expect(await publishDate(evening.id)).toBe("2026-11-21");
    const page = await request(app).get("/blog/2026/11/21/evening-post/").expect(200);
    expect(page.text).toContain("November 21, 2026");
    expect(page.text).toContain('<link rel="canonical" href="http://folio.test/blog/2026/11/21/evening-post/">');
    // Machine-readable dates stay absolute instants.
    expect(page.text).toContain('datetime="2026-11-22T02:00:00.000Z"');
    expect(page.text).toContain('"datePublished":"2026-11-22T02:00:00.000Z"');
    const list = await request(app).get("/blog/").expect(200);
    expect(list.text).toContain('href="/blog/2026/11/21/evening-post/"');
    const sitemap = await request(app).get("/sitemap-posts-1.xml").expect(200);
    expect(sitemap.text).toContain("<loc>http://folio.test/blog/2026/11/21/evening-post/</loc>");
  });

  it("formats with the date filter in the zone (Django's format characters, the zone's abbreviation)", () => {
    const at = new Date("2026-11-22T02:00:00Z");
    expect(formatDate(at, "N j, Y")).toBe("Nov. 21, 2026");
    expect(formatDate(at, "D, F j, Y H:i")).toBe("Sat, November 21, 2026 21:00");
    expect(formatDate(at, "g:i a T")).toBe("9:00 p.m. EST");
    expect(formatDate(at, "O e")).toBe("-0500 America/New_York");
    expect(formatDate(at, "c")).toBe("2026-11-22T02:00:00.000Z");
  });

  it("shows the admin's datetime inputs in the zone, and reads them in the zone", async () => {
    expect(toDatetimeLocal(new Date("2026-11-22T02:00:00Z"))).toBe("2026-11-21T21:00");
    expect(parseDatetimeLocal("2026-11-21T21:00")?.toISOString()).toBe("2026-11-22T02:00:00.000Z");
    const form = await editor.agent.get(`/admin/blog/post/${evening.id}/change/`).expect(200);
    expect(form.text).toContain('value="2026-11-21T21:00"');
    // The slug check reads the form's publish time as the editor typed it: 9 pm on the 21st.
    const check = await editor.agent.get("/admin/blog/post/slug-check/?slug=evening-post&publish=2026-11-21T21:00").expect(200);
    expect(check.body).toMatchObject({ ok: false, message: "Already used by another post published on 2026-11-21." });
    const free = await editor.agent.get("/admin/blog/post/slug-check/?slug=evening-post&publish=2026-11-22T09:00").expect(200);
    expect(free.body).toMatchObject({ ok: true, message: "Available on 2026-11-22." });
  });

  it("lists the post under the 21st in the admin's date drill-down", async () => {
    const month = await editor.agent.get("/admin/blog/post/?publish__year=2026&publish__month=11").expect(200);
    expect(month.text).toContain('href="/admin/blog/post/?publish__year=2026&amp;publish__month=11&amp;publish__day=21"');
    expect(month.text).not.toContain("publish__day=22");
    const day = await editor.agent.get("/admin/blog/post/?publish__year=2026&publish__month=11&publish__day=21").expect(200);
    expect(day.text).toContain("Evening post");
    // Times shown to writers name the zone.
    expect(day.text).toContain('<span class="time">21:00 EST</span>');
    const next = await editor.agent.get("/admin/blog/post/?publish__year=2026&publish__month=11&publish__day=22").expect(200);
    expect(next.text).not.toContain("Evening post");
    const filtered = await editor.agent.get("/admin/blog/post/?publish__gte=2026-11-21&publish__lt=2026-11-22").expect(200);
    expect(filtered.text).toContain("Evening post");
  });

  it("dates posts across a change of clocks, and reads skipped and repeated times as browsers do", async () => {
    // 2026-03-08: New York moves from 02:00 EST to 03:00 EDT.
    const before = await makePost({ authorId, slug: "dst-before", publish: new Date("2026-03-08T04:59:00Z") }); // 23:59 EST on the 7th
    const after = await makePost({ authorId, slug: "dst-after", publish: new Date("2026-03-08T07:00:00Z") }); // 03:00 EDT on the 8th
    expect(await publishDate(before.id)).toBe("2026-03-07");
    expect(await publishDate(after.id)).toBe("2026-03-08");
    await request(app).get("/blog/2026/03/07/dst-before/").expect(200);
    await request(app).get("/blog/2026/03/08/dst-after/").expect(200);
    expect(formatDate(new Date("2026-03-08T06:59:00Z"), "H:i T")).toBe("01:59 EST");
    expect(formatDate(new Date("2026-03-08T07:00:00Z"), "H:i T")).toBe("03:00 EDT");
    // 02:30 does not exist that day: moved forward by the gap, to 03:30 EDT.
    expect(parseDatetimeLocal("2026-03-08T02:30")?.toISOString()).toBe("2026-03-08T07:30:00.000Z");
    // 2026-11-01: 01:30 happens twice (EDT, then EST): the first.
    expect(parseDatetimeLocal("2026-11-01T01:30")?.toISOString()).toBe("2026-11-01T05:30:00.000Z");
    expect(toDatetimeLocal(new Date("2026-11-01T06:30:00Z"))).toBe("2026-11-01T01:30");
    expect(parseDatetimeLocal("2026-02-30T10:00")).toBeNull();
  });

  it("works in a zone with a half-hour offset (Asia/Kolkata, UTC+5:30)", () => {
    setZone("Asia/Kolkata");
    try {
      expect(dayString(new Date("2026-11-21T18:29:00Z"))).toBe("2026-11-21");
      expect(dayString(new Date("2026-11-21T18:30:00Z"))).toBe("2026-11-22");
      expect(formatDate(new Date("2026-11-21T18:30:00Z"), "N j, Y, H:i O")).toBe("Nov. 22, 2026, 00:00 +0530");
      expect(parseDatetimeLocal("2026-11-22T00:00")?.toISOString()).toBe("2026-11-21T18:30:00.000Z");
      expect(toDatetimeLocal(new Date("2026-11-22T02:00:00Z"))).toBe("2026-11-22T07:30");
    } finally {
      setZone("America/New_York");
    }
  });
});

describe("changing the zone", () => {
  it("moves the URL dates, 301s the old URLs to the new ones, and logs one line", async () => {
    const info = vi.spyOn(logger, "info");
    // The day of a post in the old and the new zone: Kolkata is on the 22nd at 02:00 UTC.
    const kolkata = await makePost({ authorId, slug: "late-evening", publish: new Date("2026-11-22T03:00:00Z") }); // 22:00 on the 21st in New York
    setZone("Asia/Kolkata");
    const done = await redateToZone();
    expect(done).toMatchObject({ from: "America/New_York", to: "Asia/Kolkata", kept: [] });
    expect(done!.moved).toBeGreaterThanOrEqual(2);
    expect(await recordedZone()).toBe("Asia/Kolkata");
    expect(info.mock.calls.some((c) => String(c[1]).startsWith(`time zone changed from America/New_York to Asia/Kolkata: ${done!.moved} posts re-dated`))).toBe(
      true,
    );
    expect(await publishDate(evening.id)).toBe("2026-11-22");
    expect(await publishDate(kolkata.id)).toBe("2026-11-22");
    await request(app).get("/blog/2026/11/22/evening-post/").expect(200);
    const old = await request(app).get("/blog/2026/11/21/evening-post/").expect(301);
    expect(old.headers.location).toBe("/blog/2026/11/22/evening-post/");
    expect((await request(app).get("/blog/2026/11/21/late-evening/").expect(301)).headers.location).toBe("/blog/2026/11/22/late-evening/");
    // A date too far from the post for any zone, a slug nobody uses: still 404.
    await request(app).get("/blog/2026/11/19/evening-post/").expect(404);
    await request(app).get("/blog/2026/11/21/no-such-post/").expect(404);
    // A draft is not found through an old URL either.
    await makePost({ authorId, slug: "draft-post", status: "DRAFT", publish: new Date("2026-11-22T03:00:00Z") });
    await request(app).get("/blog/2026/11/21/draft-post/").expect(404);
    // A new post takes the new zone's date (the trigger reads the recorded zone).
    const fresh = await makePost({ authorId, slug: "fresh", publish: new Date("2026-11-21T19:00:00Z") }); // 00:30 on the 22nd in Kolkata
    expect(await publishDate(fresh.id)).toBe("2026-11-22");
    // Nothing more to do for the same zone.
    expect(await redateToZone()).toBeNull();
    setZone("America/New_York");
    expect(await redateToZone()).toMatchObject({ from: "Asia/Kolkata", to: "America/New_York" });
    expect((await request(app).get("/blog/2026/11/22/evening-post/").expect(301)).headers.location).toBe("/blog/2026/11/21/evening-post/");
  });

  it("keeps the old date of a post whose slug another post holds on the new date, and names it in a warning", async () => {
    const warn = vi.spyOn(logger, "warn");
    // In New York: the 9th (22:00) and the 10th (05:00); in Tokyo both are on the 10th (12:00 and 19:00).
    const first = await makePost({ authorId, title: "Clash one", slug: "clash", publish: new Date("2026-11-10T03:00:00Z") });
    const second = await makePost({ authorId, title: "Clash two", slug: "clash", publish: new Date("2026-11-10T10:00:00Z") });
    // Same slug on consecutive New York days, each moving one day on in Tokyo: no clash once all have moved.
    const chainA = await makePost({ authorId, slug: "daily", publish: new Date("2026-11-05T20:00:00Z") }); // NY 5th -> Tokyo 6th
    const chainB = await makePost({ authorId, slug: "daily", publish: new Date("2026-11-06T20:00:00Z") }); // NY 6th -> Tokyo 7th
    expect([await publishDate(first.id), await publishDate(second.id)]).toEqual(["2026-11-09", "2026-11-10"]);
    setZone("Asia/Tokyo");
    const done = await redateToZone();
    expect(done!.kept).toEqual([{ id: first.id, slug: "clash", date: "2026-11-09", wanted: "2026-11-10" }]);
    expect(warn.mock.calls.some((c) => String(c[1]).includes(`#${first.id} clash (2026-11-09, not 2026-11-10)`))).toBe(true);
    expect(await publishDate(first.id)).toBe("2026-11-09");
    expect(await publishDate(second.id)).toBe("2026-11-10");
    expect([await publishDate(chainA.id), await publishDate(chainB.id)]).toEqual(["2026-11-06", "2026-11-07"]);
    // Each post stays reachable at its own date, and links point there.
    expect((await request(app).get("/blog/2026/11/09/clash/").expect(200)).text).toContain("Clash one");
    expect((await request(app).get("/blog/2026/11/10/clash/").expect(200)).text).toContain("Clash two");
    const list = await request(app).get("/blog/?page=1").expect(200);
    expect(list.text).toContain('href="/blog/2026/11/09/clash/"');
    expect(list.text).toContain('href="/blog/2026/11/10/clash/"');
    setZone("America/New_York");
    await redateToZone();
  });

  it("re-dates once when two processes start at once (the second waits for the lock, then finds nothing to do)", async () => {
    setZone("Europe/Paris");
    const both = await Promise.all([redateToZone(), redateToZone()]);
    expect(both.filter((r) => r !== null)).toHaveLength(1);
    expect(both.find((r) => r !== null)).toMatchObject({ from: "America/New_York", to: "Europe/Paris" });
    setZone("America/New_York");
    expect(await redateToZone()).toMatchObject({ from: "Europe/Paris", to: "America/New_York" });
  });

  it("refuses a zone PostgreSQL does not know, changing nothing", async () => {
    // Intl takes it (config accepted it); PostgreSQL has no such name.
    await expect(redateToZone("Etc/Unknown")).rejects.toThrow(/PostgreSQL does not know this time zone/);
    expect(await recordedZone()).toBe("America/New_York");
  });
});
