#!/usr/bin/env node
// `npm run bench [-- options]`: the kernel's benchmarks (bench/run.mjs, which rewrites
// bench/results.json), then the renderers' first-paint benchmarks in Chromium
// (lab-extension/bench/first-paint.ts, which merges its entries into the same file). Both take
// the same flags; see `npm run bench -- --help`.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);

/** @param {string[]} argv */
function node(argv) {
  const result = spawnSync(process.execPath, argv, { cwd: root, stdio: "inherit" });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

const kernel = node([join(root, "bench", "run.mjs"), ...args]);
if (kernel !== 0) process.exit(kernel);
process.exit(
  node(["--import", "tsx", join(root, "lab-extension", "bench", "first-paint.ts"), ...args]),
);
