/**
 * The engine against SimPy, the usual reference for process-based discrete-event simulation: the
 * same two workloads as sim.ts (pending timers that re-arm; processes that yield timeouts), delay
 * for delay, written for SimPy in bench/simpy/engine.py and run by Debian's /usr/bin/python3
 * (python3-simpy3). One measurement runs mmulab's engine and SimPy back to back on the same
 * workload and returns the ratio of their rates, so machine load moves both sides of one ratio.
 * Each side times only its run loop (not the interpreter's start or building the model).
 *
 * Target (issue: performance at scale): the engine ≥ 10× SimPy on both workloads.
 */
import { execFile } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Benchmark } from "../types.js";
import { processStepsPerSecond, timerEventsPerSecond } from "./sim.js";

const run = promisify(execFile);

/** bench/simpy/engine.py, from kernel/src/bench/suites or kernel/dist/bench/suites. */
const SCRIPT = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "../../../../bench/simpy/engine.py",
);
const PYTHON = "/usr/bin/python3";

/** The workload sizes: big enough that each side runs about a second or more in SimPy. */
const TIMERS = 64;
const TIMER_EVENTS = 1_000_000;
const PROCS = 1000;
const STEPS_EACH = 500;

interface SimpyRate {
  readonly workload: string;
  readonly count: number;
  readonly seconds: number;
  readonly rate: number;
}

async function simpyRate(workload: "timers" | "steps", a: number, b: number): Promise<number> {
  const { stdout } = await run(PYTHON, [SCRIPT, workload, String(a), String(b)], {
    timeout: 120_000,
  });
  const r = JSON.parse(stdout) as SimpyRate;
  if (r.workload !== workload || !(r.rate > 0))
    throw new Error(`bench/simpy/engine.py gave no rate for ${workload}: ${stdout.trim()}`);
  return r.rate;
}

export const simpyBenchmarks: Benchmark[] = [
  {
    name: "sim/vs-simpy-timer-events",
    unit: "× SimPy",
    target: 10,
    better: "higher",
    run: async () => {
      const ours = timerEventsPerSecond(TIMERS, TIMER_EVENTS);
      const theirs = await simpyRate("timers", TIMERS, TIMER_EVENTS);
      return ours / theirs;
    },
  },
  {
    name: "sim/vs-simpy-process-steps",
    unit: "× SimPy",
    target: 10,
    better: "higher",
    run: async () => {
      const ours = processStepsPerSecond(PROCS, STEPS_EACH);
      const theirs = await simpyRate("steps", PROCS, STEPS_EACH);
      return ours / theirs;
    },
  },
];
