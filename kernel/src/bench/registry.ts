/**
 * Every benchmark `npm run bench` knows, in the order it runs and prints them.
 *
 * To add one: write `kernel/src/bench/suites/<area>.ts` exporting `Benchmark`s, then add one import
 * and spread/list them below. Benchmarks import the simulator from `../..` paths inside
 * `kernel/src`, so they run against the compiled `kernel/dist`.
 */
import { kernbenchBenchmarks } from "./suites/kernbench.js";
import { exploreBenchmarks } from "./suites/explore.js";
import { machineBenchmarks } from "./suites/machine.js";
import { mmBenchmarks } from "./suites/mm.js";
import { raceBenchmarks } from "./suites/race.js";
import { scaleBenchmarks } from "./suites/scale.js";
import { simBenchmarks } from "./suites/sim.js";
import { simpyBenchmarks } from "./suites/simpy.js";
import { sweepBenchmarks } from "./suites/sweep.js";
import { notebookKernelBenchmarks } from "./suites/notebook-kernel.js";
import { publishedBenchmarks } from "./suites/published.js";
import { viewsBenchmarks } from "./suites/views.js";
import type { Benchmark } from "./types.js";

export const benchmarks: readonly Benchmark[] = [
  ...simBenchmarks,
  ...simpyBenchmarks,
  ...mmBenchmarks,
  ...raceBenchmarks,
  ...kernbenchBenchmarks,
  ...publishedBenchmarks,
  ...notebookKernelBenchmarks,
  ...exploreBenchmarks,
  // each CPU's speed just before the sweep-scaling figures, which depend on it
  ...machineBenchmarks,
  ...sweepBenchmarks,
  ...viewsBenchmarks,
  // the scaling table last: its 256-CPU and 3-guest windows take many seconds each
  ...scaleBenchmarks,
];
