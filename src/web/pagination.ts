// Django's Paginator/Page for server-rendered lists: ?page is a positive integer or "last";
// anything else (0, -1, 1.5, 10^20, "abc", ?page=1&page=2) is the site's 404, never a 500.
import { z } from "zod";
import { notFound } from "./errors.ts";
import { url, absoluteUrl } from "./urls.ts";

/** Up to 9 digits keeps page * perPage far inside a safe integer and a PostgreSQL bigint OFFSET. */
const pageParam = z.union([
  z.undefined().transform(() => 1 as number | "last"),
  z.literal("last"),
  z
    .string()
    .regex(/^\d{1,9}$/)
    .transform(Number)
    .refine((n) => n >= 1),
]);

/** The requested page (1 when absent) or "last"; throws the 404 HttpError on anything else. */
export function parsePage(raw: unknown): number | "last" {
  const r = pageParam.safeParse(raw);
  if (!r.success) throw notFound("No such page.");
  return r.data;
}

export function numPages(total: number, perPage: number): number {
  return Math.max(1, Math.ceil(total / perPage));
}

export interface Page {
  number: number;
  numPages: number;
  total: number;
  perPage: number;
  hasPrevious: boolean;
  hasNext: boolean;
  previousNumber: number | null;
  nextNumber: number | null;
  /** Links for the templates, built from the list's named route. */
  previousUrl: string | null;
  nextUrl: string | null;
  firstUrl: string;
  lastUrl: string;
}

/** Named route + params of the list being paginated; page 1 has no ?page in its URL. */
export interface PageRoute {
  name: string;
  params?: Record<string, string | number>;
}

const pageQuery = (n: number) => (n > 1 ? { page: n } : undefined);

function pageUrl(r: PageRoute, n: number): string {
  return url(r.name, r.params, pageQuery(n));
}

export function absolutePageUrl(r: PageRoute, n: number): string {
  return absoluteUrl(r.name, r.params, pageQuery(n));
}

/** Builds the Page; a number past the last page (other than page 1 of an empty list) is a 404. */
export function makePage(number: number, total: number, perPage: number, r: PageRoute): Page {
  const pages = numPages(total, perPage);
  if (number < 1 || number > pages) throw notFound("No such page.");
  const hasPrevious = number > 1;
  const hasNext = number < pages;
  return {
    number,
    numPages: pages,
    total,
    perPage,
    hasPrevious,
    hasNext,
    previousNumber: hasPrevious ? number - 1 : null,
    nextNumber: hasNext ? number + 1 : null,
    previousUrl: hasPrevious ? pageUrl(r, number - 1) : null,
    nextUrl: hasNext ? pageUrl(r, number + 1) : null,
    firstUrl: pageUrl(r, 1),
    lastUrl: pageUrl(r, pages),
  };
}
