/**
 * Parameter sweeps: scaling of the local worker-thread pool from 1 to 2 workers on a
 * race-trial sweep, and the per-job overhead of the distributed engine (BullMQ on a redis-server
 * this benchmark starts on loopback, one in-process worker with one thread, trivial jobs; every
 * job crosses to a worker thread and back, the price of per-job deadlines, queue-worker.ts;
 * measured in sweep-distributed.ts).
 */
import { performance } from "node:perf_hooks";
import { probeRedis, runDistributedSweep, startSweepWorker } from "../../sweep/distributed.js";
import { runSweep } from "../../sweep/local.js";
import { sweepTasks, type SweepSpec } from "../../sweep/space.js";
import { executeTask } from "../../sweep/task.js";
import type { Benchmark } from "../types.js";
import { distributedOverhead, SWEEP_SPEC, type DistributedEngine } from "./sweep-distributed.js";

/** 6,000 race trials: about half a second on one warm worker here, a sweep worth parallelising.
 * (With 60 seeds a sweep took 50 ms, and the figure measured the threads' JIT warm-up; 2,000
 * trials took half a second until trials got three times cheaper.) */
const RACE: SweepSpec = {
  run: "race-trial",
  params: { profile: ["v4.14", "v4.19"], backend: ["xen-pv", "kvm-pv"] },
  fixed: { scenario: "walker-vs-munmap" },
  seeds: 1500,
};

/** Pure CPU, no allocation: what the pool itself allows, apart from the simulator's memory use. */
const CPU_BOUND: SweepSpec = {
  run: "synthetic",
  params: { x: { kind: "int", min: 1, max: 24 } },
  fixed: { work: 20_000_000 },
};

async function timeSweep(spec: SweepSpec, workers: number): Promise<number> {
  const t0 = performance.now();
  await runSweep(spec, { workers, progress: false });
  return performance.now() - t0;
}

/** Warm sweeps on 1 and on 2 workers, alternated; the best of three each, as a neighbour's
 * burst on this shared machine slows one sweep by up to half. Each worker count has its own
 * warm pool (local.ts), so both are warmed first: a cold thread spends its first thousand
 * trials compiling. */
async function scaling(spec: SweepSpec): Promise<number> {
  await timeSweep(spec, 1);
  await timeSweep(spec, 2);
  let one = Number.POSITIVE_INFINITY;
  let two = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    one = Math.min(one, await timeSweep(spec, 1));
    two = Math.min(two, await timeSweep(spec, 2));
  }
  return one / two;
}

/** The engine of this build, as the distributed benchmark drives it. */
const ENGINE: DistributedEngine = { runDistributedSweep, startSweepWorker, probeRedis };

const distributedOverheadMs = () =>
  distributedOverhead(ENGINE, () => {
    for (const t of sweepTasks(SWEEP_SPEC)) executeTask(t);
  });

export const sweepBenchmarks: Benchmark[] = [
  {
    name: "sweep/local-scaling-1-to-2-workers",
    unit: "x",
    target: 1.8,
    better: "higher",
    run: () => scaling(RACE),
  },
  {
    name: "sweep/local-scaling-1-to-2-workers-cpu-bound",
    unit: "x",
    target: 1.8,
    better: "higher",
    run: () => scaling(CPU_BOUND),
  },
  {
    name: "sweep/distributed-job-overhead",
    unit: "ms/job",
    target: null,
    better: "lower",
    // one run warms its own worker with 20 sweeps and times 15 (sweep-distributed.ts)
    runs: 3,
    warmup: 0,
    run: distributedOverheadMs,
  },
];
