// Input shapes of the reader's pages, parsed at the edge. A mismatch is the site's 404.
import { z } from "zod";

/** /blog/YYYY/MM/DD/slug/: the URL form postUrl() writes (4-digit year, 2-digit month and day). */
export const postDetailParams = z.object({
  year: z.string().regex(/^\d{4}$/).transform(Number),
  month: z.string().regex(/^\d{2}$/).transform(Number),
  day: z.string().regex(/^\d{2}$/).transform(Number),
  slug: z.string().min(1).max(250),
});

export const slugParams = z.object({ slug: z.string().min(1).max(100) });
export const authorParams = z.object({ username: z.string().min(1).max(150) });
