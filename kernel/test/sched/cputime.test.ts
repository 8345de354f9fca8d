import { describe, expect, it } from "vitest";
import { Machine } from "../../src/hw/machine.js";
import { Simulation } from "../../src/sim/simulation.js";
import { Scheduler, type TaskStats } from "../../src/sched/scheduler.js";
import { cputimeAdjust } from "../../src/sched/cputime.js";

const stats = (o: Partial<TaskStats>): TaskStats => ({
  utime: 0,
  stime: 0,
  nvcsw: 0,
  nivcsw: 0,
  userTicks: 0,
  sysTicks: 0,
  ...o,
});

describe("cputime_adjust", () => {
  it("splits the exact runtime in the ratio of the tick samples", () => {
    const r = cputimeAdjust(stats({ utime: 7e6, stime: 3e6, userTicks: 5, sysTicks: 5 }));
    expect(r.utime + r.stime).toBe(10e6);
    expect(r.stime).toBe(5e6);
  });

  it("takes a task without system ticks as all user time, and one with only system ticks as all system", () => {
    expect(cputimeAdjust(stats({ utime: 2e5, stime: 8e5 }))).toEqual({ utime: 1e6, stime: 0 });
    expect(cputimeAdjust(stats({ utime: 9e5, stime: 1e5, sysTicks: 1 }))).toEqual({
      utime: 0,
      stime: 1e6,
    });
  });
});

describe("Scheduler tick sampling", () => {
  const run = (hz: number, phase: number) => {
    const sim = new Simulation({ seed: 1 });
    const m = new Machine(sim, { nrCpus: 1 });
    const sched = new Scheduler(m, { hz, tickPhaseNs: phase });
    const t = sched.spawn("t", function* (task) {
      yield* task.user(2_500_000);
      yield* task.kernel(function* () {
        yield 1_500_000;
      });
      yield* task.user(1_000_000);
    });
    sim.run();
    return t.stats;
  };

  it("counts the ticks that fall in user and in kernel mode", () => {
    // ticks at 0.5, 1.5, … ms; a tick at the end of a span counts for it: user (0, 2.5] has
    // 0.5, 1.5, 2.5; kernel (2.5, 4] has 3.5; user (4, 5] has 4.5
    const s = run(1000, 500_000);
    expect(s.utime).toBe(3_500_000);
    expect(s.stime).toBe(1_500_000);
    expect(s.userTicks).toBe(4);
    expect(s.sysTicks).toBe(1);
  });

  it("takes no samples when hz is 0", () => {
    const s = run(0, 0);
    expect(s.userTicks + s.sysTicks).toBe(0);
  });
});
