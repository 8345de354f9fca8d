/** `mmulab kernbench`: simulated kernel builds, one configuration or the seed's whole table. */
import { HOST_NAMES } from "../../workloads/hosts.js";
import {
  hostProfile,
  KERNBENCH_KERNELS,
  type KernbenchKernel,
} from "../../experiments/kernbench.js";
import { meanStd, KERNBENCH_FIELDS } from "../../experiments/kernbench-stats.js";
import { availableParallelism } from "node:os";
import { formatSeedTable, runBuilds, runSeedTable } from "../../experiments/kernbench-table.js";
import { intFlag, JSON_FLAG_USAGE, jsonFlag, parseFlags } from "../args.js";
import { PROGRAM } from "../cli.js";
import type { Command } from "../command.js";
import { EXIT_OK, UsageError } from "../command.js";

export const kernbenchCommand: Command = {
  name: "kernbench",
  summary: "simulate kernbench builds (make -j N) or the seed's whole kernbench table",
  usage: [
    `Usage: ${PROGRAM} kernbench --host <${HOST_NAMES.join("|")}> -j N [--rcu-table-free on|off] [--runs R] [--seed S] [--json]`,
    `       ${PROGRAM} kernbench --seed-table [--runs R] [--seed S] [--workers W] [--json]`,
    "",
    "Runs a simulated `make -j N` of a Linux kernel on a host profile and prints what kernbench",
    "prints (GNU time's elapsed, user, system, %CPU, context switches, sleeps) as mean (std).",
    "--seed-table re-derives the seed patch's table: both hosts, half and optimal load, CURRENT",
    "vs HAVE_RCU_TABLE_FREE, next to the seed's numbers.",
    "",
    "Options:",
    `  --host H            ${HOST_NAMES.join(", ")}`,
    "  -j N                make jobs (1 … 64 × CPUs)",
    "  --rcu-table-free X  on (v4.14 as posted), off (v4.13; default), or no-shortcut",
    "  --runs R            builds (default 5)",
    "  --seed S            seed of the first build (default 1)",
    "  --workers W         build processes in parallel (default: available parallelism)",
    "  --scale F           shorter build: fraction of the objects, 0 < F ≤ 1 (default 1)",
    JSON_FLAG_USAGE,
  ].join("\n"),
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      ...jsonFlag,
      host: { type: "string" },
      j: { type: "string", short: "j" },
      "rcu-table-free": { type: "string" },
      runs: { type: "string" },
      seed: { type: "string" },
      workers: { type: "string" },
      scale: { type: "string" },
      "seed-table": { type: "boolean", default: false },
    });
    const runs = intFlag(values.runs, "runs", 5, { min: 1, max: 100 });
    const seed = intFlag(values.seed, "seed", 1, { min: 0, max: 2 ** 32 - 101 });
    const workers = intFlag(values.workers, "workers", 0, { min: 0, max: 64 }) || undefined;
    const scale = values.scale === undefined ? 1 : Number(values.scale);
    if (!(scale > 0 && scale <= 1))
      throw new UsageError(`option '--scale' must be in (0, 1], got '${values.scale}'`);
    if (values["seed-table"]) {
      const t = await runSeedTable({
        runs,
        seed,
        scale,
        ...(workers !== undefined ? { workers } : {}),
      });
      io.out(values.json ? `${JSON.stringify(t, null, 2)}\n` : `${formatSeedTable(t)}\n`);
      return EXIT_OK;
    }
    if (values.host === undefined) throw new UsageError("--host is required (or --seed-table)");
    const host = hostProfile(values.host);
    const jobs = intFlag(values.j, "j", host.halfJobs, { min: 1, max: host.nrCpus * 64 });
    const rtf = values["rcu-table-free"] ?? "off";
    const kernel: KernbenchKernel =
      rtf === "on" ? "rcu" : rtf === "off" ? "current" : (rtf as KernbenchKernel);
    if (!(KERNBENCH_KERNELS as readonly string[]).includes(kernel))
      throw new UsageError(
        `option '--rcu-table-free' expects on, off or no-shortcut, got '${rtf}'`,
      );
    const done = await runBuilds(
      Array.from({ length: runs }, (_, i) => ({
        host: host.name,
        jobs,
        kernel,
        seed: seed + i,
        scale,
      })),
      // build processes by default: parallel runs, and the build's tuned heap (buildProcessFlags)
      workers ?? Math.min(runs, availableParallelism()),
    );
    const stats = Object.fromEntries(
      KERNBENCH_FIELDS.map((f) => [f, meanStd(done.map((r) => r.stats[f]))]),
    );
    const result = {
      host: host.name,
      jobs,
      kernel,
      runs,
      seed,
      stats,
      mechanism: done.map((r) => r.mechanism),
    };
    if (values.json) io.out(`${JSON.stringify(result, null, 2)}\n`);
    else {
      const lines = [`${host.title}, make -j ${jobs}, ${kernel}, ${runs} run(s):`];
      for (const f of KERNBENCH_FIELDS) {
        const m = result.stats[f]!;
        lines.push(`  ${f.padEnd(16)} ${m.mean.toPrecision(6)} (${m.std.toPrecision(4)})`);
      }
      const m0 = done[0]!.mechanism;
      lines.push(
        `  page tables: ${m0.tablesFreedDirect} freed directly, ${m0.tablesFreedRcu} through RCU (first run)`,
      );
      io.out(`${lines.join("\n")}\n`);
    }
    return EXIT_OK;
  },
};
