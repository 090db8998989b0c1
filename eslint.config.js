import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";
import prettier from "eslint-config-prettier/flat";

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "src/generated/", ".data/", "public/", "test-results/", "bench-results/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "off",
      "no-console": "off",
    },
  },
  // Promises: type-aware rules (the TypeScript project of each file: tsconfig.json, tests/e2e/tsconfig.json).
  // Express 5 forwards a handler's rejected promise to the error handler, and its RequestHandler type returns
  // `unknown`, so async handlers pass no-misused-promises' void-return check without any exception.
  {
    files: ["src/**/*.ts", "tests/**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
    },
  },
  // Last: turns off the style rules that would fight the formatter (prettier owns layout).
  prettier,
);
