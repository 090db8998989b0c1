// THE save path for categories and tags (the admin's forms and actions and the API call these): one
// transaction with the audit entry, the version check, unique slugs (a slug left empty is made from
// the name) and the reader caches dropped in every process (src/db/saves.ts). Permission is the
// caller's to ask (can(user, "category.change")...), as for the admin's generic views.
import { slugify } from "../blog/markdown.ts";
import { TAG_COMMA_MESSAGE } from "../posts/service.ts";
import { FieldErrors, versionedSaves, type Saved, type Saver } from "../db/saves.ts";

export { FieldErrors, NotFoundError, StaleVersionError } from "../db/saves.ts";

const withSlug = (d: Record<string, unknown>) => ({ ...d, slug: d.slug || slugify(String(d.name)) });

const categories = versionedSaves({
  model: "category",
  audit: "blog.category",
  fields: ["name", "slug", "description"],
  repr: (o) => String(o.name),
  prepare: withSlug,
});

const tags = versionedSaves({
  model: "tag",
  audit: "blog.tag",
  fields: ["name", "slug"],
  repr: (o) => String(o.name),
  prepare: (d) => {
    if (String(d.name).includes(",")) throw new FieldErrors({ name: TAG_COMMA_MESSAGE }); // the editor's tag field without JavaScript separates names with commas
    return withSlug(d);
  },
});

/** The saved columns and label of each model (the admin's forms show these). */
export const CATEGORY = categories.spec;
export const TAG = tags.spec;

export interface CategoryInput {
  name?: string;
  slug?: string;
  description?: string;
}
export interface TagInput {
  name?: string;
  slug?: string;
}

export const createCategory = (input: CategoryInput & { name: string }, actor: Saver): Promise<Saved> =>
  categories.create({ slug: "", description: "", ...input }, actor);
export const updateCategory = (id: number, expectedVersion: number, input: CategoryInput, actor: Saver): Promise<Saved> =>
  categories.update(id, expectedVersion, input as Record<string, unknown>, actor);
/** Their posts stay, without a category. `expectedVersion` (one id): deleted only at that version. */
export const deleteCategories = (ids: number[], actor: Saver, expectedVersion?: number): Promise<number> => categories.remove(ids, actor, expectedVersion);

export const createTag = (input: TagInput & { name: string }, actor: Saver): Promise<Saved> => tags.create({ slug: "", ...input }, actor);
export const updateTag = (id: number, expectedVersion: number, input: TagInput, actor: Saver): Promise<Saved> =>
  tags.update(id, expectedVersion, input as Record<string, unknown>, actor);
/** The tags are taken off their posts (the posts stay). `expectedVersion` (one id): deleted only at that version. */
export const deleteTags = (ids: number[], actor: Saver, expectedVersion?: number): Promise<number> => tags.remove(ids, actor, expectedVersion);
