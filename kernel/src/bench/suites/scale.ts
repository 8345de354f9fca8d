/**
 * What a simulated second costs as the machine grows (the scaling table of docs/benchmarks.md): wall seconds and
 * engine events per simulated second for
 *   - a madvise(MADV_DONTNEED) storm on 4, 16, 64 and 256 bare-metal CPUs (one thread per CPU,
 *     v6.1, native flush: every madvise flushes every other CPU by IPI), and on 64 and 256 with
 *     the csdBatch modelling shortcut, whose speed-up and effect on the result are measured
 *     side by side in one run;
 *   - kernbench (make -j 2×CPUs) on hosts of 4, 16, 64 and 256 CPUs (`cpus=N`);
 *   - ebizzy in 1, 2 and 3 guests of 64 vCPUs each on 64 host CPUs (v6.1, native IPI flush, the
 *     host's CFS scheduler with PLE).
 * Only the workload's window is timed: the system is built and its threads started first, then
 * the simulation runs for a fixed simulated time (the microworkloads) or the whole build
 * (kernbench, shortened with its scale factor; build start-up included). The windows are short —
 * one second of a 256-CPU storm would take minutes — so the figures are per simulated second,
 * extrapolated from windows of 1–20 ms; that is fair once the threads are in their loops, which
 * they are within the first tens of microseconds. ebizzy's window of 10 ms covers a few of the
 * host's scheduling periods (its vCPU threads take turns on the pCPUs).
 * Events per simulated second are exact (a seed fixes the run), so each is read from the same run
 * as the wall time beside it and not run again.
 */
import { performance } from "node:perf_hooks";
import { runKernbench } from "../../experiments/kernbench.js";
import type { Simulation } from "../../sim/simulation.js";
import { buildHostSystem, buildSystem } from "../../system/build.js";
import { startMicro } from "../../workloads/micro.js";
import type { Benchmark } from "../types.js";

interface Window {
  readonly wallS: number;
  readonly simS: number;
  readonly events: number;
}

/** Runs a built and started simulation for `durationNs` and times only that. */
function timedWindow(sim: Simulation, durationNs: number): Window {
  const e0 = sim.eventsFired;
  const t0 = performance.now();
  sim.run({ until: durationNs });
  return {
    wallS: (performance.now() - t0) / 1000,
    simS: durationNs / 1e9,
    events: sim.eventsFired - e0,
  };
}

/** A microworkload's window on bare metal: `nrCpus` threads, one per CPU; `csdBatch`: the
 * modelling shortcut that runs the flush requests a CPU has already caught up with in one step
 * (hw/machine.ts). `ops`: the storm's madvise calls in the window. */
function stormWindow(
  nrCpus: number,
  durationNs: number,
  csdBatch = false,
  seed = 1,
): Window & { readonly ops: number } {
  const sys = buildSystem({
    profile: "v6.1",
    backend: "native",
    nrCpus,
    seed,
    trace: false,
    history: false,
    ...(csdBatch ? { csdBatch } : {}),
  });
  sys.rcu.start();
  const run = startMicro(sys, { workload: "madvise-storm", durationNs });
  return { ...timedWindow(sys.sim, durationNs), ops: run.ops() };
}

/**
 * What csdBatch buys and what it moves, in one run: the same 64-CPU storm window (2 ms) with the
 * shortcut off and on, alternated, seeds 1–3 (one seed per round). "speedup": the median of the
 * three paired ratios of wall time, off / on. "ops": the ratio of madvise calls completed, on /
 * off, over the three seeds (the result the shortcut may move: its random draws come in another
 * order).
 */
function csdBatchEffect(): Benchmark[] {
  let last: { speedup: number; ops: number } | null = null;
  const measure = () => {
    const speedups: number[] = [];
    let opsOff = 0;
    let opsOn = 0;
    for (let seed = 1; seed <= 3; seed++) {
      const off = stormWindow(64, 2_000_000, false, seed);
      const on = stormWindow(64, 2_000_000, true, seed);
      speedups.push(off.wallS / on.wallS);
      opsOff += off.ops;
      opsOn += on.ops;
    }
    speedups.sort((a, b) => a - b);
    last = { speedup: speedups[1]!, ops: opsOn / opsOff };
    return last;
  };
  return [
    {
      name: "scale/csd-batch-speedup-64cpu",
      unit: "× (wall off / on)",
      target: null,
      better: "higher",
      runs: 1,
      warmup: 0,
      run: () => measure().speedup,
    },
    {
      name: "scale/csd-batch-ops-ratio-64cpu",
      unit: "ops on / off",
      target: null,
      better: "higher",
      runs: 1,
      warmup: 0,
      run: () => (last ?? measure()).ops,
    },
  ];
}

