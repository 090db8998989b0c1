// The small "write a post" pages (/write/): parse the form (zod), call the authoring service, render.
import type { Request, Response } from "express";
import { z } from "zod";
import { prisma } from "../db/index.ts";
import { can, maySetPostField } from "../accounts/permissions.ts";
import { keptValues, parseForm, text, type FieldErrors } from "../accounts/validation.ts";
import { postUrl } from "../blog/queries.ts";
import { notFound } from "../web/errors.ts";
import { url } from "../web/urls.ts";
import { FORM_BODY_LIMIT_BYTES, POST_BODY_MAX, tooLongMessage } from "../web/limits.ts";
import { editorContext } from "../autosave/editor.ts";
import { splitTagNames, tagNamesProblem } from "../posts/service.ts";
import type { Post } from "../db/index.ts";
import { idString, isId, pathId, toId } from "../web/inputs.ts";
import { AuthoringError, ConflictError, createPost, postForChange, SlugTakenError, updatePost, type WriteInput } from "./service.ts";

const BODY_MAX = POST_BODY_MAX; // one figure for the admin and this editor (src/web/limits.ts)

/**
 * The body: line breaks as the writer sees them (a browser sends each as CRLF, the textarea counts
 * one), over BODY_MAX characters -> the message naming the limit; then the usual text rules.
 */
const bodyField = z
  .preprocess((v) => (typeof v === "string" ? v.replace(/\r\n/g, "\n") : v), z.unknown())
  .superRefine((v, ctx) => {
    if (typeof v === "string" && v.length > BODY_MAX) ctx.addIssue({ code: "custom", message: tooLongMessage(BODY_MAX, v.length), abort: true });
  })
  .pipe(text(BODY_MAX, { required: "Write the post's text.", allowNewlines: true, trim: false }));

const writeSchema = z.object({
  title: text(250, { required: "Enter a title." }),
  category: text(12).refine((s) => s === "" || isId(s), "Select a valid choice."),
  tags: text(1000).superRefine((s, ctx) => {
    const problem = tagNamesProblem(splitTagNames(s));
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }),
  body: bodyField,
  status: z.preprocess((v) => (v === undefined || v === "" ? "DRAFT" : v), z.enum(["DRAFT", "PUBLISHED"], { error: "Select a valid choice." })),
});

const versionSchema = z.object({ version: text(10).pipe(idString("Missing version.")) });

const FIELDS = ["title", "category", "tags", "body", "status"];

/** `tagNames`: the post's own tags (see splitTagNames: one with a comma in its name stays one). */
function toInput(d: z.output<typeof writeSchema>, tagNames: string[] = []): WriteInput {
  return {
    title: d.title,
    body: d.body,
    categoryId: d.category ? Number(d.category) : null,
    tagNames: splitTagNames(d.tags, tagNames),
    status: d.status,
  };
}

async function formContext(req: Request, post: Post | null) {
  const categories = await prisma.category.findMany({ orderBy: { name: "asc" }, select: { id: true, name: true } });
  const canPublish = maySetPostField(req.user, "status", post);
  return {
    categories: [{ value: "", label: "(none)" }, ...categories.map((c) => ({ value: String(c.id), label: c.name }))],
    statuses: [{ value: "DRAFT", label: "Draft" }, ...(canPublish ? [{ value: "PUBLISHED", label: "Published" }] : [])],
  };
}

async function render(req: Request, res: Response, ctx: Record<string, unknown>, status = 200) {
  res.locals.meta = { ...(res.locals.meta ?? {}), title: ctx.post ? "Edit post" : "Write a post", noindex: true };
  res.status(status).render("authoring/write.njk", {
    ...(await formContext(req, (ctx.post as Post | undefined) ?? null)),
    errors: {},
    bodyMax: BODY_MAX,
    // autosave, the offer of a newer autosave (on a first showing only), the sign-in dialog
    editor: await editorContext(req.user!.id, (ctx.post as Post | undefined) ?? null, (ctx.values ?? {}) as Record<string, unknown>, status === 200),
    ...ctx,
  });
}

