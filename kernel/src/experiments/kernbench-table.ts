/**
 * The seed's kernbench table, re-derived: for each host, half load (-j CPUs/2) and optimal load
 * (-j 4 × CPUs), CURRENT vs HAVE_RCU_TABLE_FREE, `runs` builds each with seeds seed … seed+runs−1,
 * printed the way kernbench prints it (see kernbench-stats.ts) next to the seed's numbers, plus
 * the true per-load figures and the mechanism counters the seed could not see.
 *
 * Builds run on a pool of child processes (runBuilds); each build's seed is fixed by its position
 * in the table, so the results are identical whatever the number of workers.
 */
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { checkBool, checkInt, checkNameList, checkOptions, ParameterError } from "../sim/errors.js";
import { withProgress } from "../sim/progress.js";
import { HOST_NAMES } from "../workloads/hosts.js";
import {
  hostProfile,
  runKernbench,
  type KernbenchKernel,
  type KernbenchRun,
  type KernbenchRunOptions,
  type MechanismStats,
} from "./kernbench.js";
import { processRunner } from "./process-runner.js";
import {
  KERNBENCH_LABELS,
  kernbenchPrinted,
  SEED_TABLE,
  trueBlock,
  type KernbenchBlock,
  KERNBENCH_FIELDS,
} from "./kernbench-stats.js";

export interface SeedTableOptions {
  readonly hosts?: readonly string[];
  readonly runs?: number;
  readonly seed?: number;
  /** Build processes (child processes with their own V8 flags); 0 runs the builds in this
   * thread. Default: available parallelism. */
  readonly workers?: number;
  /** Scale the build (tests use a shorter build). Default 1. */
  readonly scale?: number;
  /** The csdBatch modelling shortcut in every build (system/build.ts). Default false. */
  readonly csdBatch?: boolean;
  /** Show progress, one step per build (in a notebook, or on a terminal's stderr). Default
   * true. */
  readonly progress?: boolean;
}

export interface TableColumn {
  readonly kernel: "current" | "rcu";
  readonly printed: { readonly half: KernbenchBlock; readonly optimal: KernbenchBlock };
  readonly true: { readonly half: KernbenchBlock; readonly optimal: KernbenchBlock };
  /** Mechanism counters summed over the column's runs. */
  readonly mechanism: { readonly half: MechanismStats; readonly optimal: MechanismStats };
}

export interface HostTable {
  readonly host: string;
  readonly halfJobs: number;
  readonly optimalJobs: number;
  readonly current: TableColumn;
  readonly rcu: TableColumn;
}

export interface SeedTable {
  readonly runs: number;
  readonly seed: number;
  readonly scale: number;
  readonly hosts: readonly HostTable[];
  /** Present (true) when the builds took the csdBatch modelling shortcut. */
  readonly csdBatch?: boolean;
}

/**
 * V8 flags of a build process running beside `parallel − 1` others: a small nursery, and no GC
 * helper threads once every core runs a build. They hold for a whole process, hence child
 * processes, not threads. The measurements behind them: docs/benchmarks.md, "Performance devices
 * in model code".
 */
export function buildProcessFlags(parallel: number): string[] {
  const flags = ["--max-semi-space-size=4"];
  if (parallel >= availableParallelism()) flags.push("--single-threaded-gc");
  return flags;
}

/** Most build processes at once: each takes about 1.5 GB while it runs (see buildProcessFlags). */
export const MAX_BUILD_WORKERS = 64;

export interface RunBuildsProgress {
  /** What the bar says (default "kernbench builds"). */
  readonly label?: string;
  /** Default true. */
  readonly progress?: boolean;
}

/**
 * Runs build option sets on `workers` child processes (0: inline), results in input order, with
 * a progress display counting finished builds (it ends where the builds stopped if one fails).
 */
export async function runBuilds(
  options: readonly KernbenchRunOptions[],
  workers: number,
  show: RunBuildsProgress = {},
): Promise<KernbenchRun[]> {
  checkInt("workers", workers, 0, MAX_BUILD_WORKERS, "kernbench");
  return withProgress(
    options.length,
    {
      label: `${show.label ?? "kernbench builds"}: ${options.length} build${options.length === 1 ? "" : "s"}`,
      enabled: show.progress !== false,
    },
    (bar) => buildAll(options, workers, bar),
  );
}

