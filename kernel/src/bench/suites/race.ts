/**
 * Race-matrix throughput: seeded trials simulated per second (trace off, as the matrix runs),
 * with the CPUs' page walkers on as the matrix runs them. 2,000 trials a run: a process's first
 * 200 trials average 1.3 ms each while V8 compiles them, against 80–90 µs warm, and a matrix or a
 * sweep runs thousands, so a run of 200 measured mostly the compiler. The harness's warm-up run
 * covers the compilation.
 *
 * The hardware model's cost is measured as a ratio in one run: the same trials with the walkers
 * off and on, alternated in blocks so that the machine's drift falls on both alike.
 */
import { performance } from "node:perf_hooks";
import { runTrial } from "../../experiments/scenarios.js";
import type { Benchmark } from "../types.js";

function trialsPerSecond(
  scenario: string,
  profile: string,
  backend: string,
  n: number,
  hardware = true,
): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++)
    runTrial({ scenario, profile, backend, seed: 1 + i, trace: false, history: false, hardware });
  return n / ((performance.now() - t0) / 1000);
}

/** Wall time with the walkers on over wall time with them off, for the same seeded trials. */
function hardwareCostRatio(scenario: string, profile: string, backend: string): number {
  let on = 0;
  let off = 0;
  for (let block = 0; block < 4; block++) {
    off += 500 / trialsPerSecond(scenario, profile, backend, 500, false);
    on += 500 / trialsPerSecond(scenario, profile, backend, 500, true);
  }
  return on / off;
}

export const raceBenchmarks: Benchmark[] = [
  {
    name: "race/trials-walker-vs-munmap",
    unit: "trials/s",
    target: 10_000,
    better: "higher",
    run: () => trialsPerSecond("walker-vs-munmap", "v4.14", "xen-pv", 2000),
  },
  {
    name: "race/trials-preempted-walker",
    unit: "trials/s",
    target: 10_000,
    better: "higher",
    run: () => trialsPerSecond("preempted-walker", "v4.19", "kvm-pv", 2000),
  },
  {
    name: "race/trials-lazy-tlb-walker",
    unit: "trials/s",
    target: 10_000,
    better: "higher",
    run: () => trialsPerSecond("lazy-tlb-walker", "v4.14", "native", 2000),
  },
  {
    // 510 page faults, a 512-table munmap and two RCU batches a trial: a scenario of its own
    // size, measured but not held to the 10,000/s (issue 24) of the small ones
    name: "race/trials-table-batch-full",
    unit: "trials/s",
    target: null,
    better: "higher",
    run: () => trialsPerSecond("table-batch-full", "v4.14", "xen-pv", 200),
  },
  {
    name: "race/hardware-model-cost",
    unit: "x wall",
    target: null,
    better: "lower",
    run: () => hardwareCostRatio("walker-vs-munmap", "v4.14", "xen-pv"),
  },
  {
    // the scenario with the most walking: two user threads for the whole 0.5–3 ms preemption
    name: "race/hardware-model-cost-preempted",
    unit: "x wall",
    target: null,
    better: "lower",
    run: () => hardwareCostRatio("preempted-walker", "v4.19", "kvm-pv"),
  },
];
