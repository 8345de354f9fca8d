// ESLint flat config: typescript-eslint's type-checked recommended rules for TypeScript, plain
// recommended rules for the few JavaScript files (checked by tsc through tsconfig.json instead).
import js from "@eslint/js";
import { defineConfig, globalIgnores } from "eslint/config";
import tseslint from "typescript-eslint";

export default defineConfig(
  globalIgnores([
    "**/dist/",
    "**/node_modules/",
    "coverage/",
    "test-artifacts/",
    ".jupyter-data/",
    "**/*.tsbuildinfo",
  ]),
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" },
      ],
    },
  },
  {
    files: ["**/*.js", "**/*.mjs", "**/*.cjs"],
    extends: [tseslint.configs.disableTypeChecked],
    rules: {
      // tsc (checkJs, @types/node) checks identifiers in JS files; ESLint has no Node globals list.
      "no-undef": "off",
    },
  },
);
