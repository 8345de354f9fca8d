import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import SummaryReporter from "./scripts/vitest-summary-reporter.js";

export default defineConfig({
  resolve: {
    // The renderers import the contract as a package (its built dist/ in the bundle); tests load
    // its source, so kernel and renderer tests share one module and one PayloadError class.
    alias: {
      "@mmulab/kernel/contract": fileURLToPath(
        new URL("./kernel/src/contract/index.ts", import.meta.url),
      ),
    },
  },
  test: {
    include: ["kernel/test/**/*.test.ts", "lab-extension/test/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "threads",
    reporters: ["default", new SummaryReporter()],
  },
});
