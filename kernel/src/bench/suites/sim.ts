/**
 * Engine throughput: plain timer events, and generator process steps (targets on the
 * 2-core machine class: ≥ 10 M timer events/s, ≥ 3 M process steps/s).
 *
 * A heap's cost grows with the number of pending events, so the queue depth is part of the figure
 * (events due within 1,024 ns go to the queue's near wheel instead, at any depth).
 * The target is measured at 64 pending timers — the depth of a 16–64-CPU machine simulation (a
 * tick and a task or two per CPU); the 1,000-deep figure is tracked beside it.
 */
import { performance } from "node:perf_hooks";
import { Simulation } from "../../sim/simulation.js";
import type { Kfn } from "../../sim/process.js";
import type { Benchmark } from "../types.js";

/** Delays from a fixed table so the measurement is the engine, not the random generator. */
const DELAYS = Array.from({ length: 4096 }, (_, i) => 1 + ((i * 2654435761) % 997));

export function timerEventsPerSecond(timers: number, events: number): number {
  const sim = new Simulation({ trace: false });
  let fired = 0;
  let d = 0;
  const tick = (): void => {
    if (++fired < events) sim.schedule(DELAYS[d++ & 4095]!, tick);
  };
  for (let i = 0; i < timers; i++) sim.schedule(DELAYS[i & 4095]!, tick);
  const t0 = performance.now();
  const r = sim.run();
  const s = (performance.now() - t0) / 1000;
  return r.events / s;
}

/** One benchmark process: `stepsEach` delays from the table, starting at entry `p`. One
 * generator function for every process, as bench/simpy/engine.py has one `proc` (a generator
 * function made per process would cost V8 a prototype and map each, and SimPy nothing). */
function* stepper(p: number, stepsEach: number): Kfn<void> {
  let d = p;
  for (let i = 0; i < stepsEach; i++) yield DELAYS[d++ & 4095]!;
}

/** Process steps per second: the yields, `procs × stepsEach`, as SimPy's side counts them (each
 * process is also resumed once more, to start, on both sides). */
export function processStepsPerSecond(procs: number, stepsEach: number): number {
  const sim = new Simulation({ trace: false });
  for (let p = 0; p < procs; p++) sim.process(`p${p}`, stepper(p, stepsEach));
  const t0 = performance.now();
  sim.run();
  const s = (performance.now() - t0) / 1000;
  return (procs * stepsEach) / s;
}

export const simBenchmarks: Benchmark[] = [
  {
    name: "sim/timer-events",
    unit: "events/s",
    target: 10_000_000,
    better: "higher",
    run: () => timerEventsPerSecond(64, 3_000_000),
  },
  {
    name: "sim/timer-events-1k-pending",
    unit: "events/s",
    target: null,
    better: "higher",
    run: () => timerEventsPerSecond(1000, 3_000_000),
  },
  {
    name: "sim/process-steps",
    unit: "steps/s",
    target: 3_000_000,
    better: "higher",
    run: () => processStepsPerSecond(1000, 2000),
  },
];
