// A writer's avatar and bio on the profile page (src/accounts/avatar.ts, views/accounts/profile.njk)
// through the real app: the image goes to the upload endpoint (media:upload, token in X-CSRF-Token, as
// the page's script sends it), its id to POST /accounts/profile/avatar/; "Remove" clears it (the image
// stays in the library). Saved through the one user save path (audit entry, version). Readers have
// neither; bad input is a 400 with the message on the page.
import request from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import { url } from "../../src/web/urls.ts";
import { csrfPost, prisma, signedIn, type Signed } from "../support/fixtures.ts";
import { jpeg, useTempDataDir } from "../media/library-support.ts";

useTempDataDir();
const app = buildApp();
let author: Signed;
let reader: Signed;

beforeAll(async () => {
  author = await signedIn(app, "AUTHOR", { firstName: "Ada", lastName: "Writer" });
  reader = await signedIn(app, "READER");
});

/** Uploads an image as the page's script does; returns its id. */
async function upload(s: Signed, name: string): Promise<number> {
  const res = await s.agent
    .post(url("media:upload"))
    .set("X-CSRF-Token", await s.session.csrf())
    .set("Accept", "application/json")
    .attach("file", await jpeg(400, 400), name);
  expect(res.status, res.text).toBe(201);
  return res.body.id as number;
}

describe("avatar", () => {
  it("an author uploads an avatar, sees it on the profile page, replaces it and removes it", async () => {
    const before = await author.agent.get(url("accounts:profile")).expect(200);
    expect(before.text).toContain("Upload an avatar");
    expect(before.text).toContain('class="avatar avatar--96 avatar--c'); // initials until there is one
    expect(before.text).not.toContain("Remove avatar");

    const id = await upload(author, "me.jpg");
    const set = await csrfPost(author, url("accounts:avatar"), { avatar_id: String(id) }, 303);
    expect(set.headers.location).toBe(url("accounts:profile"));
    const user = await prisma.user.findUniqueOrThrow({ where: { id: author.user.id } });
    expect(user.avatarId).toBe(id);
    const audit = await prisma.auditLog.findFirstOrThrow({ where: { model: "accounts.user", objectId: String(author.user.id) }, orderBy: { id: "desc" } });
    expect(audit.changes).toEqual({ changed: ["avatarId"] });

    const item = await prisma.media.findUniqueOrThrow({ where: { id } });
    const page = await author.agent.get(url("accounts:profile")).expect(200);
    expect(page.text).toContain("Your avatar was saved.");
    expect(page.text).toContain(`/media/${item.hash.slice(0, 2)}/${item.hash}`);
    expect(page.text).toContain("Replace your avatar");
    expect(page.text).toContain("Remove avatar");

    const other = await upload(author, "me-2.jpg");
    await csrfPost(author, url("accounts:avatar"), { avatar_id: String(other) }, 303);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: author.user.id } })).avatarId).toBe(other);

    await csrfPost(author, url("accounts:avatar"), { remove: "1" }, 303);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: author.user.id } })).avatarId).toBeNull();
    expect(await prisma.media.count({ where: { id: { in: [id, other] } } })).toBe(2); // still in the library
    const after = await author.agent.get(url("accounts:profile")).expect(200);
    expect(after.text).toContain("Your avatar was removed.");
  });

  it("refuses a missing or unknown image with a 400 and the message, changing nothing", async () => {
    const none = await csrfPost(author, url("accounts:avatar"), {}, 400);
    expect(none.text).toContain("Choose an image to upload first.");
    const gone = await csrfPost(author, url("accounts:avatar"), { avatar_id: "999999" }, 400);
    expect(gone.text).toContain("This image does not exist");
    await csrfPost(author, url("accounts:avatar"), { avatar_id: "1e3" }, 400);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: author.user.id } })).avatarId).toBeNull();
  });

  it("readers have no avatar: no section, and the POST is a 403", async () => {
    const page = await reader.agent.get(url("accounts:profile")).expect(200);
    expect(page.text).not.toContain("Upload an avatar");
    expect(page.text).not.toContain('name="bio"');
    await csrfPost(reader, url("accounts:avatar"), { remove: "1" }, 403);
    await request(app).post(url("accounts:avatar")).type("form").send({ remove: "1" }).expect(403);
  });
});

describe("bio and names", () => {
  it("an author edits their bio and names on the profile page (one save path: audit entry, version)", async () => {
    const v0 = (await prisma.user.findUniqueOrThrow({ where: { id: author.user.id } })).version;
    await csrfPost(author, url("accounts:profile"), { first_name: "Ada", last_name: "Lovelace", bio: "Writes about engines.\nAnd poetry." }, 303);
    const u = await prisma.user.findUniqueOrThrow({ where: { id: author.user.id } });
    expect(u).toMatchObject({ firstName: "Ada", lastName: "Lovelace", bio: "Writes about engines.\nAnd poetry.", version: v0 + 1 });
    const audit = await prisma.auditLog.findFirstOrThrow({ where: { model: "accounts.user", objectId: String(author.user.id) }, orderBy: { id: "desc" } });
    expect(audit).toMatchObject({ userId: author.user.id, action: "CHANGE" });
    expect(audit.changes).toEqual({ changed: ["lastName", "bio"] });
    const page = await author.agent.get(url("accounts:profile")).expect(200);
    expect(page.text).toContain("Writes about engines.\nAnd poetry.</textarea>");

    const tooLong = await csrfPost(author, url("accounts:profile"), { first_name: "Ada", last_name: "Lovelace", bio: "x".repeat(2001) }, 400);
    expect(tooLong.text).toContain("at most 2000 characters");
    expect((await prisma.user.findUniqueOrThrow({ where: { id: author.user.id } })).bio).toBe("Writes about engines.\nAnd poetry.");
  });

  it("a reader's profile saves names only (a bio sent is ignored)", async () => {
    await csrfPost(reader, url("accounts:profile"), { first_name: "Rita", last_name: "Reader", bio: "sneaky" }, 303);
    expect(await prisma.user.findUniqueOrThrow({ where: { id: reader.user.id } })).toMatchObject({ firstName: "Rita", lastName: "Reader", bio: "" });
  });
});
