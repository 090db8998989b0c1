// Users and `me` through the real app: GET/PATCH /me for every role (names through the accounts
// module), GET /users and /users/{username} and PATCH /users/{username} for admins only (If-Match,
// an admin cannot demote or deactivate themself, a deactivated account is signed out everywhere:
// sessions and refresh tokens), no password hash anywhere, hostile input. Responses are checked
// against the OpenAPI document.
import { beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { buildApp } from "../../src/app.ts";
import { pool } from "../../src/db/index.ts";
import type { SessionUser } from "../../src/accounts/users.ts";
import { createUser, signedIn } from "../support/fixtures.ts";
import { caller, expectVersionTag, sessionWrite } from "./support/calls.ts";

const app = buildApp();

let reader: SessionUser, author: SessionUser, editor: SessionUser, admin: SessionUser;

const call = caller(app);
/** An API call whose answer never holds a password hash. */
async function api(...args: Parameters<typeof call>) {
  const res = await call(...args);
  expect(res.text).not.toMatch(/\$argon2/);
  return res;
}
const versionOf = async (id: number) => (await pool.query(`SELECT version FROM "User" WHERE id = $1`, [id])).rows[0].version as number;

beforeAll(async () => {
  reader = (await createUser({ role: "READER", username: "rita", firstName: "Rita", lastName: "Reader" })).user;
  author = (await createUser({ role: "AUTHOR", username: "arthur" })).user;
  editor = (await createUser({ role: "EDITOR", username: "edna" })).user;
  admin = (await createUser({ role: "ADMIN", username: "ada" })).user;
});

describe("me", () => {
  it("anonymous: 401 on GET and PATCH", async () => {
    await api("get", "/me", null, { status: 401 });
    await api("patch", "/me", null, { body: { firstName: "X" }, status: 401 });
  });

  it.each(["READER", "AUTHOR", "EDITOR", "ADMIN"] as const)("a %s reads and changes their own names (a field left out keeps its value)", async (role) => {
    const { user } = await createUser({ role, firstName: "First", lastName: "Last" });
    const me = await api("get", "/me", user, { status: 200 });
    expect(me.body).toEqual({ id: user.id, username: user.username, email: user.email, firstName: "First", lastName: "Last", role });
    const v = await versionOf(user.id);
    const res = await api("patch", "/me", user, { body: { firstName: "  Zoë " }, status: 200 });
    expect(res.body).toMatchObject({ firstName: "Zoë", lastName: "Last", role });
    expect((await api("get", "/me", user, { status: 200 })).body.firstName).toBe("Zoë");
    expect(await versionOf(user.id)).toBe(v + 1); // an admin's form opened before is refused
    // the one user save: an audit entry by the user themself, naming the field changed
    const audit = await pool.query(`SELECT action, changes FROM "AuditLog" WHERE model = 'accounts.user' AND "objectId" = $1 AND "userId" = $2`, [
      String(user.id),
      user.id,
    ]);
    expect(audit.rows.map((r) => [r.action, r.changes.changed])).toEqual([["CHANGE", ["firstName"]]]);
    await api("patch", "/me", user, { body: { lastName: "" }, status: 200 });
    expect((await pool.query(`SELECT "firstName", "lastName" FROM "User" WHERE id = $1`, [user.id])).rows[0]).toEqual({ firstName: "Zoë", lastName: "" });
  });

  it("only names: role, isActive, email, username and unknown fields are refused (400), hostile names too", async () => {
    const { user } = await createUser({ role: "READER" });
    for (const body of [{ role: "ADMIN" }, { isActive: false }, { email: "x@example.test" }, { username: "root" }, { password: "x" }]) {
      const res = await api("patch", "/me", user, { body, status: 400 });
      expect(Object.values(res.body.errors)).toContain("Unknown field.");
    }
    for (const firstName of ["a\u0000b", "x".repeat(151), "tab\there", 42, null, ["a"]]) {
      const res = await api("patch", "/me", user, { body: { firstName }, status: firstName === null ? 200 : 400 });
      if (firstName !== null) expect(Object.keys(res.body.errors)).toEqual(["firstName"]);
    }
    expect((await pool.query(`SELECT role FROM "User" WHERE id = $1`, [user.id])).rows[0].role).toBe("READER");
  });

  it("a session caller: PATCH /me needs X-CSRF-Token", async () => {
    const s = await signedIn(app, "READER", { firstName: "Before" });
    const ok = await sessionWrite(s, "patch", "/api/v1/me", { firstName: "After" });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.firstName).toBe("After");
    expect((await pool.query(`SELECT "firstName" FROM "User" WHERE id = $1`, [s.user.id])).rows[0].firstName).toBe("After");
  });
});

