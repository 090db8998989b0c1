// tests/api/openapi.d.ts: the TypeScript types of the API, generated from its OpenAPI document by
// openapi-typescript (a third-party generator), formatted as the repository formats code.
//   npm run api:types                 writes the file (run it whenever an operation is added or changed)
//   generateTypes()                   the file's expected text (the contract test compares the committed one)
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString, COMMENT_HEADER, type OpenAPI3 } from "openapi-typescript";
import prettier from "prettier";
import { apiDocument } from "./document.ts";

export const TYPES_FILE = fileURLToPath(new URL("../openapi.d.ts", import.meta.url));

export async function generateTypes(): Promise<string> {
  const ast = await openapiTS(apiDocument() as unknown as OpenAPI3, { silent: true });
  const source = COMMENT_HEADER + astToString(ast);
  const options = (await prettier.resolveConfig(TYPES_FILE)) ?? {};
  return prettier.format(source, { ...options, filepath: TYPES_FILE });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(TYPES_FILE, await generateTypes());
  console.log(`wrote ${TYPES_FILE}`);
}
