import { describe, expect, it } from "vitest";
import type { Cpu } from "../../src/hw/cpu.js";
import {
  local_irq_disable,
  local_irq_enable,
  preempt_disable,
  preempt_enable,
} from "../../src/hw/irqflags.js";
import { Machine } from "../../src/hw/machine.js";
import { Rcu } from "../../src/rcu/index.js";
import { KernelStateError } from "../../src/sim/errors.js";
import type { Kfn } from "../../src/sim/process.js";
import { Simulation } from "../../src/sim/simulation.js";
import { MS, runAt, setup, traceNamed, US } from "./helpers.js";

/** A callback that records where and when it ran. */
function recorder(log: { cpu: number; at: number }[], sim: Simulation) {
  return function* tlb_remove_table_rcu(cpu: Cpu): Kfn<void> {
    log.push({ cpu: cpu.id, at: sim.now });
    yield cpu.machine.costs.pageFreeNs; // free_page_and_swap_cache
  };
}

describe("grace periods on an idle machine", () => {
  it("synchronize_sched takes two FQS periods when the GP kthread's CPU is idle", () => {
    const { sim, machine, rcu } = setup(4, { hz: 1000 });
    const cpu1 = machine.cpu(1);
    let returned = -1;
    runAt(sim, cpu1, 100 * US, "sync", function* (): Kfn<void> {
      yield* rcu.synchronize_sched(cpu1);
      returned = sim.now;
    });
    sim.run();
    expect(rcu.gracePeriods).toHaveLength(1);
    const gp = rcu.gracePeriods[0]!;
    // Requested in CPU 1's next tick (0.25 ms, after 150 ns IRQ entry and 200 ns tick work),
    // kthread wake-up 5 µs; FQS at jiffies 3 and 6:
    // the first scan reports the idle CPUs 2 and 3 (CPU 1 reports from its own tick), the
    // second reports CPU 0, which was running the kthread at the first snapshot.
    expect(gp.start).toBe(255 * US + 350);
    expect(gp.end).toBe(6 * MS + 5 * US);
    expect(rcu.fqsScans).toBe(2);
    // CPU 1 notices the end at its next tick and runs wakeme_after_rcu there.
    expect(returned).toBeGreaterThan(6_250 * US);
    expect(returned).toBeLessThan(6_260 * US);
  });

  it("ends at the first FQS when the kthread's CPU takes ticks and reports itself", () => {
    const { sim, machine, rcu } = setup(4, { hz: 1000, gpKthreadCpu: 1 });
    const cpu1 = machine.cpu(1);
    runAt(sim, cpu1, 100 * US, "sync", function* (): Kfn<void> {
      yield* rcu.synchronize_sched(cpu1);
    });
    sim.run();
    expect(rcu.gracePeriods[0]!.end).toBe(3 * MS + 5 * US);
    expect(rcu.fqsScans).toBe(1);
  });

  it("takes 1 + 1 jiffies of 4 ms at HZ=250", () => {
    const { sim, machine, rcu } = setup(4, { hz: 250 });
    const cpu1 = machine.cpu(1);
    runAt(sim, cpu1, 100 * US, "sync", function* (): Kfn<void> {
      yield* rcu.synchronize_sched(cpu1);
    });
    sim.run();
    const gp = rcu.gracePeriods[0]!;
    expect(gp.start).toBe(1 * MS + 5 * US + 350); // CPU 1's tick is at offset 1 ms
    expect(gp.end).toBe(8 * MS + 5 * US); // jiffy 1 (4 ms) + jiffy 2 (8 ms)
  });

  it("records the GP in the trace with start/end and the callback tracepoints", () => {
    const { sim, machine, rcu } = setup(2);
    const cpu0 = machine.cpu(0);
    runAt(sim, cpu0, 0, "free", function* (): Kfn<void> {
      yield* rcu.call_rcu_sched(cpu0, function* tlb_remove_table_rcu(): Kfn<void> {});
    });
    sim.run();
    const gpEvents = traceNamed(sim, "rcu:rcu_grace_period").filter((e) => e.cpu === -1);
    const start = gpEvents.find((e) => e.args?.["gpevent"] === "start")!;
    const end = gpEvents.find((e) => e.args?.["gpevent"] === "end")!;
    expect(start.args).toMatchObject({ rcuname: "rcu_sched", gpnum: 1 });
    expect(end.args).toMatchObject({ rcuname: "rcu_sched", gpnum: 1 });
    expect(end.ts - start.ts).toBe(rcu.gracePeriods[0]!.end - rcu.gracePeriods[0]!.start);
    expect(traceNamed(sim, "rcu:rcu_callback")[0]!.args).toMatchObject({
      func: "tlb_remove_table_rcu",
      gp: 1,
    });
    const inv = traceNamed(sim, "rcu:rcu_invoke_callback");
    expect(inv).toHaveLength(1);
    expect(inv[0]!.ts).toBeGreaterThan(end.ts);
    expect(traceNamed(sim, "rcu:rcu_batch_start")).toHaveLength(1);
    expect(traceNamed(sim, "rcu:rcu_batch_end")[0]!.args).toMatchObject({ callbacks_invoked: 1 });
  });
});