/** "Select a valid choice" for a well-formed category id that does not exist (reported with the other errors). */
async function categoryError(raw: string | undefined): Promise<FieldErrors> {
  const id = toId(raw);
  if (id === null) return {};
  const found = await prisma.category.findUnique({ where: { id }, select: { id: true } });
  return found ? {} : { category: "Select a valid choice. That choice is not one of the available choices." };
}

const idParam = (req: Request): number => pathId(req.params.id);

/**
 * The save lost a race for the post's address: another post took the slug on that day between the
 * check and the save. Nothing was saved; the form comes back with the text (as the admin does).
 */
function slugTaken(e: SlugTakenError): FieldErrors {
  return {
    title: `Another post published on ${e.day} took this post's address (“${e.slug}”) just now. Nothing was saved and your text is kept below: save again to give the post the next free address, or change the title.`,
  };
}

function done(res: Response, post: { id: number; status: string; publish: Date; slug: string }) {
  res.redirect(303, post.status === "PUBLISHED" ? postUrl(post) : url("authoring:draft_saved", { id: post.id }));
}

export const writeForm = async (req: Request, res: Response): Promise<void> => {
  await render(req, res, { values: { title: "", category: "", tags: "", body: "", status: "DRAFT" } });
};

export const write = async (req: Request, res: Response): Promise<void> => {
  const values = keptValues(req.body, FIELDS, FORM_BODY_LIMIT_BYTES);
  const form = parseForm(writeSchema, req.body);
  const errors = { ...(form.ok ? {} : form.errors), ...(await categoryError(values.category)) };
  if (!form.ok || Object.keys(errors).length) return render(req, res, { values, errors }, 400);
  try {
    done(res, await createPost(req.user!, toInput(form.data)));
  } catch (e) {
    if (e instanceof AuthoringError) return render(req, res, { values, errors: { [e.field]: e.message } satisfies FieldErrors }, 400);
    if (e instanceof SlugTakenError) return render(req, res, { values, errors: slugTaken(e) }, 400);
    throw e;
  }
};

export const editForm = async (req: Request, res: Response): Promise<void> => {
  const post = await postForChange(req.user!, idParam(req));
  await render(req, res, {
    post,
    values: {
      title: post.title,
      category: post.categoryId ? String(post.categoryId) : "",
      tags: [...post.tagNames].sort((a, b) => a.localeCompare(b)).join(", "),
      body: post.body,
      status: post.status,
      version: String(post.version),
    },
  });
};

export const edit = async (req: Request, res: Response): Promise<void> => {
  const post = await postForChange(req.user!, idParam(req));
  const values: Record<string, string> = keptValues(req.body, [...FIELDS, "version"], FORM_BODY_LIMIT_BYTES);
  const form = parseForm(writeSchema, req.body);
  const version = parseForm(versionSchema, req.body);
  const errors = { ...(form.ok ? {} : form.errors), ...(version.ok ? {} : version.errors), ...(await categoryError(values.category)) };
  if (!form.ok || !version.ok || Object.keys(errors).length) return render(req, res, { post, values, errors }, 400);
  try {
    done(res, await updatePost(req.user!, post.id, version.data.version, toInput(form.data, post.tagNames)));
  } catch (e) {
    if (e instanceof AuthoringError) return render(req, res, { post, values, errors: { [e.field]: e.message } }, 400);
    if (e instanceof SlugTakenError) return render(req, res, { post, values, errors: slugTaken(e) }, 400);
    if (e instanceof ConflictError)
      return render(req, res, { post: e.current, values: { ...values, version: String(e.current.version) }, errors: { __all__: e.message } }, 409);
    throw e;
  }
};

export const draftSaved = async (req: Request, res: Response): Promise<void> => {
  const id = idParam(req);
  const post = await prisma.post.findUnique({ where: { id }, select: { id: true, title: true, status: true, authorId: true, updatedAt: true } });
  if (!post || !can(req.user, "post.view", post)) throw notFound();
  res.locals.meta = { ...(res.locals.meta ?? {}), title: "Draft saved", noindex: true };
  res.render("authoring/draft_saved.njk", { post, canChange: can(req.user, "post.change", post) });
};
