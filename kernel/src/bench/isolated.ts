/**
 * Each benchmark in a process of its own, so that an entry's figure does not depend on which
 * other entries ran before it in the same process (their heap, their compiled code). Full runs
 * had read race trials 20–25 % below the same entries alone; measured afterwards, the shared
 * process was not the cause (docs/benchmarks.md, "Latest figures"), but a figure that cannot
 * depend on the selection is what `--only` runs and full runs must share.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { MeasureOptions } from "./harness.js";
import { parseResults } from "./harness.js";
import type { Benchmark } from "./types.js";

/** bench/run.mjs at the repository root (three levels up from src/bench or dist/bench). */
export const RUN_SCRIPT = fileURLToPath(new URL("../../../bench/run.mjs", import.meta.url));

/**
 * A measure function that runs `command` (argv, the program first) with
 * `--exact <name> --runs R --warmup W --json --no-write --in-process` appended and reads the
 * entry's median from the JSON it prints.
 */
export function measureInChild(
  command: readonly string[] = [process.execPath, RUN_SCRIPT],
): (bench: Benchmark, options: MeasureOptions) => Promise<number> {
  return (bench, options) =>
    new Promise((resolve, reject) => {
      const args = [
        ...command.slice(1),
        "--exact",
        bench.name,
        "--runs",
        String(options.runs),
        "--warmup",
        String(options.warmup),
        "--json",
        "--no-write",
        "--in-process",
      ];
      const child = spawn(command[0]!, args, { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
      child.on("error", reject);
      child.on("close", (code, signal) => {
        const fail = (why: string) =>
          reject(new Error(`benchmark '${bench.name}' in its own process: ${why}\n${err.trim()}`));
        if (code !== 0) return fail(signal !== null ? `killed by ${signal}` : `exit ${code}`);
        let results;
        try {
          results = parseResults(JSON.parse(out));
        } catch (error) {
          return fail(`unreadable output (${(error as Error).message})`);
        }
        const mine = results.find((r) => r.name === bench.name);
        if (mine === undefined) return fail("no result for it in the output");
        resolve(mine.value);
      });
    });
}
