/**
 * Race-matrix throughput: seeded trials simulated per second (trace off, as the matrix runs).
 * 2,000 trials a run: a process's first 200 trials average 1.3 ms each while V8 compiles them,
 * against 80–90 µs warm, and a matrix or a sweep runs thousands, so a run of 200 measured mostly
 * the compiler. The harness's warm-up run covers the compilation.
 */
import { performance } from "node:perf_hooks";
import { runTrial } from "../../experiments/scenarios.js";
import type { Benchmark } from "../types.js";

function trialsPerSecond(scenario: string, profile: string, backend: string, n: number): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++)
    runTrial({ scenario, profile, backend, seed: 1 + i, trace: false, history: false });
  return n / ((performance.now() - t0) / 1000);
}

export const raceBenchmarks: Benchmark[] = [
  {
    name: "race/trials-walker-vs-munmap",
    unit: "trials/s",
    target: null,
    better: "higher",
    run: () => trialsPerSecond("walker-vs-munmap", "v4.14", "xen-pv", 2000),
  },
  {
    name: "race/trials-preempted-walker",
    unit: "trials/s",
    target: null,
    better: "higher",
    run: () => trialsPerSecond("preempted-walker", "v4.19", "kvm-pv", 2000),
  },
];
