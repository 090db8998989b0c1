// Previews of drafts and scheduled posts (the previews engineer fills this in): the post page exactly as
// readers will see it, marked as a preview, noindex, never cached; for signed-in writers who may view the
// post, and for reviewers without an account through a signed, expiring share link that a new link voids.
import type { Actor } from "../accounts/permissions.ts";

/** What the editor shows about previews of a post (null post: not saved yet, nothing to preview). */
export interface PreviewContext {
  /** The preview for the signed-in writer ("Preview" button). */
  previewUrl: string;
  /** The post's page for readers when it is live ("View on site"), else null. */
  liveUrl: string | null;
  /** The current share link (absolute), or null when none was made or it expired. */
  shareUrl: string | null;
  shareExpiresAt: Date | null;
  /** POST here (CSRF) to make a new share link, voiding the old one. */
  shareNewUrl: string;
  /** POST here (CSRF) to void the share link. */
  shareRevokeUrl: string;
}

/** STUB: the editor's preview links for `post` (views/previews/_panel.njk renders them). */
export async function previewContext(_user: Actor, _post: { id: number } | null): Promise<PreviewContext | null> {
  return null;
}
