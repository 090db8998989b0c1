// Every setting in src/config.ts is documented in README.md's configuration table and in
// .env.example (with its default), so the docs cannot fall behind the code.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../../src/config.ts";
import { ROOT } from "./support.ts";

const source = readFileSync(join(ROOT, "src/config.ts"), "utf8");
const schemaBody = source.slice(source.indexOf("z.object({"), source.indexOf("});", source.indexOf("z.object({")));
const settings = [...schemaBody.matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!);
const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const envExample = readFileSync(join(ROOT, ".env.example"), "utf8");
const defaults = parseConfig({}) as Record<string, unknown>;

describe("configuration docs", () => {
  it("finds the settings in src/config.ts", () => {
    expect(settings).toContain("PORT");
    expect(settings).toContain("DATABASE_URL");
    expect(settings.length).toBeGreaterThan(15);
  });
  for (const name of settings) {
    it(`${name} is in README's table and in .env.example with its default`, () => {
      expect(readme).toMatch(new RegExp(`^\\| \`${name}\` \\|`, "m"));
      const line = envExample.split("\n").find((l) => l.startsWith(`# ${name}=`));
      expect(line, `.env.example has "# ${name}=..."`).toBeDefined();
      const value = defaults[name];
      // A default computed at start-up (JWT_KEYS: a key derived from SESSION_SECRET) is documented as unset.
      const computed = Array.isArray(value) && value.some((v) => typeof v === "object");
      if (computed) expect(readme).toMatch(new RegExp(`^\\| \`${name}\` \\| \\*\\(unset\\)\\* \\|`, "m"));
      else if (value !== undefined) {
        const shown = Array.isArray(value) ? value.join(",") : String(value);
        expect(line).toBe(`# ${name}=${shown}`);
        expect(readme).toMatch(new RegExp(`^\\| \`${name}\` \\| \`${shown.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\` \\|`, "m"));
      }
    });
  }
});