async function buildAll(
  options: readonly KernbenchRunOptions[],
  workers: number,
  bar: (done: number) => void,
): Promise<KernbenchRun[]> {
  if (workers <= 0) {
    const out: KernbenchRun[] = [];
    for (const o of options) {
      out.push(runKernbench(o));
      bar(out.length);
    }
    return out;
  }
  let finished = 0;
  const results: KernbenchRun[] = new Array<KernbenchRun>(options.length);
  // From the compiled package the entry sits beside this file; from the TypeScript sources
  // (vitest) use the build in kernel/dist, which `npm test` makes first.
  const here = import.meta.url;
  const entry = fileURLToPath(
    here.endsWith(".ts")
      ? new URL("../../dist/experiments/kernbench-worker.js", here)
      : new URL("./kernbench-worker.js", here),
  );
  const n = Math.min(workers, options.length);
  const builds = processRunner<KernbenchRunOptions, KernbenchRun>(entry, n, buildProcessFlags(n));
  // Longest first: each process takes the next build as it finishes one, so the builds that
  // start last should be short ones, or one process idles while the other ends a long build.
  // Each build's seed is in its options, so the order changes no result.
  const order = longestFirst(options);
  await builds.run(
    order.map((i) => options[i]!),
    (k, run) => {
      results[order[k]!] = run;
      bar(++finished);
    },
  );
  return results;
}

/**
 * A rough estimate of a build's simulation cost, to start the longest first: proportional to
 * its objects (scale) and to the builds it runs (guests), and growing with make's jobs (more
 * runnable tasks per CPU: more preemptions, switches and shorter user-time chunks). A 6-CPU
 * build took 1.4 s at -j3 and 2.0 s at -j24, a 16-CPU one 1.3 s at -j8 and 2.5 s at -j64
 * (2026-12-07, CPU time, one process); only the order matters.
 */
export function buildCostEstimate(o: KernbenchRunOptions): number {
  const perBuild = (jobs: number) => Math.log2(2 + jobs);
  const scale = o.scale ?? 1;
  if (o.guests !== undefined && o.guests.length > 0)
    return scale * o.guests.reduce((s, g) => s + perBuild(g.jobs ?? o.jobs), 0);
  return scale * (o.vms ?? 1) * perBuild(o.jobs);
}

/** Indices of `options`, the costliest build first (ties in input order). */
export function longestFirst(options: readonly KernbenchRunOptions[]): number[] {
  const cost = options.map(buildCostEstimate);
  return options.map((_, i) => i).sort((a, b) => cost[b]! - cost[a]! || a - b);
}

function sumMechanism(runs: readonly KernbenchRun[]): MechanismStats {
  const out: Record<string, number> = {};
  for (const r of runs)
    for (const [k, v] of Object.entries(r.mechanism) as [string, number][])
      out[k] = k.startsWith("peak") ? Math.max(out[k] ?? 0, v) : (out[k] ?? 0) + v;
  return out as unknown as MechanismStats;
}

export async function runSeedTable(o: SeedTableOptions = {}): Promise<SeedTable> {
  const ctx = "kernbench --seed-table";
  checkOptions(
    "options",
    o,
    ["hosts", "runs", "seed", "workers", "scale", "csdBatch", "progress"],
    ctx,
  );
  const csdBatch = checkBool("csdBatch", o.csdBatch, false, ctx);
  const hosts = checkNameList("hosts", o.hosts, HOST_NAMES, ["6cpu", "16cpu"], ctx).map((h) =>
    hostProfile(h),
  );
  const runs = checkInt("runs", o.runs ?? 5, 1, 100, ctx);
  const seed = checkInt("seed", o.seed ?? 1, 0, 2 ** 32 - 101, ctx);
  const scale = o.scale ?? 1;
  if (!(typeof scale === "number" && scale > 0 && scale <= 1))
    throw new ParameterError("scale", scale, "a number in (0, 1]", ctx);
  const workers = checkInt(
    "workers",
    o.workers ?? Math.min(availableParallelism(), MAX_BUILD_WORKERS),
    0,
    MAX_BUILD_WORKERS,
    ctx,
  );
  const plan: KernbenchRunOptions[] = [];
  for (const h of hosts)
    for (const kernel of ["current", "rcu"] as const)
      for (const jobs of [h.halfJobs, h.optimalJobs])
        for (let i = 0; i < runs; i++)
          plan.push({
            host: h.name,
            jobs,
            kernel,
            seed: seed + i,
            scale,
            ...(csdBatch ? { csdBatch } : {}),
          });
  const done = await runBuilds(plan, workers, {
    label: "kernbench seed table",
    progress: o.progress !== false,
  });
  const pick = (host: string, kernel: KernbenchKernel, jobs: number) =>
    done.filter(
      (r) => r.options.host === host && r.options.kernel === kernel && r.options.jobs === jobs,
    );
  const tables = hosts.map((h): HostTable => {
    const column = (kernel: "current" | "rcu"): TableColumn => {
      const half = pick(h.name, kernel, h.halfJobs);
      const opt = pick(h.name, kernel, h.optimalJobs);
      const [ph, po] = kernbenchPrinted([half.map((r) => r.stats), opt.map((r) => r.stats)]) as [
        KernbenchBlock,
        KernbenchBlock,
      ];
      return {
        kernel,
        printed: { half: ph, optimal: po },
        true: {
          half: trueBlock(half.map((r) => r.stats)),
          optimal: trueBlock(opt.map((r) => r.stats)),
        },
        mechanism: { half: sumMechanism(half), optimal: sumMechanism(opt) },
      };
    };
    return {
      host: h.name,
      halfJobs: h.halfJobs,
      optimalJobs: h.optimalJobs,
      current: column("current"),
      rcu: column("rcu"),
    };
  });
  return { runs, seed, scale, hosts: tables, ...(csdBatch ? { csdBatch } : {}) };
}