describe("users (admins)", () => {
  it("anonymous: 401; reader, author and editor: 403 on list, detail and change", async () => {
    await api("get", "/users", null, { status: 401 });
    await api("get", "/users/rita", null, { status: 401 });
    await api("patch", "/users/rita", null, { body: { role: "ADMIN" }, ifMatch: '"1"', status: 401 });
    for (const w of [reader, author, editor]) {
      await api("get", "/users", w, { status: 403 });
      await api("get", "/users/rita", w, { status: 403 });
      await api("patch", "/users/rita", w, { body: { role: "ADMIN" }, ifMatch: '"1"', status: 403 });
      await api("patch", `/users/${w.username}`, w, { body: { role: "ADMIN" }, ifMatch: '"1"', status: 403 });
    }
    expect((await pool.query(`SELECT role FROM "User" WHERE id = $1`, [reader.id])).rows[0].role).toBe("READER");
  });

  it("an admin lists every account by username, in pages, without password hashes", async () => {
    const res = await api("get", "/users?page_size=2", admin, { status: 200 });
    const total = Number((await pool.query(`SELECT count(*) AS n FROM "User"`)).rows[0].n);
    expect(res.body.count).toBe(total);
    expect(res.body.results).toHaveLength(2);
    expect(res.body.next).toBe("http://folio.test/api/v1/users?page=2&page_size=2");
    const second = await api("get", "/users?page=2&page_size=2", admin, { status: 200 });
    expect(second.body.previous).toBe("http://folio.test/api/v1/users?page_size=2"); // page 1: DRF leaves the page out
    const all = await api("get", "/users?page_size=100", admin, { status: 200 });
    const names = all.body.results.map((u: { username: string }) => u.username);
    expect(names).toEqual([...names].sort());
    expect(all.body.results.find((u: { username: string }) => u.username === "rita")).toMatchObject({
      username: "rita",
      email: reader.email,
      firstName: "Rita",
      role: "READER",
      isActive: true,
      lastLogin: null,
    });
    await api("get", `/users?page=${total + 1}&page_size=1`, admin, { status: 404 });
    await api("get", "/users?page=999999999&page_size=100", admin, { status: 404 });
    for (const q of ["?page=0", "?page_size=1000", "?page=x", "?role=ADMIN", "?page=1&page=2"]) await api("get", `/users${q}`, admin, { status: 400 });
  });

  it("an admin reads one account (ETag: version and hash); unknown and hostile usernames are 404s", async () => {
    const res = await api("get", "/users/rita", admin, { status: 200 });
    expect(res.body).toMatchObject({ id: reader.id, username: "rita", role: "READER", version: await versionOf(reader.id) });
    expectVersionTag(res, res.body.version);
    for (const name of ["nobody", "%00", "a%00b", "x".repeat(151), "%0A"]) await api("get", `/users/${name}`, admin, { status: 404 });
  });

  it("an admin changes role, active flag and names with If-Match (428 / 412 with the current account / 200), through the admin's save (audit entry)", async () => {
    const { user } = await createUser({ role: "READER" });
    const path = `/users/${user.username}`;
    await api("patch", path, admin, { body: { role: "AUTHOR" }, status: 428 });
    const stale = await api("patch", path, admin, { body: { role: "AUTHOR" }, ifMatch: '"9"', status: 412 });
    expect(stale.body.current).toMatchObject({ username: user.username, role: "READER", version: 1 });
    const ok = await api("patch", path, admin, { body: { role: "AUTHOR", firstName: "Newly", lastName: "Promoted" }, ifMatch: '"1"', status: 200 });
    expect(ok.body).toMatchObject({ role: "AUTHOR", firstName: "Newly", lastName: "Promoted", isActive: true, version: 2 });
    expectVersionTag(ok, 2);
    await api("patch", path, admin, { body: { firstName: "Again" }, ifMatch: ok.headers.etag, status: 200 }); // the ETag as sent is an If-Match
    await api("patch", path, admin, { body: { firstName: "Newly" }, ifMatch: ok.headers.etag, status: 412 }); // now stale
    const audit = await pool.query(`SELECT action, changes FROM "AuditLog" WHERE model = 'accounts.user' AND "objectId" = $1 AND "userId" = $2`, [
      String(user.id),
      admin.id,
    ]);
    expect(audit.rows.map((r) => r.action)).toEqual(["CHANGE", "CHANGE"]);
    for (const body of [{ role: "ROOT" }, { isActive: "no" }, { email: "x@example.test" }, { passwordHash: "x" }, { firstName: "\u0000" }]) {
      await api("patch", path, admin, { body, ifMatch: '"3"', status: 400 });
    }
    expect(await versionOf(user.id)).toBe(3);
  });

  it("an admin cannot demote or deactivate themself (400 on the field); another admin can", async () => {
    const { user: me } = await createUser({ role: "ADMIN" });
    const path = `/users/${me.username}`;
    const demote = await api("patch", path, me, { body: { role: "EDITOR" }, ifMatch: '"1"', status: 400 });
    expect(Object.keys(demote.body.errors)).toEqual(["role"]);
    const off = await api("patch", path, me, { body: { isActive: false }, ifMatch: '"1"', status: 400 });
    expect(Object.keys(off.body.errors)).toEqual(["isActive"]);
    expect((await pool.query(`SELECT role, "isActive", version FROM "User" WHERE id = $1`, [me.id])).rows[0]).toEqual({
      role: "ADMIN",
      isActive: true,
      version: 1,
    });
    await api("patch", path, me, { body: { firstName: "Self" }, ifMatch: '"1"', status: 200 });
    await api("patch", path, admin, { body: { role: "EDITOR" }, ifMatch: '"2"', status: 200 });
  });

  it("deactivation signs the account out everywhere: its sessions end, its refresh tokens are revoked, its access token is refused", async () => {
    const s = await signedIn(app, "AUTHOR");
    const id = s.user.id;
    await pool.query(`INSERT INTO "ApiRefreshToken"(id, "familyId", "userId", "expiresAt") VALUES ($1, $2, $3, now() + interval '7 days')`, [
      randomUUID(),
      randomUUID(),
      id,
    ]);
    expect((await s.agent.get("/api/v1/me")).status).toBe(200);
    const res = await api("patch", `/users/${s.user.username}`, admin, { body: { isActive: false }, ifMatch: `"${await versionOf(id)}"`, status: 200 });
    expect(res.body.isActive).toBe(false);
    expect(Number((await pool.query(`SELECT count(*) AS n FROM session WHERE (sess::jsonb -> 'passport' ->> 'user') = $1`, [String(id)])).rows[0].n)).toBe(0);
    expect(Number((await pool.query(`SELECT count(*) AS n FROM "ApiRefreshToken" WHERE "userId" = $1 AND "revokedAt" IS NULL`, [id])).rows[0].n)).toBe(0);
    expect((await s.agent.get("/api/v1/me")).status).toBe(401);
    await api("get", "/me", { ...(s.user as unknown as SessionUser), email: "x@example.test" }, { status: 401 });
  });
});
