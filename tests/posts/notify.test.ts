// "Your post was published" through the real app, the real job workers and a real SMTP server: an
// editor's bulk publish mails each author once per post (built when the job runs); authors publishing
// their own posts get nothing; a scheduled post says "scheduled for"; a post deleted (or unpublished)
// before its job runs ends the job without a retry (JobGone) and mails nobody; a rolled-back save
// enqueues nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.ts";
import { pool } from "../../src/db/client.ts";
import { prisma } from "../../src/db/index.ts";
import { enqueue } from "../../src/jobs/index.ts";
import { postPublishedJob, postSaved } from "../../src/posts/hooks.ts";
import { deletePosts, updatePost } from "../../src/posts/service.ts";
import { createUser, csrfPost, inHours, makePost, signedIn, type Signed } from "../support/fixtures.ts";
import { until } from "../support/poll.ts";
import { startSmtp, type TestSmtp } from "../support/smtp.ts";

const app = buildApp();
let smtp: TestSmtp;
let editor: Signed;

beforeAll(async () => {
  smtp = await startSmtp();
  editor = await signedIn(app, "EDITOR", { firstName: "Eddie", lastName: "Editor" });
});
afterAll(async () => {
  await smtp.close();
});

interface JobRow {
  id: string;
  state: string;
  retry_count: number;
  data: { postId: number; actorId: number };
}
async function publishJobs(): Promise<JobRow[]> {
  const { rows } = await pool.query<JobRow>("SELECT id, state, retry_count, data FROM pgboss.job WHERE name = $1 ORDER BY created_on", [postPublishedJob.name]);
  return rows;
}
/** Polls (no sleeping) until every post.published job has ended (completed or failed); returns them. */
const settled = () =>
  until(publishJobs, {
    label: "every post.published job has ended",
    accept: (rows) => rows.every((r) => r.state === "completed" || r.state === "failed"),
    timeout: 20_000,
    interval: 25,
  });
const mailsTo = (email: string) => smtp.messages.filter((m) => m.to.includes(email)).map((m) => ({ ...m, subject: decodeWords(m.subject) }));
/** RFC 2047 encoded words (=?UTF-8?Q?...?=), as nodemailer writes a subject with non-ASCII characters. */
function decodeWords(header: string): string {
  return header.replace(/\?=\s+=\?/g, "?==?").replace(/=\?UTF-8\?Q\?([^?]*)\?=/gi, (_m, q: string) =>
    Buffer.from(
      q.replace(/_/g, " ").replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))),
      "latin1",
    ).toString("utf8"),
  );
}

