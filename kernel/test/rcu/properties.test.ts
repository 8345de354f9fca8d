/**
 * Property tests of the grace-period guarantee over random schedules.
 *
 * Covers: random 2–4 CPU machines where each CPU alternates idle gaps and tasks made of user
 * time, kernel time, nested IRQ-off / preempt-off / rcu_read_lock regions, call_rcu and
 * synchronize calls (task ends are context switches), at random HZ, NO_HZ setting, GP-kthread
 * CPU and FQS sampling mode, with the hardware's 10 % latency jitter.
 *
 * Checked for "sched" and "unified" (and, for its own reader kind, "preempt"):
 *  1. no callback runs before every reader that began before its call_rcu has ended;
 *  2. no synchronize call returns before every reader that began before it has ended;
 *  3. no grace period ends while a CPU has had IRQs off since before the grace period began;
 *  4. liveness: the run ends by itself and every callback has run.
 * A failure prints fast-check's seed and path; pass them back to fc.assert to replay.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Machine } from "../../src/hw/machine.js";
import { ACCEPTED_HZ, Rcu, type Flavour } from "../../src/rcu/index.js";
import { Simulation } from "../../src/sim/simulation.js";
import { playPlans, type CpuPlan, type RegionKind, type Step } from "./workload.js";

const RUNS = 200;

const kernelStep = fc.record({
  t: fc.constant("kernel" as const),
  ns: fc.oneof(
    fc.integer({ min: 1_000, max: 200_000 }),
    fc.integer({ min: 200_000, max: 4_000_000 }),
  ),
});
const callStep = fc.constant({ t: "call" as const });
const regionKind = fc.constantFrom<RegionKind>("irqOff", "preemptOff", "rcuReadLock");

const { region } = fc.letrec<{ region: Step; inner: Step }>((tie) => ({
  region: fc.record({
    t: fc.constant("region" as const),
    kind: regionKind,
    body: fc.array(tie("inner"), { minLength: 1, maxLength: 3 }),
  }),
  inner: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    kernelStep,
    callStep,
    tie("region"),
  ),
}));

const topStep: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ t: fc.constant("user" as const), ns: fc.integer({ min: 10_000, max: 4_000_000 }) }),
  kernelStep,
  region,
  callStep,
  fc.constant({ t: "sync" as const }),
);

const cpuPlan: fc.Arbitrary<CpuPlan> = fc.array(
  fc.record({
    idleNs: fc.integer({ min: 0, max: 5_000_000 }),
    task: fc.array(topStep, { minLength: 1, maxLength: 5 }),
  }),
  { minLength: 1, maxLength: 5 },
);

const scenario = fc.record({
  plans: fc.array(cpuPlan, { minLength: 2, maxLength: 4 }),
  hz: fc.constantFrom(...ACCEPTED_HZ),
  nohzIdle: fc.boolean(),
  fqsReaderSampling: fc.boolean(),
  kthreadCpu: fc.nat(3),
  seed: fc.nat(2 ** 32 - 1),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

/** The specification (kernel.md §3.2, §4.1), written out independently of FLAVOUR_READERS so
 * that a wrong table cannot make its own property pass: region kinds each flavour must wait for. */
const MUST_WAIT_FOR: Readonly<Record<Flavour, readonly RegionKind[]>> = {
  sched: ["irqOff", "preemptOff"],
  preempt: ["rcuReadLock"],
  unified: ["irqOff", "preemptOff", "rcuReadLock"],
};

function check(
  flavour: Flavour,
  s: Scenario,
  kinds: readonly RegionKind[] = MUST_WAIT_FOR[flavour],
): void {
  const sim = new Simulation({ seed: s.seed });
  const machine = new Machine(sim, { nrCpus: s.plans.length });
  const rcu = new Rcu(machine, {
    flavour,
    hz: s.hz,
    nohzIdle: s.nohzIdle,
    fqsReaderSampling: s.fqsReaderSampling,
    gpKthreadCpu: s.kthreadCpu % s.plans.length,
  });
  rcu.start();
  const rec = playPlans(rcu, s.plans);
  const result = sim.run({ until: 10_000_000_000 });

  // 4. Liveness: ticks went dormant by themselves and nothing is left behind.
  expect(result.reason).toBe("idle");
  expect(rcu.pendingCallbacks).toBe(0);

  const readers = rec.readers.filter((r) => kinds.includes(r.kind));

  // 1. Callbacks: every reader that began before call_rcu ended before the callback ran.
  for (const cb of rcu.callbacks) {
    if (cb.name === "wakeme_after_rcu") continue;
    for (const r of readers) {
      if (r.start < cb.queuedAt && r.end > cb.invokedAt!)
        throw new Error(
          `${flavour}: callback #${cb.seq} (cpu${cb.cpu}, queued ${cb.queuedAt}, gp ${cb.gp}) ran at ` +
            `${cb.invokedAt} inside a ${r.kind} reader on cpu${r.cpu} [${r.start}, ${r.end}]`,
        );
    }
  }
  // 2. synchronize_*: the same for the caller.
  for (const sy of rec.syncs) {
    for (const r of readers) {
      if (r.start < sy.start && r.end > sy.end)
        throw new Error(
          `${flavour}: synchronize on cpu${sy.cpu} [${sy.start}, ${sy.end}] returned inside a ` +
            `${r.kind} reader on cpu${r.cpu} [${r.start}, ${r.end}]`,
        );
    }
  }
  // 3. IRQ-off stretches from the trace (handlers and call_rcu's own IRQ-off enqueue included).
  if (kinds.includes("irqOff")) {
    const irqOff = sim.trace.events.filter((e) => e.name === "mmulab:irqs_off" && e.ph === "X");
    for (const gp of rcu.gracePeriods) {
      for (const e of irqOff) {
        if (e.ts < gp.start && e.ts + e.dur! > gp.end)
          throw new Error(
            `${flavour}: GP ${gp.gpnum} [${gp.start}, ${gp.end}] ended while cpu${e.cpu} had IRQs off ` +
              `since ${e.ts} (until ${e.ts + e.dur!})`,
          );
      }
    }
  }
}

describe("grace-period guarantee over random schedules", () => {
  for (const flavour of ["sched", "unified", "preempt"] as const) {
    it(`holds for "${flavour}" (${RUNS} runs)`, () => {
      fc.assert(
        fc.property(scenario, (s) => check(flavour, s)),
        { numRuns: RUNS },
      );
    });
  }

  it("finds the use-after-free when rcu_preempt is held to RCU-sched's readers", () => {
    // Why mm used call_rcu_sched before v4.20, and a check that the harness has teeth: the
    // same schedules against the rcu_preempt engine, with the preempt-off and IRQ-off walkers
    // mm relies on, must produce a callback that runs inside such a reader.
    const details = fc.check(
      fc.property(scenario, (s) => check("preempt", s, MUST_WAIT_FOR.sched)),
      { numRuns: RUNS, seed: 42 },
    );
    expect(details.failed).toBe(true);
    expect(String(details.errorInstance)).toMatch(/preempt: (callback|synchronize|GP)/);
  });
});
