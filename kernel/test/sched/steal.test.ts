/**
 * Steal time in the guest's CPU-time accounting (sched/scheduler.ts StealAccounting): a kernel
 * path whose vCPU the host deschedules is charged that time as system time without a paravirt
 * steal clock, not with one; the tick's samples skip the stolen spans; bare metal is unchanged.
 */
import { describe, expect, it } from "vitest";
import { Host } from "../../src/hw/host.js";
import { Machine } from "../../src/hw/machine.js";
import { cputimeAdjust } from "../../src/sched/cputime.js";
import { Scheduler, type StealAccounting, type Task } from "../../src/sched/scheduler.js";
import type { Kfn } from "../../src/sim/process.js";
import { Simulation } from "../../src/sim/simulation.js";

const MS = 1_000_000;
const KERNEL_NS = 40 * MS;
const USER_NS = 10 * MS;

interface Outcome {
  readonly stats: Task["stats"];
  readonly stealNs: number;
  /** Wall time of the kernel path, ns. */
  readonly kernelSpan: number;
  readonly hostPreemptions: number;
}

/** One task: user time, then one long kernel path, on a 1-vCPU guest sharing its pCPU with a
 * vCPU of another VM (2× overcommit), or on bare metal. HZ = 1000. */
function run(stealAccounting: StealAccounting, overcommit: boolean, seed = 3): Outcome {
  const sim = new Simulation({ seed, trace: false });
  const m = new Machine(sim, { nrCpus: 1 });
  const host = overcommit
    ? new Host(m, { pcpus: 1, otherVcpus: 1, latencyNs: 6 * MS, minGranularityNs: 750_000 })
    : null;
  const sched = new Scheduler(m, { hz: 1000, tickPhaseNs: 123_456, stealAccounting });
  let kernelSpan = 0;
  const t = sched.spawn("worker", (task: Task) =>
    (function* (): Kfn<void> {
      yield* task.user(USER_NS);
      const t0 = sim.now;
      yield* task.kernel(() =>
        (function* (): Kfn<void> {
          yield KERNEL_NS;
        })(),
      );
      kernelSpan = sim.now - t0;
    })(),
  );
  host?.start();
  sim.process(
    "stop-host",
    (function* (): Kfn<void> {
      if (!t.exited.triggered) yield t.exited;
      host?.stop();
    })(),
  );
  sim.run({ until: 10_000 * MS });
  expect(t.exited.triggered).toBe(true);
  return {
    stats: { ...t.stats },
    stealNs: sched.stealNs,
    kernelSpan,
    hostPreemptions: host?.stats.preemptions ?? 0,
  };
}

describe("steal time in a guest's CPU-time accounting", () => {
  it("charges a descheduled kernel path's stolen time as system time without steal accounting", () => {
    const r = run("none", true);
    // the host time-sliced the vCPU: the path took about twice its CPU time
    expect(r.hostPreemptions).toBeGreaterThan(2);
    expect(r.kernelSpan).toBeGreaterThan(1.5 * KERNEL_NS);
    expect(r.stats.stime).toBe(r.kernelSpan);
    // and the ticks of the descheduled spans sampled it in kernel mode
    expect(r.stats.sysTicks).toBeGreaterThan(1.5 * (KERNEL_NS / MS));
    expect(cputimeAdjust(r.stats).stime).toBeGreaterThan(1.4 * KERNEL_NS);
    expect(r.stealNs).toBe(0);
  });

  it("with CONFIG_PARAVIRT_TIME_ACCOUNTING (rq): the path is charged only the time it ran", () => {
    const r = run("rq", true);
    expect(r.kernelSpan).toBeGreaterThan(1.5 * KERNEL_NS);
    expect(r.stats.stime).toBe(KERNEL_NS);
    expect(r.stats.utime).toBe(USER_NS);
    // no tick sample falls in a stolen span: about one a ms of the time run
    expect(Math.abs(r.stats.sysTicks - KERNEL_NS / MS)).toBeLessThanOrEqual(1);
    const adj = cputimeAdjust(r.stats);
    expect(adj.stime + adj.utime).toBe(KERNEL_NS + USER_NS);
    expect(adj.stime).toBeLessThan(1.1 * KERNEL_NS);
    // the steal the ticks took off is the time the task's vCPU waited while it ran
    expect(r.stealNs).toBeGreaterThan(0.5 * (r.kernelSpan - KERNEL_NS));
  });

  it("with the steal clock only (tick): the runtime keeps the steal, the samples do not", () => {
    const r = run("tick", true);
    const rq = run("rq", true);
    // the same run: accounting does not change what the host does to the path
    expect(r.kernelSpan).toBe(rq.kernelSpan);
    expect(r.stats.stime).toBe(r.kernelSpan);
    expect(r.stats.sysTicks).toBe(rq.stats.sysTicks);
    expect(r.stats.userTicks).toBe(rq.stats.userTicks);
    expect(r.stealNs).toBe(rq.stealNs);
    // cputime_adjust splits the runtime, steal included, in the samples' ratio
    const adj = cputimeAdjust(r.stats);
    expect(adj.stime + adj.utime).toBe(r.stats.stime + r.stats.utime);
  });

  it("is deterministic for a seed", () => {
    for (const mode of ["none", "tick", "rq"] as const)
      expect(run(mode, true, 9)).toEqual(run(mode, true, 9));
  });

  it("leaves bare metal unchanged: no steal, whatever the setting", () => {
    const none = run("none", false);
    expect(none.stats.stime).toBe(KERNEL_NS);
    for (const mode of ["tick", "rq"] as const) {
      const r = run(mode, false);
      expect(r).toEqual(none);
      expect(r.stealNs).toBe(0);
    }
  });

  it("refuses an unknown setting, naming it", () => {
    const sim = new Simulation({ seed: 1, trace: false });
    const m = new Machine(sim, { nrCpus: 1 });
    expect(
      () => new Scheduler(m, { stealAccounting: "virt" as unknown as StealAccounting }),
    ).toThrow(/stealAccounting/);
  });
});