/** ebizzy in `vms` guests of 64 vCPUs (128 threads each, ebizzy's default of 2 per CPU) on 64
 * host CPUs. */
function ebizzyWindow(vms: number, durationNs: number): Window {
  const sys = buildHostSystem({
    seed: 1,
    trace: false,
    history: false,
    keepDroppedMms: false,
    host: { pcpus: 64 },
    guests: Array.from({ length: vms }, () => ({
      vcpus: 64,
      profile: "v6.1",
      backend: "native",
      workload: "ebizzy",
    })),
  });
  for (const g of sys.guests) {
    g.rcu.start();
    startMicro(g, { workload: "ebizzy", threads: 128, durationNs });
  }
  sys.hostCpus.start();
  return timedWindow(sys.sim, durationNs);
}

/** A whole (shortened) kernbench build; the build's elapsed time is the simulated time. */
function kernbenchWindow(nrCpus: number, scale: number): Window {
  const t0 = performance.now();
  const run = runKernbench({
    host: `cpus=${nrCpus}`,
    jobs: 2 * nrCpus,
    kernel: "current",
    seed: 1,
    scale,
  });
  return { wallS: (performance.now() - t0) / 1000, simS: run.stats.elapsed, events: NaN };
}

/** Two entries per configuration: wall s per simulated s (measured), and events per simulated s
 * read from the last measured run. `target`: the bound on wall s per simulated s, where one is set. */
function pair(
  name: string,
  window: () => Window,
  withEvents = true,
  target: number | null = null,
): Benchmark[] {
  let last: Window | null = null;
  const wall: Benchmark = {
    name: `scale/${name}-wall-per-sim-s`,
    unit: "wall s / sim s",
    target,
    better: "lower",
    runs: 3,
    warmup: 0,
    run: () => {
      last = window();
      return last.wallS / last.simS;
    },
  };
  if (!withEvents) return [wall];
  const events: Benchmark = {
    name: `scale/${name}-events-per-sim-s`,
    unit: "events / sim s",
    target: null,
    better: "lower",
    runs: 1,
    warmup: 0,
    run: () => {
      const w = last ?? window();
      return w.events / w.simS;
    },
  };
  return [wall, events];
}

export const scaleBenchmarks: Benchmark[] = [
  ...pair("madvise-storm-4cpu", () => stormWindow(4, 20_000_000)),
  ...pair("madvise-storm-16cpu", () => stormWindow(16, 10_000_000)),
  ...pair("madvise-storm-64cpu", () => stormWindow(64, 2_000_000)),
  ...pair("madvise-storm-256cpu", () => stormWindow(256, 1_000_000), true, 60),
  ...pair("madvise-storm-64cpu-csd-batch", () => stormWindow(64, 2_000_000, true)),
  ...pair("madvise-storm-256cpu-csd-batch", () => stormWindow(256, 1_000_000, true), true, 60),
  ...csdBatchEffect(),
  ...pair("kernbench-4cpu", () => kernbenchWindow(4, 0.2), false),
  ...pair("kernbench-16cpu", () => kernbenchWindow(16, 0.2), false),
  ...pair("kernbench-64cpu", () => kernbenchWindow(64, 0.2), false),
  ...pair("kernbench-256cpu", () => kernbenchWindow(256, 0.2), false),
  ...pair("ebizzy-1x64vcpu", () => ebizzyWindow(1, 10_000_000)),
  ...pair("ebizzy-2x64vcpu", () => ebizzyWindow(2, 10_000_000)),
  ...pair("ebizzy-3x64vcpu", () => ebizzyWindow(3, 10_000_000), true, 120),
];
