// Conditional writes, in one place for every versioned resource (posts, categories, tags, users): the
// ETag of a versioned representation, If-Match compared with the stored version, and the two problems
// (428 when no version is sent, 412 with the resource as stored now when it is stale).
//
// ETag: "<version>-<hash of the JSON sent>" for posts (a post's representation also changes without a
// new version: a scheduled post going live, a renamed category, `fields`, `body` for its writers), so a
// conditional GET answers 304 only for the same bytes; "<version>" where the representation is the
// version's alone. If-Match guards the VERSION: a strong tag matches when its leading version is the
// stored one ("<version>" or "<version>-<anything>"), so a client sends back the ETag it got.
import { createHash } from "node:crypto";
import type { Request } from "express";
import { ApiProblem } from "./problem.ts";

/** A strong ETag (without quotes) naming `version` and these exact bytes: "<version>-<12 hex of SHA-256 of the JSON>". */
export function versionTag(version: number, body: unknown): string {
  return versionTagOfJson(version, JSON.stringify(body));
}

/** The same from the JSON text itself (the router's, which has serialised the answer already). */
export function versionTagOfJson(version: number, json: string): string {
  return `${version}-${createHash("sha256").update(json).digest("hex").slice(0, 12)}`;
}

/**
 * Does If-Match name `version`? Strong comparison (RFC 9110 13.1.1: a W/ tag never matches): a tag
 * matches when it is "<version>" or "<version>-<anything>". `star`: whether "*" counts (any version).
 */
export function versionMatches(header: string | undefined, version: number, star = false): boolean {
  if (header === undefined) return false;
  return header.split(",").some((raw) => {
    const t = raw.trim();
    if (t === "*") return star;
    const m = /^"(\d{1,10})(?:-[^"]*)?"$/.exec(t);
    return m !== null && Number(m[1]) === version;
  });
}

/** 428: the unsafe request names no version. */
export function preconditionRequired(): ApiProblem {
  return new ApiProblem(428, 'Send If-Match with the ETag you last read (e.g. If-Match: "3"), so a concurrent change is not overwritten.');
}

/**
 * 412 with the resource as stored now in `current` (`body`, default `current` itself) and its ETag
 * (`etag`, default versionTag of `body`: what a GET answering `body` tags it), so the client can merge
 * and send again with that ETag.
 */
export function preconditionFailed(current: { version: number }, body: unknown = current, etag: string = versionTag(current.version, body)): ApiProblem {
  return new ApiProblem(
    412,
    `It was changed since you read it: it is at version ${current.version} now. Merge your change into \`current\` and send it again with If-Match: "${etag}".`,
    {},
    { ETag: `"${etag}"` },
    { current: body },
  );
}

/**
 * The version an unsafe request is made over: If-Match must name `current.version` (versionMatches;
 * "*" is not a version). Missing or empty: 428; another version: 412 with `toBody(current)` (default:
 * `current`). The save checks the version again in its UPDATE, so a change landing between this check
 * and the save is refused too: pass the returned version to the save.
 */
export function requireVersion<T extends { version: number }>(req: Request, current: T, toBody: (c: T) => unknown = (c) => c): number {
  const h = req.headers["if-match"];
  if (h === undefined || h.trim() === "") throw preconditionRequired();
  if (!versionMatches(h, current.version)) throw preconditionFailed(current, toBody(current));
  return current.version;
}