const LABELS = KERNBENCH_LABELS;

function fmt(n: number): string {
  if (Number.isInteger(n)) return String(n);
  const p = n.toPrecision(6);
  return p.includes(".") && !p.includes("e") ? p.replace(/\.?0+$/, "") : p;
}

/** The table in the seed's layout, with the seed's values and the relative difference. */
export function formatSeedTable(t: SeedTable): string {
  const out: string[] = [];
  for (const h of t.hosts) {
    const seed = SEED_TABLE[h.host as keyof typeof SEED_TABLE];
    out.push(
      `${h.host === "6cpu" ? "6" : "16"}-CPU host (simulated, ${t.runs} runs, seeds ${t.seed}…${t.seed + t.runs - 1}${t.scale !== 1 ? `, build scaled ×${t.scale}` : ""}):`,
      "",
    );
    for (const load of ["half", "optimal"] as const) {
      const jobs = load === "half" ? h.halfJobs : h.optimalJobs;
      out.push(
        `Average ${load === "half" ? "Half" : "Optimal"} load -j ${jobs} Run (std deviation), as kernbench prints it:`,
      );
      out.push(
        `${"".padEnd(18)}${"CURRENT".padEnd(26)}${"seed".padEnd(22)}${"HAVE_RCU_TABLE_FREE".padEnd(26)}${"seed".padEnd(22)}Δ(rcu−current) sim / seed`,
      );
      for (const f of KERNBENCH_FIELDS) {
        const c = h.current.printed[load][f];
        const r = h.rcu.printed[load][f];
        const sc = seed ? seed.current[load][f] : null;
        const sr = seed ? seed.rcu[load][f] : null;
        const cell = (m: { mean: number; std: number }) =>
          `${fmt(m.mean)} (${fmt(m.std)})`.padEnd(26);
        const seedCell = (v: readonly [number, number] | null) =>
          (v ? `${fmt(v[0])} (${fmt(v[1])})` : "-").padEnd(22);
        const dSim = r.mean - c.mean;
        const dSeed = sc && sr ? sr[0] - sc[0] : Number.NaN;
        out.push(
          `${LABELS[f].padEnd(18)}${cell(c)}${seedCell(sc)}${cell(r)}${seedCell(sr)}${fmt(dSim)} / ${fmt(dSeed)}`,
        );
      }
      out.push("");
    }
    out.push(
      `True per-load figures (optimal runs only) and what the seed could not see (counters summed over the ${t.runs} runs):`,
    );
    for (const col of [h.current, h.rcu]) {
      const tr = col.true.optimal;
      const m = col.mechanism;
      out.push(
        `  ${col.kernel.padEnd(8)} optimal: elapsed ${fmt(tr.elapsed.mean)} s, user ${fmt(tr.user.mean)} s, system ${fmt(tr.system.mean)} s, ${fmt(tr.percentCpu.mean)} %CPU, ${fmt(tr.contextSwitches.mean)} ctx, ${fmt(tr.sleeps.mean)} sleeps`,
      );
      for (const load of ["half", "optimal"] as const)
        out.push(
          `           ${load}: tables freed directly ${m[load].tablesFreedDirect} (mm_users<2 shortcut ${m[load].mmUsersShortcuts}), via RCU ${m[load].tablesFreedRcu} in ${m[load].tableBatches} batches, ${m[load].gracePeriods} grace periods, peak ${m[load].peakPendingRcuBytes} B pending RCU, ${m[load].tlbFlushes} flushes, ${m[load].ipis} IPIs`,
        );
    }
    out.push("");
  }
  return out.join("\n");
}
