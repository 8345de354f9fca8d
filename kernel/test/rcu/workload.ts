/**
 * Test workloads for the RCU layer: scripted CPUs that run user time, kernel time, reader
 * regions (IRQ-off, preempt-off, rcu_read_lock), call_rcu and synchronize calls, and record
 * what the properties need (reader intervals, synchronize intervals).
 *
 * Covers: the property tests (random scripts from fast-check), the grace-period latency
 * distribution (`lightLoadPlans`, a lightly loaded machine), and docs/model.md's numbers
 * (`measureGpLatency`, printed by report-gp-latency.ts).
 */
import { Machine } from "../../src/hw/machine.js";
import type { Cpu } from "../../src/hw/cpu.js";
import {
  local_irq_restore,
  local_irq_save,
  preempt_disable,
  preempt_enable,
} from "../../src/hw/irqflags.js";
import { Rcu, type RcuParams } from "../../src/rcu/index.js";
import { waitFor, type Kfn } from "../../src/sim/process.js";
import type { Rng } from "../../src/sim/rng.js";
import { Simulation } from "../../src/sim/simulation.js";

export type RegionKind = "irqOff" | "preemptOff" | "rcuReadLock";

/** One step of a task. `region` bodies hold only kernel steps, calls and nested regions. */
export type Step =
  | { readonly t: "user"; readonly ns: number }
  | { readonly t: "kernel"; readonly ns: number }
  | { readonly t: "region"; readonly kind: RegionKind; readonly body: readonly Step[] }
  | { readonly t: "call" }
  | { readonly t: "sync" };

/** A CPU's plan: idle for `idleNs`, then run `task` (its end is a context switch); repeat. */
export type CpuPlan = readonly { readonly idleNs: number; readonly task: readonly Step[] }[];

export interface ReaderInterval {
  readonly cpu: number;
  readonly kind: RegionKind;
  readonly start: number;
  readonly end: number;
}

export interface SyncInterval {
  readonly cpu: number;
  readonly start: number;
  readonly end: number;
}

export interface RunRecord {
  readonly readers: ReaderInterval[];
  readonly syncs: SyncInterval[];
}

/** Which API the script's `call`/`sync` steps use. */
function api(rcu: Rcu): {
  call: (cpu: Cpu) => Kfn<void>;
  sync: (cpu: Cpu) => Kfn<void>;
} {
  const sched = rcu.params.flavour !== "preempt";
  return {
    call: (cpu) =>
      sched
        ? rcu.call_rcu_sched(cpu, function* tlb_remove_table_rcu() {}, "tlb_remove_table_rcu")
        : rcu.call_rcu(cpu, function* tlb_remove_table_rcu() {}, "tlb_remove_table_rcu"),
    sync: (cpu) => (sched ? rcu.synchronize_sched(cpu) : rcu.synchronize_rcu(cpu)),
  };
}

function* runStep(rcu: Rcu, cpu: Cpu, step: Step, rec: RunRecord): Kfn<void> {
  const sim = rcu.sim;
  switch (step.t) {
    case "user":
      cpu.taskMode = "user";
      yield step.ns;
      cpu.taskMode = "kernel";
      return;
    case "kernel":
      yield step.ns;
      return;
    case "call":
      yield* api(rcu).call(cpu);
      return;
    case "sync": {
      const start = sim.now;
      yield* api(rcu).sync(cpu);
      rec.syncs.push({ cpu: cpu.id, start, end: sim.now });
      return;
    }
    case "region": {
      if (step.kind === "irqOff") {
        const flags = local_irq_save(cpu);
        const start = sim.now;
        for (const s of step.body) yield* runStep(rcu, cpu, s, rec);
        rec.readers.push({ cpu: cpu.id, kind: step.kind, start, end: sim.now });
        yield* local_irq_restore(cpu, flags);
      } else if (step.kind === "preemptOff") {
        preempt_disable(cpu);
        const start = sim.now;
        for (const s of step.body) yield* runStep(rcu, cpu, s, rec);
        rec.readers.push({ cpu: cpu.id, kind: step.kind, start, end: sim.now });
        preempt_enable(cpu);
      } else {
        rcu.rcu_read_lock(cpu);
        const start = sim.now;
        for (const s of step.body) yield* runStep(rcu, cpu, s, rec);
        rec.readers.push({ cpu: cpu.id, kind: step.kind, start, end: sim.now });
        rcu.rcu_read_unlock(cpu);
      }
      return;
    }
  }
}

/** Starts one driver process per CPU that plays its plan; returns what the run records. */
export function playPlans(rcu: Rcu, plans: readonly CpuPlan[]): RunRecord {
  const rec: RunRecord = { readers: [], syncs: [] };
  const sim = rcu.sim;
  plans.forEach((plan, id) => {
    const cpu = rcu.machine.cpu(id);
    sim.process(
      `driver${id}`,
      (function* driver(): Kfn<void> {
        let n = 0;
        for (const item of plan) {
          yield item.idleNs;
          const done = sim.event<void>(`task${id}.${n}`);
          cpu.run(
            `task${n++}`,
            (function* task(): Kfn<void> {
              for (const s of item.task) yield* runStep(rcu, cpu, s, rec);
              done.succeed();
            })(),
          );
          yield waitFor(done);
        }
      })(),
    );
  });
  return rec;
}

