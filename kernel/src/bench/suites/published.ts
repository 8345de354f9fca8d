/**
 * The published host/guest experiments (`mmulab published`): each at its default scale
 * runs within a minute (the target), wall time as the command runs it, builds on two processes.
 */
import { performance } from "node:perf_hooks";
import { PUBLISHED_EXPERIMENTS, runPublished } from "../../experiments/published.js";
import type { Benchmark } from "../types.js";

export const publishedBenchmarks: Benchmark[] = PUBLISHED_EXPERIMENTS.map((experiment) => ({
  name: `published/${experiment}-wall`,
  unit: "s",
  target: 60,
  better: "lower" as const,
  run: async () => {
    const t0 = performance.now();
    await runPublished({ experiment, workers: 2 });
    return (performance.now() - t0) / 1000;
  },
}));
