/**
 * Exhaustive exploration: states per second, and the wall time of the 2-CPU scenario
 * (target ≤ 5 s). The cell measured is the largest 2-CPU one of the race matrix — v6.15 with
 * native flushes and a failed table-batch allocation: two IPI rounds, two RCU callbacks (PT_RECLAIM
 * and the batch) and unified RCU, whose grace periods can end during the munmap.
 */
import { performance } from "node:perf_hooks";
import { BACKEND_NAMES, PROFILE_NAMES, resolveProfile } from "../../config/profiles.js";
import { explore, type ExploreResult } from "../../explore/explorer.js";
import type { ExploreOptions } from "../../explore/options.js";
import type { Benchmark } from "../types.js";

const LARGEST_2CPU: ExploreOptions = {
  profile: "v6.15",
  backend: "native",
  scenario: "batch-alloc-failure",
};

function timed(opts: ExploreOptions): { ms: number; r: ExploreResult } {
  const t0 = performance.now();
  const r = explore(opts);
  return { ms: performance.now() - t0, r };
}

export const exploreBenchmarks: Benchmark[] = [
  {
    name: "explore/states-per-second",
    unit: "states/s",
    target: null,
    better: "higher",
    run: () => {
      const { ms, r } = timed(LARGEST_2CPU);
      return r.states / (ms / 1000);
    },
  },
  {
    name: "explore/2cpu-largest-cell-wall",
    unit: "ms",
    target: 5000,
    better: "lower",
    run: () => timed(LARGEST_2CPU).ms,
  },
  {
    name: "explore/2cpu-walker-vs-munmap-all-cells-wall",
    unit: "ms",
    target: null,
    better: "lower",
    run: () => {
      const t0 = performance.now();
      for (const profile of PROFILE_NAMES)
        for (const backend of BACKEND_NAMES) {
          try {
            resolveProfile(profile, backend);
          } catch {
            continue; // INVLPGB before v6.15
          }
          explore({ profile, backend, scenario: "walker-vs-munmap" });
        }
      return performance.now() - t0;
    },
  },
];
