import type { RequestHandler } from "express";
import { absolute } from "./urls.ts";

/** SEO/page metadata every template can rely on; controllers override fields via res.locals.meta. */
export interface PageMeta {
  title?: string;
  description?: string;
  canonical?: string;
  ogType?: "website" | "article";
  /** The whole <title> and og:title as is (a post's meta title): no site name added. */
  fullTitle?: string;
  /** og:image / twitter:image: an absolute URL, with its size and alt text when known. */
  image?: string;
  imageWidth?: number;
  imageHeight?: number;
  imageAlt?: string;
  noindex?: boolean;
  jsonLd?: unknown;
  /** rel=prev / rel=next of paginated lists (absolute URLs). */
  prev?: string;
  next?: string;
  /** Open Graph article:* properties on a post's page. */
  article?: { publishedTime: string; modifiedTime?: string; author?: string; section?: string; tags?: string[] };
}

export const requestLocals: RequestHandler = (req, res, next) => {
  res.locals.currentPath = req.path;
  res.locals.meta = { canonical: absolute(req.path), ogType: "website" } satisfies PageMeta;
  next();
};
