#!/usr/bin/env node
/** Entry point of the `mmulab` binary (`node kernel/dist/cli/main.js`, or `npx mmulab`). */
import { readFileSync } from "node:fs";
// Loading it installs the progress sink the experiments report to: a bar redrawn on stderr when
// that is a terminal (race-matrix, kernbench, sweeps), nothing when it is a pipe or a file.
import "../display/progress.js";
import { tuneV8ForShortLivedSimulations } from "../sim/v8-tuning.js";
import { runCli } from "./cli.js";
import { processIO } from "./command.js";
import { commands } from "./commands.js";

function packageVersion(): string {
  // Two levels up from both src/cli/ and dist/cli/ is the kernel package root.
  const url = new URL("../../package.json", import.meta.url);
  const pkg = JSON.parse(readFileSync(url, "utf8")) as { version?: unknown };
  return typeof pkg.version === "string" ? pkg.version : "0.0.0";
}

tuneV8ForShortLivedSimulations();
process.exitCode = await runCli(process.argv.slice(2), processIO, commands, packageVersion());
