/**
 * The registry of run functions a sweep refers to by name, so that worker threads and processes on
 * other machines resolve the same function from the same name. A run function takes a point's
 * parameters and its seed and returns named numeric metrics; it is built from the public API.
 */
import { UnknownNameError } from "../sim/errors.js";
import { runIrqOffMunmap } from "../experiments/irqoff-munmap.js";
import { runKernbench, type KernbenchKernel } from "../experiments/kernbench.js";
import { runTrial } from "../experiments/scenarios.js";
import type { Params, ParamValue } from "./space.js";

export type Metrics = Readonly<Record<string, number>>;
export type RunFunction = (params: Params, seed: number) => Metrics;

function str(p: Params, name: string, fallback?: string): string {
  const v = p[name] ?? fallback;
  if (v === undefined) throw new UnknownNameError(name, "(missing)", ["a string parameter"]);
  return String(v);
}

function num(p: Params, name: string, fallback?: number): number {
  const v: ParamValue | undefined = p[name] ?? fallback;
  if (typeof v !== "number")
    throw new TypeError(`parameter ${name} must be a number, got ${String(v)}`);
  return v;
}

/** race-trial: one seeded trial of a race scenario (params scenario, profile, backend, nrCpus?). */
const raceTrial: RunFunction = (p, seed) => {
  const r = runTrial({
    scenario: str(p, "scenario", "walker-vs-munmap"),
    profile: str(p, "profile"),
    backend: str(p, "backend", "native"),
    nrCpus: num(p, "nrCpus", 4),
    ...(typeof p.stallNs === "number" ? { stallNs: p.stallNs } : {}),
    seed,
    trace: false,
    history: false,
  });
  return {
    uaf: r.uaf,
    munmapNs: r.munmapNs,
    stallNs: r.stallNs,
    tablesFreedDirect: r.tablesFreedDirect,
    tablesFreedRcu: r.tablesFreedRcu,
  };
};

/** kernbench-build: one kernbench build (params host, jobs, kernel, scale?). */
const kernbenchBuild: RunFunction = (p, seed) => {
  const r = runKernbench({
    host: str(p, "host"),
    jobs: num(p, "jobs"),
    kernel: str(p, "kernel", "current") as KernbenchKernel,
    scale: num(p, "scale", 1),
    seed,
  });
  return {
    elapsed: r.stats.elapsed,
    user: r.stats.user,
    system: r.stats.system,
    percentCpu: r.stats.percentCpu,
    contextSwitches: r.stats.contextSwitches,
    ipis: r.mechanism.ipis,
    gracePeriods: r.mechanism.gracePeriods,
    tablesFreedRcu: r.mechanism.tablesFreedRcu,
  };
};

/**
 * ipi-shootdown: munmap on CPU 0 while CPU 1 has interrupts off for irqOffNs (default 20 µs) over
 * `pages` pages (default 16): how long the flush IPI waits (params irqOffNs?, pages?).
 */
const ipiShootdown: RunFunction = (p, seed) => {
  const { result } = runIrqOffMunmap({
    seed,
    irqOffNs: num(p, "irqOffNs", 20_000),
    pages: num(p, "pages", 16),
  });
  return {
    flushWaitNs: result.flushWaitNs,
    munmapNs: result.munmapDoneAt - result.munmapStartAt,
    ipisSent: result.ipisSent,
    useAfterFree: result.useAfterFree,
  };
};

/**
 * synthetic: a deterministic stand-in for tests and benchmarks. Params: x, y (numbers), work
 * (iterations of a hash loop, default 0), sleepMs (busy-wait, default 0), failWhen (throws when
 * x equals it). Metrics: f = x·y + noise(seed) in [0, 1), h = the hash.
 */
const synthetic: RunFunction = (p, seed) => {
  const x = num(p, "x", 0);
  const y = num(p, "y", 1);
  if (typeof p.failWhen === "number" && p.failWhen === x)
    throw new RangeError(`synthetic: x = ${x} fails on purpose`);
  let h = seed >>> 0;
  const work = num(p, "work", 0);
  for (let i = 0; i < work; i++) h = Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 0;
  const sleepMs = num(p, "sleepMs", 0);
  if (sleepMs > 0) {
    const until = Date.now() + sleepMs;
    while (Date.now() < until) h = (h + 1) >>> 0;
    h = seed >>> 0;
  }
  return { f: x * y + (seed % 1000) / 1000, h };
};

const REGISTRY = new Map<string, RunFunction>([
  ["race-trial", raceTrial],
  ["kernbench-build", kernbenchBuild],
  ["ipi-shootdown", ipiShootdown],
  ["synthetic", synthetic],
]);

/**
 * The metric names each run function returns, where it declares them: a distributed sweep
 * rejects a worker's result whose metrics are not exactly these (jobs.ts), so that a worker
 * cannot add, drop or rename a metric.
 */
const METRIC_NAMES = new Map<string, readonly string[]>([
  ["race-trial", ["uaf", "munmapNs", "stallNs", "tablesFreedDirect", "tablesFreedRcu"]],
  [
    "kernbench-build",
    [
      "elapsed",
      "user",
      "system",
      "percentCpu",
      "contextSwitches",
      "ipis",
      "gracePeriods",
      "tablesFreedRcu",
    ],
  ],
  ["ipi-shootdown", ["flushWaitNs", "munmapNs", "ipisSent", "useAfterFree"]],
  ["synthetic", ["f", "h"]],
]);

/** Registers a run function under a name (in this thread; workers must register it too, e.g.
 * in a module they import), with the metric names it always returns if it has a fixed set. */
export function registerRunFunction(
  name: string,
  fn: RunFunction,
  metrics?: readonly string[],
): void {
  REGISTRY.set(name, fn);
  if (metrics === undefined) METRIC_NAMES.delete(name);
  else METRIC_NAMES.set(name, [...metrics]);
}

/** The metric names a run function declared, or undefined when it declared none. */
export function runFunctionMetrics(name: string): readonly string[] | undefined {
  return METRIC_NAMES.get(name);
}

export function runFunctionNames(): string[] {
  return [...REGISTRY.keys()];
}

export function getRunFunction(name: string): RunFunction {
  const fn = REGISTRY.get(name);
  if (!fn) throw new UnknownNameError("run", name, runFunctionNames(), "sweep");
  return fn;
}
