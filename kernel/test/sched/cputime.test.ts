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

describe("Tick sampling of kernel work interleaved with user time", () => {
  // 100 ms of user time with 10 ms of kernel work in it (faults, syscalls), at HZ=1000
  const run = (seed: number, interleaved: boolean) => {
    const sim = new Simulation({ seed });
    const m = new Machine(sim, { nrCpus: 1 });
    const sched = new Scheduler(m, { hz: 1000, tickPhaseNs: (seed * 137_000) % 1_000_000 });
    const t = sched.spawn("t", function* (task) {
      if (interleaved) {
        yield* task.user(100_000_000, 10_000_000);
      } else {
        yield* task.kernel(function* () {
          yield 10_000_000;
        });
        yield* task.user(100_000_000);
      }
    });
    sim.run();
    return t.stats;
  };
  const seeds = Array.from({ length: 40 }, (_, i) => i + 1);
  const sd = (xs: number[]) => {
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
  };

  it("charges the kernel work exactly and samples each tick in kernel mode with its share", () => {
    const runs = seeds.map((s) => run(s, true));
    for (const s of runs) {
      expect(Math.round(s.utime + s.stime)).toBe(110_000_000);
      expect(s.stime).toBeCloseTo(10_000_000, -1);
      expect(s.userTicks + s.sysTicks).toBe(110);
    }
    const sys = runs.map((s) => s.sysTicks);
    const mean = sys.reduce((a, b) => a + b, 0) / sys.length;
    // binomial(110, 1/11): mean 10, std 3
    expect(mean).toBeGreaterThan(8.5);
    expect(mean).toBeLessThan(11.5);
    expect(sd(sys)).toBeGreaterThan(2);
    expect(sd(sys)).toBeLessThan(4.5);
  });

  it("without interleaving, the one kernel span gets its ticks to within one", () => {
    const sys = seeds.map((s) => run(s, false).sysTicks);
    for (const k of sys) expect(Math.abs(k - 10)).toBeLessThanOrEqual(1);
    expect(sd(sys)).toBeLessThan(1);
  });

  it("is the same for the same seed", () => {
    expect(run(7, true)).toEqual(run(7, true));
  });
});
