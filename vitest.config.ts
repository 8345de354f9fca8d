import { defineConfig } from "vitest/config";
import SummaryReporter from "./scripts/vitest-summary-reporter.js";

export default defineConfig({
  test: {
    include: ["kernel/test/**/*.test.ts", "lab-extension/test/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "threads",
    reporters: ["default", new SummaryReporter()],
  },
});
