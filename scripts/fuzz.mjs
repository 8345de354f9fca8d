#!/usr/bin/env node
// `npm run fuzz [-- options]`: the fuzzing properties (test/fuzz/properties.ts) at
// 10,000 cases each by default; `npm run fuzz -- --help` for the options. Runs the TypeScript
// sources through tsx, so it needs node_modules but no build.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", join(root, "test", "fuzz", "run.ts"), ...process.argv.slice(2)],
  { cwd: root, stdio: "inherit" },
);
if (result.error) throw result.error;
process.exit(result.status ?? 1);