describe("author notified when someone else publishes their post", () => {
  it("an editor's bulk publish: each author mailed once per post; the editor's own post and an author's own publish: no mail", async () => {
    const { user: ann } = await createUser({ role: "AUTHOR", email: "ann.notify@example.test" });
    const { user: bob } = await createUser({ role: "AUTHOR", email: "bob.notify@example.test" });
    const a1 = await makePost({ authorId: ann.id, title: "Ann's first", status: "DRAFT" });
    const a2 = await makePost({ authorId: ann.id, title: "Ann's second", status: "DRAFT" });
    const b1 = await makePost({ authorId: bob.id, title: "Bob's only", status: "DRAFT" });
    const own = await makePost({ authorId: editor.user.id, title: "Editor's own", status: "DRAFT" });
    const jobsBefore = (await publishJobs()).length;
    // Bob publishes his own post first (through the save path as himself): nothing to tell him.
    await updatePost(b1.id, b1.version, { ...b1, status: "PUBLISHED", publish: null, tagIds: [] }, { id: bob.id });
    expect((await publishJobs()).length).toBe(jobsBefore);
    await updatePost(b1.id, b1.version + 1, { ...b1, status: "DRAFT", publish: null, tagIds: [] }, { id: bob.id });

    const ids = [a1.id, a2.id, b1.id, own.id].map(String);
    await csrfPost(editor, "/admin/blog/post/", { action: "publish", post: "yes", _selected_action: ids }, 303);
    const jobs = (await settled()).slice(jobsBefore);
    expect(jobs.map((j) => j.data.postId).sort()).toEqual([a1.id, a2.id, b1.id].sort());
    expect(jobs.every((j) => j.state === "completed" && j.data.actorId === editor.user.id)).toBe(true);

    const annMails = mailsTo("ann.notify@example.test");
    expect(annMails.map((m) => m.subject).sort()).toEqual(["Your post “Ann's first” was published", "Your post “Ann's second” was published"]);
    expect(annMails[0]!.text).toContain("Eddie Editor published your post");
    expect(annMails[0]!.text).toMatch(/http:\/\/folio\.test\/blog\/\d{4}\/\d{2}\/\d{2}\/anns-(first|second)\//);
    expect(mailsTo("bob.notify@example.test")).toHaveLength(1);
    const editorEmail = (await prisma.user.findUniqueOrThrow({ where: { id: editor.user.id } })).email;
    expect(mailsTo(editorEmail)).toHaveLength(0);

    // Saving a published post again (no status change) tells nobody a second time.
    const now = await prisma.post.findUniqueOrThrow({ where: { id: a1.id } });
    await updatePost(a1.id, now.version, { ...now, title: "Ann's first, edited", tagIds: [] }, { id: editor.user.id });
    expect((await publishJobs()).length).toBe(jobsBefore + 3);
  });

  it("a post published for a later time: the mail says 'scheduled for <time>'", async () => {
    const { user: cy } = await createUser({ role: "AUTHOR", email: "cy.notify@example.test" });
    const draft = await makePost({ authorId: cy.id, title: "Cy's later", status: "DRAFT" });
    const when = inHours(48);
    when.setUTCSeconds(0, 0);
    await updatePost(draft.id, draft.version, { ...draft, status: "PUBLISHED", publish: when, tagIds: [] }, { id: editor.user.id });
    const mail = await smtp.waitFor((m) => m.to.includes("cy.notify@example.test"));
    expect(decodeWords(mail.subject)).toBe("Your post “Cy's later” is scheduled");
    expect(mail.text).toContain(`scheduled for ${when.toUTCString()}`);
  });

  it("the post deleted or unpublished before the job runs: JobGone, no mail, no retry", async () => {
    const { user: dee } = await createUser({ role: "AUTHOR", email: "dee.notify@example.test" });
    const gone = await makePost({ authorId: dee.id, title: "Dee's gone", status: "PUBLISHED" });
    const hidden = await makePost({ authorId: dee.id, title: "Dee's hidden", status: "DRAFT" });
    await deletePosts([gone.id], { id: editor.user.id });
    // Enqueued as the save would have, for posts that are gone / not published by the time the job runs.
    await prisma.$transaction(async (tx) => {
      await enqueue(tx, postPublishedJob, { postId: gone.id, actorId: editor.user.id });
      await enqueue(tx, postPublishedJob, { postId: hidden.id, actorId: editor.user.id });
    });
    const rows = (await settled()).filter((r) => r.data.postId === gone.id || r.data.postId === hidden.id);
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r.state).toBe("completed"); // ended, not failed: nothing to retry
      expect(r.retry_count).toBe(0);
    }
    // A later mail to Dee arrives: the queue has moved past these jobs, and they sent nothing.
    const later = await makePost({ authorId: dee.id, title: "Dee's real one", status: "DRAFT" });
    await updatePost(later.id, later.version, { ...later, status: "PUBLISHED", publish: null, tagIds: [] }, { id: editor.user.id });
    await smtp.waitFor((m) => m.to.includes("dee.notify@example.test"));
    expect(await until(() => mailsTo("dee.notify@example.test").length >= 1)).toBe(true);
    expect(mailsTo("dee.notify@example.test").map((m) => m.subject)).toEqual(["Your post “Dee's real one” was published"]);
  });

  it("a rolled-back save enqueues nothing and sends nothing", async () => {
    const { user: eve } = await createUser({ role: "AUTHOR", email: "eve.notify@example.test" });
    const draft = await makePost({ authorId: eve.id, title: "Eve's draft", status: "DRAFT" });
    const before = (await publishJobs()).length;
    await expect(
      prisma.$transaction(async (tx) => {
        const after = await tx.post.update({ where: { id: draft.id }, data: { status: "PUBLISHED" } });
        await postSaved(tx, { before: draft, after, actorId: editor.user.id });
        throw new Error("the save failed after the hook");
      }),
    ).rejects.toThrow("the save failed after the hook");
    expect((await publishJobs()).length).toBe(before);
    expect((await prisma.post.findUniqueOrThrow({ where: { id: draft.id } })).status).toBe("DRAFT");
    // Through the real save path, a refused save (stale version) enqueues nothing either.
    await expect(
      updatePost(draft.id, draft.version + 7, { ...draft, status: "PUBLISHED", publish: null, tagIds: [] }, { id: editor.user.id }),
    ).rejects.toThrow();
    expect((await publishJobs()).length).toBe(before);
    expect(mailsTo("eve.notify@example.test")).toHaveLength(0);
  });
});
