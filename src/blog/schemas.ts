// Input shapes of the reader's pages, parsed at the edge. A mismatch is the site's 404.
import { z } from "zod";

/** A path segment we look up: no control characters (PostgreSQL rejects NUL in text). */
// eslint-disable-next-line no-control-regex
const segment = (max: number) => z.string().min(1).max(max).regex(/^[^\u0000-\u001f\u007f]+$/);

/** /blog/YYYY/MM/DD/slug/: the URL form postUrl() writes (4-digit year, 2-digit month and day). */
export const postDetailParams = z.object({
  year: z.string().regex(/^\d{4}$/).transform(Number),
  month: z.string().regex(/^\d{2}$/).transform(Number),
  day: z.string().regex(/^\d{2}$/).transform(Number),
  slug: segment(250),
});

export const slugParams = z.object({ slug: segment(100) });
export const authorParams = z.object({ username: segment(150) });
