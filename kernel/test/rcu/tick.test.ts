import { describe, expect, it } from "vitest";
import { local_irq_disable, local_irq_enable } from "../../src/hw/irqflags.js";
import { Machine } from "../../src/hw/machine.js";
import { SchedulerTick } from "../../src/hw/tick.js";
import { Rcu } from "../../src/rcu/index.js";
import { ParameterError } from "../../src/sim/errors.js";
import type { Kfn } from "../../src/sim/process.js";
import { Simulation } from "../../src/sim/simulation.js";
import { handlerStarts, keepAlive, MS, runAt, setup, US } from "./helpers.js";

describe("scheduling-clock tick", () => {
  it("ticks every CPU once per jiffy, staggered by CPU and never at the same instant", () => {
    const { sim } = setup(4, { hz: 1000, nohzIdle: false });
    keepAlive(sim, 10 * MS);
    sim.run({ until: 10 * MS });
    const all: number[] = [];
    for (let c = 0; c < 4; c++) {
      const t = handlerStarts(sim, c, "LOCAL_TIMER");
      expect(t.length).toBeGreaterThanOrEqual(9);
      // offset(c) = c · period / nrCpus; CPU 0 on the jiffy boundaries.
      for (const x of t) expect(x % MS).toBe(c * 250 * US);
      for (let i = 1; i < t.length; i++) expect(t[i]! - t[i - 1]!).toBe(MS);
      all.push(...t);
    }
    expect(new Set(all).size).toBe(all.length);
  });

  it("follows floor(k · 10⁹ / HZ) at HZ=300", () => {
    const { sim, rcu } = setup(2, { hz: 300, nohzIdle: false });
    keepAlive(sim, 21 * MS);
    sim.run({ until: 21 * MS });
    expect(handlerStarts(sim, 0, "LOCAL_TIMER")).toEqual(
      [1, 2, 3, 4, 5, 6].map((k) => Math.floor((k * 1e9) / 300)),
    );
    expect(rcu.tick.jiffies(10 * MS)).toBe(3);
    expect(rcu.tick.jiffyStart(3)).toBe(10 * MS);
  });

  it("is taken late, at local_irq_enable, by a CPU that had IRQs off; missed ticks collapse", () => {
    const { sim, machine } = setup(2, { hz: 1000, nohzIdle: false });
    const cpu1 = machine.cpu(1);
    let enabledAt = -1;
    runAt(sim, cpu1, 1 * MS, "irqoff", function* (): Kfn<void> {
      local_irq_disable(cpu1);
      yield 5_500 * US;
      enabledAt = sim.now;
      yield* local_irq_enable(cpu1);
      yield 2 * MS;
    });
    sim.run({ until: 10 * MS });
    const t = handlerStarts(sim, 1, "LOCAL_TIMER");
    expect(enabledAt).toBe(6_500 * US);
    // Ticks due at 1.5, 2.5, …, 6.5 ms: none taken inside the IRQ-off region, one at the enable.
    expect(t.filter((x) => x > 1 * MS && x < enabledAt)).toEqual([]);
    expect(t.filter((x) => x === enabledAt)).toHaveLength(1);
    expect(t.filter((x) => x > enabledAt && x <= 9 * MS)).toEqual([7_500 * US, 8_500 * US]);
  });

  it("is not taken by a host-preempted vCPU until it runs again", () => {
    const { sim, machine } = setup(2, { hz: 1000, nohzIdle: false });
    const cpu1 = machine.cpu(1);
    keepAlive(sim, 10 * MS);
    sim.schedule(1 * MS, () => cpu1.hostPreempt());
    sim.schedule(6 * MS, () => cpu1.hostResume());
    sim.run({ until: 10 * MS });
    const t = handlerStarts(sim, 1, "LOCAL_TIMER");
    expect(t.filter((x) => x > 1 * MS && x < 6 * MS)).toEqual([]);
    expect(t).toContain(6 * MS);
    expect(cpu1.stats.irqs.LOCAL_TIMER).toBe(t.length);
  });

  it("stops on idle CPUs without callbacks (NO_HZ_IDLE) but not on busy ones", () => {
    const { sim, machine, rcu } = setup(3, { hz: 1000 });
    const cpu2 = machine.cpu(2);
    runAt(sim, cpu2, 0, "user", function* (): Kfn<void> {
      cpu2.taskMode = "user";
      yield 8 * MS;
    });
    sim.run({ until: 10 * MS });
    expect(rcu.tick.stats.raised[0]).toBe(0);
    expect(rcu.tick.stats.raised[1]).toBe(0);
    expect(rcu.tick.stats.stopped[1]).toBeGreaterThan(0);
    expect(rcu.tick.stats.raised[2]).toBe(8);
  });

  it("goes dormant when RCU is idle and nothing else is scheduled, so sim.run() returns", () => {
    const { sim, machine, rcu } = setup(4);
    const cpu1 = machine.cpu(1);
    runAt(sim, cpu1, 1 * MS, "sync", function* (): Kfn<void> {
      yield* rcu.synchronize_sched(cpu1);
    });
    const r = sim.run();
    expect(r.reason).toBe("idle");
    expect(rcu.completed).toBeGreaterThanOrEqual(1);
    expect(sim.now).toBeLessThan(20 * MS);
    // New work later re-arms the ticks (kick) and completes too.
    runAt(sim, cpu1, sim.now + 50 * MS, "sync2", function* (): Kfn<void> {
      yield* rcu.synchronize_sched(cpu1);
    });
    const before = rcu.completed;
    expect(sim.run().reason).toBe("idle");
    expect(rcu.completed).toBeGreaterThan(before);
    expect(rcu.pendingCallbacks).toBe(0);
  });

  it("goes dormant in each of several machines on one simulation (guests of one host)", () => {
    // Two guests' kernels on one simulation, as buildHostSystem makes them: when both RCUs are
    // idle, each machine's ticks must not count the other's as something else that can happen.
    const sim = new Simulation({ seed: 1 });
    const guests = [0, 1].map(() => {
      const machine = new Machine(sim, { nrCpus: 3, costs: { jitter: 0 } });
      const rcu = new Rcu(machine, {});
      rcu.start();
      return { machine, rcu };
    });
    for (const [i, { machine, rcu }] of guests.entries()) {
      const cpu = machine.cpu(1);
      runAt(sim, cpu, (1 + i) * MS, "sync", function* (): Kfn<void> {
        yield* rcu.synchronize_sched(cpu);
      });
    }
    // ~6,000 tick events a simulated second: a budget of 200,000 is half a minute of ticking
    const r = sim.run({ maxEvents: 200_000 });
    expect(r.reason).toBe("idle");
    expect(sim.now).toBeLessThan(50 * MS);
    for (const { rcu } of guests) {
      expect(rcu.completed).toBeGreaterThanOrEqual(1);
      expect(rcu.isRunning).toBe(true);
    }
    // one guest's new work re-arms its ticks only, and the run ends again
    const [a, b] = guests;
    const raisedB = b!.rcu.tick.stats.raised.reduce((x, y) => x + y, 0);
    const cpu = a!.machine.cpu(0);
    runAt(sim, cpu, sim.now + 10 * MS, "sync2", function* (): Kfn<void> {
      yield* a!.rcu.synchronize_sched(cpu);
    });
    expect(sim.run({ maxEvents: 200_000 }).reason).toBe("idle");
    expect(b!.rcu.tick.stats.raised.reduce((x, y) => x + y, 0)).toBe(raisedB);
  });

  it("stops for good with Rcu.stop(), even while other events keep the queue alive", () => {
    const { sim, rcu } = setup(2, { nohzIdle: false });
    keepAlive(sim, 100 * MS);
    sim.run({ until: 5 * MS });
    const raised = rcu.tick.stats.raised[0]!;
    expect(raised).toBeGreaterThan(0);
    rcu.stop();
    expect(rcu.tick.isRunning).toBe(false);
    expect(sim.run().reason).toBe("idle");
    expect(sim.now).toBe(100 * MS);
    expect(rcu.tick.stats.raised[0]).toBe(raised);
  });

  it("is one device per machine: a second user shares it, and must ask for the same HZ", () => {
    const { machine, rcu } = setup(2, { hz: 1000 });
    const same = SchedulerTick.of(machine, { ...rcu.tick.params });
    expect(same).toBe(rcu.tick);
    expect(() => SchedulerTick.of(machine, { ...rcu.tick.params, hz: 250 })).toThrow(
      ParameterError,
    );
    expect(() => SchedulerTick.of(machine, { ...rcu.tick.params, hz: 250 })).toThrow(/hz.*1000/);
    // another machine gets its own tick
    const other = setup(2, { hz: 250 });
    expect(other.rcu.tick).not.toBe(rcu.tick);
    expect(other.rcu.tick.hz).toBe(250);
  });
});