describe("quiescent states", () => {
  function scenario(flavour: "sched" | "unified", mode: "kernel" | "user"): number {
    const { sim, machine, rcu } = setup(3, { flavour });
    const cpu1 = machine.cpu(1);
    const cpu2 = machine.cpu(2);
    runAt(sim, cpu2, 0, "busy", function* (): Kfn<void> {
      cpu2.taskMode = mode;
      yield 30 * MS;
    });
    const log: { cpu: number; at: number }[] = [];
    runAt(sim, cpu1, 1 * MS, "free", function* (): Kfn<void> {
      yield* rcu.call_rcu_sched(cpu1, recorder(log, sim));
    });
    sim.run();
    expect(log).toHaveLength(1);
    return log[0]!.at;
  }

  it("RCU-sched: a tick in kernel code is not a QS; the GP waits for the context switch", () => {
    expect(scenario("sched", "kernel")).toBeGreaterThanOrEqual(30 * MS);
  });

  it("RCU-sched: a tick from user mode is a QS", () => {
    expect(scenario("sched", "user")).toBeLessThan(10 * MS);
  });

  it("unified (CONFIG_PREEMPT): a tick in kernel code outside any reader is a QS", () => {
    expect(scenario("unified", "kernel")).toBeLessThan(10 * MS);
  });

  it("a CPU with IRQs off holds the GP until it re-enables them", () => {
    const { sim, machine, rcu } = setup(3);
    const cpu1 = machine.cpu(1);
    const cpu2 = machine.cpu(2);
    let enabledAt = -1;
    runAt(sim, cpu2, 0, "walker", function* (): Kfn<void> {
      local_irq_disable(cpu2);
      yield 25 * MS;
      enabledAt = sim.now;
      yield* local_irq_enable(cpu2);
    });
    const log: { cpu: number; at: number }[] = [];
    runAt(sim, cpu1, 1 * MS, "free", function* (): Kfn<void> {
      yield* rcu.call_rcu_sched(cpu1, recorder(log, sim));
    });
    sim.run();
    expect(log[0]!.at).toBeGreaterThan(enabledAt);
    expect(rcu.gracePeriods[0]!.end).toBeGreaterThanOrEqual(enabledAt);
  });

  it("a vCPU the host preempted in an IRQ-off walk holds the GP; a preempted idle vCPU does not", () => {
    const run = (busy: boolean): number => {
      const { sim, machine, rcu } = setup(3);
      const cpu1 = machine.cpu(1);
      const cpu2 = machine.cpu(2);
      if (busy)
        runAt(sim, cpu2, 0, "gup_fast", function* (): Kfn<void> {
          local_irq_disable(cpu2);
          yield 100 * US;
          yield* local_irq_enable(cpu2);
        });
      sim.schedule(50 * US, () => cpu2.hostPreempt());
      sim.schedule(24 * MS, () => cpu2.hostResume());
      const log: { cpu: number; at: number }[] = [];
      runAt(sim, cpu1, 1 * MS, "free", function* (): Kfn<void> {
        yield* rcu.call_rcu_sched(cpu1, recorder(log, sim));
      });
      sim.run();
      return log[0]!.at;
    };
    expect(run(true)).toBeGreaterThan(24 * MS);
    expect(run(false)).toBeLessThan(10 * MS);
  });

  it("a reader that begins after call_rcu does not hold the GP", () => {
    const { sim, machine, rcu } = setup(3);
    const cpu1 = machine.cpu(1);
    const cpu2 = machine.cpu(2);
    const log: { cpu: number; at: number }[] = [];
    runAt(sim, cpu1, 0, "free", function* (): Kfn<void> {
      yield* rcu.call_rcu_sched(cpu1, recorder(log, sim));
    });
    // CPU 2 reports its QS from user-mode ticks, then enters a long preempt-off region after
    // call_rcu: the GP already has CPU 2's QS and does not wait for the region.
    runAt(sim, cpu2, 0, "late reader", function* (): Kfn<void> {
      cpu2.taskMode = "user";
      yield 5 * MS;
      cpu2.taskMode = "kernel";
      preempt_disable(cpu2);
      yield 30 * MS;
      preempt_enable(cpu2);
    });
    sim.run();
    expect(log[0]!.at).toBeLessThan(10 * MS);
  });
});

