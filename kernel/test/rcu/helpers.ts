/** Small helpers shared by the RCU tests. */
import type { Cpu } from "../../src/hw/cpu.js";
import { Machine } from "../../src/hw/machine.js";
import { Rcu, type RcuParams } from "../../src/rcu/index.js";
import type { Kfn } from "../../src/sim/process.js";
import { Simulation } from "../../src/sim/simulation.js";
import type { TraceEvent } from "../../src/sim/trace.js";

export const MS = 1_000_000;
export const US = 1_000;

export interface Setup {
  readonly sim: Simulation;
  readonly machine: Machine;
  readonly rcu: Rcu;
}

/** A machine with exact costs (jitter 0) and a started Rcu. */
export function setup(nrCpus: number, params: RcuParams = {}, seed = 1): Setup {
  const sim = new Simulation({ seed });
  const machine = new Machine(sim, { nrCpus, costs: { jitter: 0 } });
  const rcu = new Rcu(machine, params);
  rcu.start();
  return { sim, machine, rcu };
}

/** Runs `body` as a task on `cpu` starting at absolute time `at` (ns). */
export function runAt(
  sim: Simulation,
  cpu: Cpu,
  at: number,
  name: string,
  body: () => Kfn<void>,
): void {
  sim.schedule(at - sim.now, () => cpu.run(name, body()));
}

/** Keeps the event queue busy until `until` (so ticks do not go dormant in tick tests). */
export function keepAlive(sim: Simulation, until: number): void {
  sim.process(
    "keepalive",
    (function* (): Kfn<void> {
      yield until - sim.now;
    })(),
  );
}

/** Start times of the interrupt handler spans for `vector` on `cpu`. */
export function handlerStarts(sim: Simulation, cpu: number, vector: string): number[] {
  return sim.trace.events
    .filter(
      (e: TraceEvent) =>
        e.name === "mmulab:ipi_handler" && e.cpu === cpu && e.args?.["vector"] === vector,
    )
    .map((e) => e.ts)
    .sort((a, b) => a - b);
}

export function traceNamed(sim: Simulation, name: string): TraceEvent[] {
  return sim.trace.sorted().filter((e) => e.name === name);
}
