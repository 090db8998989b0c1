// What a post form's template needs for the editor script (public/js/editor.js): where to autosave,
// where to check the session, which post and version, the limit of the body, and the autosave to
// offer back. Used by the admin's change forms (the post editor among them).
import { url } from "../web/urls.ts";
import { POST_BODY_MAX } from "../web/limits.ts";
import { autosaveOffer, type AutosaveOffer } from "./service.ts";

export interface EditorContext {
  autosaveUrl: string;
  sessionUrl: string;
  loginUrl: string;
  userId: number;
  postId: number | null;
  baseVersion: number | null;
  bodyMax: number;
  /** The newer autosave, when there is one to offer (only when the form is first shown). */
  offer: AutosaveOffer | null;
}

/**
 * The editor context for `userId` on the form of `post` (null: a new post). `shown`: the values the
 * form shows (compared with the autosave); `offer`: look for an autosave to offer (a GET of the form,
 * not a form shown again after a refused save, which already holds the typed text).
 */
export async function editorContext(
  userId: number,
  post: { id: number; updatedAt: Date; version: number } | null,
  shown: Record<string, unknown>,
  offer: boolean,
): Promise<EditorContext> {
  return {
    autosaveUrl: url("autosave:save"),
    sessionUrl: url("autosave:session"),
    loginUrl: url("accounts:login"),
    userId,
    postId: post?.id ?? null,
    baseVersion: post?.version ?? null,
    bodyMax: POST_BODY_MAX,
    offer: offer ? await autosaveOffer(userId, post, shown) : null,
  };
}