describe("callbacks", () => {
  it("run on the CPU that queued them, in order, after the GP they were tagged with", () => {
    const { sim, machine, rcu } = setup(4);
    const log: { cpu: number; at: number }[] = [];
    for (const id of [0, 2, 3]) {
      const cpu = machine.cpu(id);
      runAt(sim, cpu, id * 100 * US, `free${id}`, function* (): Kfn<void> {
        yield* rcu.call_rcu_sched(cpu, recorder(log, sim));
      });
    }
    expect(rcu.pendingCallbacks).toBe(0);
    sim.run({ until: 1 * MS });
    expect(rcu.pendingCallbacks).toBe(3);
    sim.run();
    expect(rcu.pendingCallbacks).toBe(0);
    expect(log.map((l) => l.cpu).sort()).toEqual([0, 2, 3]);
    for (const r of rcu.callbacks) {
      const gp = rcu.gracePeriods.find((g) => g.gpnum === r.gp)!;
      expect(gp.start).toBeGreaterThan(r.queuedAt);
      expect(r.invokedAt!).toBeGreaterThanOrEqual(gp.end);
    }
    expect(rcu.callbackLatencies()).toHaveLength(3);
  });

  it("queued during a GP wait for the next one (rcu_cbs_completed = completed + 2)", () => {
    const { sim, machine, rcu } = setup(2);
    const cpu0 = machine.cpu(0);
    const cpu1 = machine.cpu(1);
    runAt(sim, cpu1, 0, "a", function* (): Kfn<void> {
      yield* rcu.call_rcu_sched(cpu1, function* a(): Kfn<void> {});
    });
    runAt(sim, cpu0, 2 * MS, "b", function* (): Kfn<void> {
      expect(rcu.gpInProgress).toBe(true);
      yield* rcu.call_rcu_sched(cpu0, function* b(): Kfn<void> {});
    });
    sim.run();
    expect(rcu.callbacks.map((c) => c.gp)).toEqual([1, 2]);
    expect(rcu.gracePeriods.map((g) => g.gpnum)).toEqual([1, 2]);
    // The second GP starts right at the first one's cleanup (need_future_gp).
    expect(rcu.gracePeriods[1]!.start).toBe(rcu.gracePeriods[0]!.end);
  });

  it("are invoked blimit = 10 per rcu_do_batch pass, at most 10 passes per softirq", () => {
    const { sim, machine, rcu } = setup(2);
    const cpu1 = machine.cpu(1);
    runAt(sim, cpu1, 0, "flood", function* (): Kfn<void> {
      for (let i = 0; i < 250; i++) yield* rcu.call_rcu_sched(cpu1, function* cb(): Kfn<void> {});
    });
    sim.run();
    const ends = traceNamed(sim, "rcu:rcu_batch_end");
    expect(ends.every((e) => e.args?.["callbacks_invoked"] === 10)).toBe(true);
    expect(ends).toHaveLength(25);
    // Grouped by the tick that ran them: 100, 100, 50.
    const perTick = new Map<number, number>();
    for (const r of rcu.callbacks) {
      const tick = Math.floor((r.invokedAt! - 500 * US) / MS);
      perTick.set(tick, (perTick.get(tick) ?? 0) + 1);
    }
    expect([...perTick.values()]).toEqual([100, 100, 50]);
  });

  it("are invoked without limit once the queue passes qhimark", () => {
    const { sim, machine, rcu } = setup(2, { qhimark: 100, qlowmark: 10 });
    const cpu1 = machine.cpu(1);
    runAt(sim, cpu1, 0, "flood", function* (): Kfn<void> {
      for (let i = 0; i < 150; i++) yield* rcu.call_rcu_sched(cpu1, function* cb(): Kfn<void> {});
    });
    sim.run();
    const ends = traceNamed(sim, "rcu:rcu_batch_end");
    expect(ends[0]!.args?.["callbacks_invoked"]).toBe(150);
    expect(traceNamed(sim, "rcu:rcu_batch_start")[0]!.args?.["blimit"]).toBe(-1);
  });

  it("charge the enqueue cost with IRQs off and the per-callback invocation cost", () => {
    const { sim, machine, rcu } = setup(2, { enqueueNs: 1000, callbackInvokeNs: 700 });
    const cpu1 = machine.cpu(1);
    let returnedAt = -1;
    let irqsOffInside = false;
    runAt(sim, cpu1, 0, "free", function* (): Kfn<void> {
      yield* rcu.call_rcu_sched(cpu1, function* cb(): Kfn<void> {});
      returnedAt = sim.now;
    });
    sim.schedule(500, () => {
      irqsOffInside = !cpu1.irqsEnabled;
    });
    sim.run();
    expect(returnedAt).toBe(1000);
    expect(irqsOffInside).toBe(true);
    const inv = traceNamed(sim, "rcu:rcu_invoke_callback")[0]!;
    expect(rcu.callbacks[0]!.invokedAt! - inv.ts).toBe(700);
  });
});

