// The seams between folders, read from the import graph of src/ (every import, export-from, type-only
// import and dynamic import(), as TypeScript's own pre-processor finds them):
//  - src/web is the cross-cutting HTTP layer: it imports only src/web, the infrastructure below it
//    (src/config.ts, src/db, src/cache) and packages, never a feature (features register with it
//    instead: route(), extendTemplates(), the handlers app.ts mounts);
//  - src/posts (the post writes shared by the admin and the author's editor) does not import the admin.
// A violation names the file and the import, so the fix is where the message points.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const SRC = join(ROOT, "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === "generated" ? [] : sourceFiles(p);
    return e.name.endsWith(".ts") ? [p] : [];
  });
}

/** Each file's local imports, as paths relative to the repository ("src/blog/queries.ts"). */
function localImports(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
  return importedFiles
    .map((f) => f.fileName)
    .filter((name) => name.startsWith("."))
    .map((name) =>
      relative(ROOT, resolve(dirname(file), name))
        .split("\\")
        .join("/"),
    );
}

const graph = new Map(sourceFiles(SRC).map((f) => [relative(ROOT, f).split("\\").join("/"), localImports(f)]));

/** "from -> to" for every import of a file under `from` that `allowed` refuses. */
function violations(from: string, allowed: (target: string) => boolean): string[] {
  return [...graph].flatMap(([file, imports]) => (file.startsWith(from) ? imports.filter((t) => !allowed(t)).map((t) => `${file} -> ${t}`) : []));
}

describe("layering", () => {
  it("reads the import graph (the rules below see real files and imports)", () => {
    expect(graph.get("src/web/csrf.ts")).toContain("src/web/session.ts");
    expect(graph.get("src/app.ts")).toContain("src/web/errors.ts");
    expect([...graph.keys()].filter((f) => f.startsWith("src/web/")).length).toBeGreaterThan(10);
  });

  it("src/web imports only src/web, src/config.ts, src/db and src/cache (no feature folder)", () => {
    const ok = (t: string) => t.startsWith("src/web/") || t === "src/config.ts" || t.startsWith("src/db/") || t.startsWith("src/cache/");
    expect(violations("src/web/", ok)).toEqual([]);
  });

  it("src/posts does not import src/admin", () => {
    expect(violations("src/posts/", (t) => !t.startsWith("src/admin/"))).toEqual([]);
  });

  it("a rule catches a violation (a feature import in src/web would be named)", () => {
    const probe = 'import { postUrl } from "../blog/queries.ts";\nexport type { X } from \'./x.ts\';\nawait import("../admin/views.ts");';
    const found = ts.preProcessFile(probe, true, true).importedFiles.map((f) => f.fileName);
    expect(found).toEqual(["../blog/queries.ts", "./x.ts", "../admin/views.ts"]);
  });
});