export interface LightLoadOptions {
  /** Simulated time to generate work for, ns. */
  readonly horizonNs: number;
  /** Probability that a task is a synchronize caller (kernel burst + synchronize_*). */
  readonly syncProbability: number;
  /** Probability that a kernel burst ends with a call_rcu (an mm table-batch hand-off). */
  readonly callProbability: number;
}

/**
 * A lightly loaded machine: each CPU is idle most of the time (exponential gaps, mean 6 ms) and
 * runs short tasks: 1–3 user stretches (mean 1.5 ms) separated by kernel bursts of 5–150 µs; a
 * quarter of the bursts contain an IRQ-off region of 1–20 µs (a gup_fast walk, costs.md §1f)
 * and a quarter a preempt-off region of 5–50 µs. Some tasks are synchronize callers.
 */
export function lightLoadPlans(rng: Rng, nrCpus: number, opt: LightLoadOptions): CpuPlan[] {
  const plans: CpuPlan[] = [];
  for (let c = 0; c < nrCpus; c++) {
    const plan: { idleNs: number; task: Step[] }[] = [];
    let t = 0;
    while (t < opt.horizonNs) {
      const idleNs = Math.min(40_000_000, Math.round(rng.exponential(6_000_000)));
      const task: Step[] = [];
      if (rng.chance(opt.syncProbability)) {
        task.push({ t: "kernel", ns: rng.int(5_000, 50_000) }, { t: "sync" });
      } else {
        const stretches = rng.int(1, 3);
        for (let i = 0; i < stretches; i++) {
          const burst: Step[] = [{ t: "kernel", ns: rng.int(5_000, 150_000) }];
          const r = rng.float();
          if (r < 0.25)
            burst.push({
              t: "region",
              kind: "irqOff",
              body: [{ t: "kernel", ns: rng.int(1_000, 20_000) }],
            });
          else if (r < 0.5)
            burst.push({
              t: "region",
              kind: "preemptOff",
              body: [{ t: "kernel", ns: rng.int(5_000, 50_000) }],
            });
          if (rng.chance(opt.callProbability)) burst.push({ t: "call" });
          task.push(...burst);
          task.push({
            t: "user",
            ns: Math.min(20_000_000, Math.round(rng.exponential(1_500_000))),
          });
        }
      }
      plan.push({ idleNs, task });
      t += idleNs + 2_000_000;
    }
    plans.push(plan);
  }
  return plans;
}

export interface LatencyStats {
  readonly n: number;
  readonly min: number;
  readonly median: number;
  readonly p90: number;
  readonly max: number;
  readonly mean: number;
}

/** Nearest-rank percentile of a sorted array. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

export function stats(values: readonly number[]): LatencyStats {
  const s = [...values].sort((a, b) => a - b);
  return {
    n: s.length,
    min: s[0] ?? Number.NaN,
    median: percentile(s, 0.5),
    p90: percentile(s, 0.9),
    max: s[s.length - 1] ?? Number.NaN,
    mean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length),
  };
}

export interface GpLatencyResult {
  /** synchronize_sched() call → return, ns (what costs.md §1d's rows measure). */
  readonly sync: LatencyStats;
  /** Grace period start → end (rcu_gp_init → rcu_gp_cleanup), ns. */
  readonly gp: LatencyStats;
  /** call_rcu_sched → callback start, ns. */
  readonly callback: LatencyStats;
  /** Every synchronize latency, in call order (for determinism checks). */
  readonly syncNs: readonly number[];
  readonly gracePeriods: readonly { gpnum: number; start: number; end: number }[];
  /** How the run ended ("idle": ticks went dormant on their own). */
  readonly reason: string;
}

/** The lightly loaded 4-CPU machine of docs/model.md, run for `horizonNs`. */
export function measureGpLatency(opts: {
  readonly hz: number;
  readonly seed: number;
  readonly horizonNs?: number;
  readonly nrCpus?: number;
  readonly rcu?: RcuParams;
  /** Only CPU 1 works, and only as a synchronize caller (a 5–50 µs kernel burst then
   * synchronize_sched, mean gap 6 ms): an otherwise idle machine. Default false: the light load. */
  readonly idle?: boolean;
}): GpLatencyResult {
  const sim = new Simulation({ seed: opts.seed, trace: false });
  const machine = new Machine(sim, { nrCpus: opts.nrCpus ?? 4 });
  const rcu = new Rcu(machine, { ...opts.rcu, hz: opts.hz });
  rcu.start();
  const all = lightLoadPlans(sim.rng.fork(), machine.nrCpus, {
    horizonNs: opts.horizonNs ?? 2_000_000_000,
    syncProbability: opts.idle === true ? 1 : 0.1,
    callProbability: 0.05,
  });
  const plans = opts.idle === true ? all.map((p, i) => (i === 1 ? p : [])) : all;
  const rec = playPlans(rcu, plans);
  const r = sim.run({ until: (opts.horizonNs ?? 2_000_000_000) * 4 });
  const syncNs = rec.syncs.map((s) => s.end - s.start);
  return {
    sync: stats(syncNs),
    gp: stats(rcu.gracePeriodDurations()),
    callback: stats(
      rcu.callbacks
        .filter((c) => c.name !== "wakeme_after_rcu" && c.invokedAt !== null)
        .map((c) => c.invokedAt! - c.queuedAt),
    ),
    syncNs,
    gracePeriods: rcu.gracePeriods.map((g) => ({ ...g })),
    reason: r.reason,
  };
}
