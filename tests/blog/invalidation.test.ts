// Reader caches are per process; a post write in one process reaches the others through
// LISTEN/NOTIFY (the cache module's invalidate(), carried by src/db/invalidation.ts). Two
// "processes" here are two listeners with different ids.
import { afterAll, describe, expect, it } from "vitest";
import { pool } from "../../src/db/index.ts";
import { listenForInvalidation, type Listener } from "../../src/db/invalidation.ts";
import { invalidate } from "../../src/cache/index.ts";
import { countPublished } from "../../src/blog/queries.ts";
import { createUser, makePost } from "../support/fixtures.ts";
import { CHANNEL, writtenElsewhere } from "../cache/elsewhere.ts";
import { until } from "../support/poll.ts";

const url = process.env.TEST_DATABASE_URL!;
const listeners: Listener[] = [];
afterAll(async () => {
  for (const l of listeners) await l.stop();
});

/** A listener as another process would run it; resolves once it is listening. */
async function listener(self?: string) {
  const events: string[] = [];
  listeners.push(listenForInvalidation(url, { self, onEvent: (e) => events.push(e) }));
  expect(await until(() => events.includes("connected"))).toBe(true);
  return events;
}

describe("cache invalidation across processes", () => {
  it("a NOTIFY from another process clears this process's cached counts", async () => {
    const events = await listener("this-process");
    const author = (await createUser({ role: "AUTHOR", username: "inval" })).user;
    await makePost({ title: "Counted", authorId: author.id, publish: new Date("2026-01-01T00:00:00Z") });
    // That save's own NOTIFY reaches this listener too (its id is not this process's): let it arrive first.
    expect(await until(() => events.includes("cleared"))).toBe(true);
    events.length = 0;
    const before = await countPublished();
    // A write that bypasses this process (another worker's): the cached count does not see it...
    await writtenElsewhere({ title: "Written elsewhere", authorId: author.id, publish: new Date("2026-01-02T00:00:00Z") });
    expect(await countPublished()).toBe(before);
    // ...until that process's NOTIFY arrives.
    await pool.query("SELECT pg_notify($1, $2)", [CHANNEL, "another-process"]);
    expect(await until(() => events.includes("cleared"))).toBe(true);
    expect(await countPublished()).toBe(before + 1);
  });

  it("a write here is heard by the other processes, and a process ignores its own", async () => {
    const other = await listener("a-second-worker");
    const own = await listener(); // this process's id
    await invalidate("posts");
    expect(await until(() => other.includes("cleared"))).toBe(true);
    // Notifications arrive in order: once a later one from elsewhere is heard, our own was skipped.
    await pool.query("SELECT pg_notify($1, $2)", [CHANNEL, "a-third-process posts"]);
    expect(await until(() => own.length === 2)).toBe(true);
    expect(own).toEqual(["connected", "cleared"]);
  });

  it("reconnects after the listening connection is killed, clearing the caches once", async () => {
    const events = await listener("a-third-worker");
    await pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN ${CHANNEL}' AND datname = current_database()`);
    // Back-off 0.5 s, then listening again; the caches are cleared on reconnecting (missed messages).
    expect(await until(() => events.filter((e) => e === "connected").length === 2)).toBe(true);
    expect(events).toEqual(["connected", "disconnected", "cleared", "connected"]);
    await pool.query("SELECT pg_notify($1, $2)", [CHANNEL, "someone-else"]);
    expect(await until(() => events.length === 5)).toBe(true);
    expect(events[4]).toBe("cleared");
  });
});
