/**
 * The registry of run functions a sweep refers to by name, so that worker threads and processes on
 * other machines resolve the same function from the same name. A run function takes a point's
 * parameters and its seed and returns named numeric metrics; it is built from the public API.
 */
import { UnknownNameError } from "../sim/errors.js";
import { runIrqOffMunmap } from "../experiments/irqoff-munmap.js";
import { runKernbench, type KernbenchKernel } from "../experiments/kernbench.js";
import { runTrial } from "../experiments/scenarios.js";
import { XEN_PV_HOSTS, type XenPvHost } from "../arch/x86/backends.js";
import { HYPERVISORS } from "../hw/host-sched.js";
import type { GuestSpec } from "../system/build.js";
import { runMicro, runMicroVms, type MicroResult } from "../workloads/micro.js";
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

/** An optional number parameter: undefined when the point does not give it. */
function optNum(p: Params, name: string): number | undefined {
  return p[name] === undefined ? undefined : num(p, name);
}

/** An optional name parameter: undefined when the point does not give it. */
function optStr(p: Params, name: string): string | undefined {
  return p[name] === undefined ? undefined : str(p, name);
}

/** `{ key: value }` for a value given, `{}` for undefined (so the callee's default applies). */
function given<K extends string, V>(key: K, value: V | undefined): { [k in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [k in K]?: V };
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

/**
 * kernbench-build: one kernbench build (params host — a preset or a spec —, jobs, kernel?,
 * scale?) on the host or in guests of it: backend?, vcpus?, otherVcpus?, vms? (that many
 * identical guests, each building; the metrics are their mean, ipis their sum) and xenHost? (a
 * Xen PV guest's hypervisor: xen, shim-ipi, shim-assisted). Defaults: runKernbench's.
 */
const kernbenchBuild: RunFunction = (p, seed) => {
  const xenHost = optStr(p, "xenHost");
  if (xenHost !== undefined && !(XEN_PV_HOSTS as readonly string[]).includes(xenHost))
    throw new UnknownNameError("xenHost", xenHost, XEN_PV_HOSTS, "kernbench-build");
  const r = runKernbench({
    host: str(p, "host"),
    jobs: num(p, "jobs"),
    kernel: str(p, "kernel", "current") as KernbenchKernel,
    scale: num(p, "scale", 1),
    seed,
    ...given("backend", optStr(p, "backend")),
    ...given("vcpus", optNum(p, "vcpus")),
    ...given("otherVcpus", optNum(p, "otherVcpus")),
    ...given("vms", optNum(p, "vms")),
    ...given(
      "backendOptions",
      xenHost === undefined ? undefined : { xenPvHost: xenHost as XenPvHost },
    ),
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
 * workload: a microworkload (params workload, profile, backend?, cpus?, threads?, durationMs?) on
 * bare metal, or in guests of a host: pcpus? (the host's CPUs; fewer than the vCPUs
 * overcommit it), otherVcpus?, hostKernel?, hypervisor? (kvm, xen) and vms? (that many
 * identical guests of `cpus` vCPUs, each running the workload; the metrics are per guest,
 * averaged, and ipis, uaf summed). Defaults: runMicro's (4 CPUs, one thread each, 20 ms).
 */
const workload: RunFunction = (p, seed) => {
  const cpus = num(p, "cpus", 4);
  const durationNs = Math.round(num(p, "durationMs", 20) * 1e6);
  const threads = given("threads", optNum(p, "threads"));
  const hypervisor = optStr(p, "hypervisor");
  if (hypervisor !== undefined && !(HYPERVISORS as readonly string[]).includes(hypervisor))
    throw new UnknownNameError("hypervisor", hypervisor, HYPERVISORS, "workload");
  const guest = ["pcpus", "otherVcpus", "hostKernel", "hypervisor", "vms"].some(
    (k) => p[k] !== undefined,
  );
  const host = {
    pcpus: num(p, "pcpus", cpus),
    ...given("otherVcpus", optNum(p, "otherVcpus")),
    ...given("kernel", optStr(p, "hostKernel")),
    ...given("hypervisor", hypervisor as (typeof HYPERVISORS)[number] | undefined),
  };
  const one = {
    workload: str(p, "workload"),
    profile: str(p, "profile"),
    backend: str(p, "backend", "native"),
  };
  let results: readonly MicroResult[];
  let hostPreemptions: number;
  if (p["vms"] !== undefined) {
    const g: GuestSpec = {
      vcpus: cpus,
      profile: one.profile,
      backend: one.backend,
      workload: one.workload,
      workloadOptions: { durationNs, ...threads },
    };
    const r = runMicroVms({ host, guests: Array.from({ length: num(p, "vms") }, () => g), seed });
    results = r.guests;
    hostPreemptions = r.host.preemptions;
  } else {
    const r = runMicro({
      ...one,
      nrCpus: cpus,
      durationNs,
      seed,
      ...threads,
      ...(guest ? { host } : {}),
    });
    results = [r];
    hostPreemptions = r.hostPreemptions;
  }
  const mean = (f: (r: MicroResult) => number) =>
    results.reduce((a, r) => a + f(r), 0) / results.length;
  const sum = (f: (r: MicroResult) => number) => results.reduce((a, r) => a + f(r), 0);
  return {
    opsPerSec: mean((r) => r.opsPerSec),
    meanFlushWaitNs: mean((r) => r.meanFlushWaitNs),
    remoteFlushes: sum((r) => r.remoteFlushes),
    ipis: sum((r) => r.ipis),
    uaf: sum((r) => r.uaf),
    hostPreemptions,
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
  ["workload", workload],
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
  ["workload", ["opsPerSec", "meanFlushWaitNs", "remoteFlushes", "ipis", "uaf", "hostPreemptions"]],
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
