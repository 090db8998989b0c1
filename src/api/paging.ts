// Page-number pages (DRF's PageNumberPagination), built in one place: the query parameters `page` and
// `page_size` (snake_case, as DRF's query parameters), and the envelope {count, next, previous,
// results} with absolute links to the neighbours (the previous link of page 2 names no page: page 1).
import { z } from "zod";
import { absoluteUrl } from "../web/urls.ts";
import { MAX_PAGE_SIZE, pageParam, pageSizeParam } from "./posts-resource.ts";
import { problems } from "./problem.ts";

/** The query of a paged list: `page` and `page_size` (`noun`: "Users" per page, default `size`). */
export const pageQuery = (noun: string, size: number) =>
  z.strictObject({
    page: pageParam.optional(),
    page_size: pageSizeParam.optional().meta({ description: `${noun} per page (1-${MAX_PAGE_SIZE}; default ${size}).` }),
  });

/**
 * The page's envelope. A page past the last (page > 1 with no results) is a 404 naming `noun`.
 * `link(page)`: the absolute URL of that page (undefined: the first), e.g. pageLink("api:listUsers", query).
 */
export function pageEnvelope<T>(p: { count: number; page: number; size: number; results: T[]; noun: string; link: (page: number | undefined) => string }) {
  if (p.page > 1 && p.results.length === 0) throw problems.notFound(`Invalid page: there are fewer ${p.noun}.`);
  return {
    count: p.count,
    next: p.page * p.size < p.count ? p.link(p.page + 1) : null,
    previous: p.page > 1 ? p.link(p.page === 2 ? undefined : p.page - 1) : null,
    results: p.results,
  };
}

/** Links to the pages of the list named `route`, keeping the request's `page_size`. */
export const pageLink =
  (route: string, query: { page_size?: number }) =>
  (page: number | undefined): string =>
    absoluteUrl(route, {}, { page, page_size: query.page_size });
