// Input shapes of the reader's pages, parsed at the edge with the site's input primitives
// (src/web/inputs.ts). A mismatch is the site's 404.
import { z } from "zod";
import { DAY_PATH_PARTS, isRealDay, slugString } from "../web/inputs.ts";

/** A path segment we look up: no control characters (PostgreSQL rejects NUL in text). */
const segment = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    // eslint-disable-next-line no-control-regex
    .regex(/^[^\u0000-\u001f\u007f]+$/);

/** /blog/YYYY/MM/DD/slug/: the URL form postUrl() writes (4-digit year, 2-digit month and day of a real day). */
export const postDetailParams = z.object({ ...DAY_PATH_PARTS, slug: slugString(250) }).refine(isRealDay);

/** A category's or tag's slug (/blog/category/<slug>/, /blog/tag/<slug>/ and their feeds). */
export const slugParams = z.object({ slug: slugString(100) });
export const authorParams = z.object({ username: segment(150) });