describe("API checks", () => {
  it("refuses synchronize_sched in atomic context and outside the CPU's task", () => {
    const { sim, machine, rcu } = setup(2);
    const cpu1 = machine.cpu(1);
    const errors: unknown[] = [];
    runAt(sim, cpu1, 0, "atomic", function* (): Kfn<void> {
      local_irq_disable(cpu1);
      try {
        yield* rcu.synchronize_sched(cpu1);
      } catch (e) {
        errors.push(e);
      }
      yield* local_irq_enable(cpu1);
      rcu.rcu_read_lock(cpu1);
      try {
        yield* rcu.synchronize_rcu(cpu1);
      } catch (e) {
        errors.push(e);
      }
      rcu.rcu_read_unlock(cpu1);
    });
    sim.process(
      "not-a-task",
      (function* (): Kfn<void> {
        try {
          yield* rcu.synchronize_sched(machine.cpu(0));
        } catch (e) {
          errors.push(e);
        }
      })(),
    );
    sim.run();
    expect(errors).toHaveLength(3);
    for (const e of errors) expect(e).toBeInstanceOf(KernelStateError);
    expect(errors.filter((e) => /atomic context/.test(String(e)))).toHaveLength(2);
    expect(errors.filter((e) => /from the task running on cpu0/.test(String(e)))).toHaveLength(1);
  });

  it("returns from synchronize_sched at once on one CPU (rcu_blocking_is_gp)", () => {
    const { sim, machine, rcu } = setup(1);
    const cpu0 = machine.cpu(0);
    let at = -1;
    runAt(sim, cpu0, 0, "sync", function* (): Kfn<void> {
      yield* rcu.synchronize_sched(cpu0);
      at = sim.now;
    });
    sim.run();
    expect(at).toBe(0);
    expect(rcu.gracePeriods).toHaveLength(0);
  });

  it("refuses call_rcu_sched / synchronize_sched on the rcu_preempt engine", () => {
    const { sim, machine, rcu } = setup(2, { flavour: "preempt" });
    const cpu1 = machine.cpu(1);
    const errors: unknown[] = [];
    runAt(sim, cpu1, 0, "t", function* (): Kfn<void> {
      try {
        yield* rcu.call_rcu_sched(cpu1, function* cb(): Kfn<void> {});
      } catch (e) {
        errors.push(e);
      }
      try {
        yield* rcu.synchronize_sched(cpu1);
      } catch (e) {
        errors.push(e);
      }
      yield* rcu.call_rcu(cpu1, function* cb(): Kfn<void> {});
    });
    sim.run();
    expect(errors.map((e) => (e as KernelStateError).operation)).toEqual([
      "call_rcu_sched",
      "synchronize_sched",
    ]);
    expect(rcu.name).toBe("rcu_preempt");
    expect(rcu.callbacks).toHaveLength(1);
  });

  it("refuses use before start() and an unbalanced rcu_read_unlock", () => {
    const sim = new Simulation({ seed: 1 });
    const machine = new Machine(sim, { nrCpus: 2 });
    const rcu = new Rcu(machine);
    const gen = rcu.call_rcu_sched(machine.cpu(0), function* cb(): Kfn<void> {});
    expect(() => gen.next()).toThrow(/not running: call Rcu.start\(\) first/);
    expect(() => rcu.rcu_read_unlock(machine.cpu(1))).toThrow(KernelStateError);
    rcu.rcu_read_lock(machine.cpu(1));
    expect(rcu.readLockNesting(machine.cpu(1))).toBe(1);
    expect(() => rcu.readLockNesting(new Machine(sim, { nrCpus: 2 }).cpu(0))).toThrow(
      /a CPU of this Rcu's machine/,
    );
  });
});
