/**
 * Covers: which reader kinds hold up each flavour's grace period (kernel.md §4.1).
 *
 * Scenario: CPU 1 is a page-table walker inside a 20 ms reader region (IRQ-off like gup_fast, or
 * preempt-off like rcu_read_lock_sched); at 1 ms CPU 0 unlinks a table and queues its free with
 * call_rcu(_sched). The free must not run before the walker leaves its region. Costs are exact
 * (jitter 0), HZ=1000, 2 CPUs.
 */
import { describe, expect, it } from "vitest";
import type { Cpu } from "../../src/hw/cpu.js";
import {
  local_irq_disable,
  local_irq_enable,
  preempt_disable,
  preempt_enable,
} from "../../src/hw/irqflags.js";
import { Machine } from "../../src/hw/machine.js";
import { FLAVOUR_READERS, Rcu, type Flavour, type RcuParams } from "../../src/rcu/index.js";
import type { Kfn } from "../../src/sim/process.js";
import { Simulation } from "../../src/sim/simulation.js";
import { MS, runAt, setup } from "./helpers.js";

interface Outcome {
  /** When the walker left its region, ns. */
  readerEnd: number;
  /** When the table free ran, ns. */
  freedAt: number;
  /** Grace periods that ended while the walker was inside its region. */
  gpEndedInside: number;
}

/** The walker on CPU 1 holds a reader of `kind` from 0 to 20 ms, then stays in kernel code
 * (no reader) until 30 ms; CPU 0 queues the free at 1 ms. */
function walkerVsFree(
  flavour: Flavour,
  kind: "irqOff" | "preemptOff",
  extra: RcuParams = {},
): Outcome {
  const { sim, machine, rcu } = setup(2, { flavour, ...extra });
  const cpu0 = machine.cpu(0);
  const cpu1 = machine.cpu(1);
  const out: Outcome = { readerEnd: -1, freedAt: -1, gpEndedInside: 0 };
  runAt(sim, cpu1, 0, "gup_fast", function* (): Kfn<void> {
    if (kind === "irqOff") local_irq_disable(cpu1);
    else preempt_disable(cpu1);
    yield 20 * MS;
    out.readerEnd = sim.now;
    if (kind === "irqOff") yield* local_irq_enable(cpu1);
    else preempt_enable(cpu1);
    yield 10 * MS;
  });
  runAt(sim, cpu0, 1 * MS, "munmap", function* (): Kfn<void> {
    const free = function* tlb_remove_table_rcu(): Kfn<void> {
      out.freedAt = sim.now;
      yield machine.costs.pageFreeNs; // free_page_and_swap_cache
    };
    if (flavour === "preempt") yield* rcu.call_rcu(cpu0, free);
    else yield* rcu.call_rcu_sched(cpu0, free);
  });
  sim.run();
  out.gpEndedInside = rcu.gracePeriods.filter((g) => g.end < out.readerEnd).length;
  return out;
}

describe("flavours: the reader kinds each one honours", () => {
  it("is one table, not three code paths", () => {
    expect([...FLAVOUR_READERS.sched].sort()).toEqual(["irqOff", "kernel", "preemptOff"]);
    expect([...FLAVOUR_READERS.preempt]).toEqual(["rcuReadLock"]);
    expect([...FLAVOUR_READERS.unified].sort()).toEqual(["irqOff", "preemptOff", "rcuReadLock"]);
  });

  describe("a preempt-off reader (rcu_read_lock_sched, get_cpu)", () => {
    it("holds the RCU-sched and the unified grace period", () => {
      for (const f of ["sched", "unified"] as const) {
        const o = walkerVsFree(f, "preemptOff");
        expect(o.freedAt, f).toBeGreaterThanOrEqual(o.readerEnd);
        expect(o.gpEndedInside, f).toBe(0);
      }
    });

    it("does NOT hold rcu_preempt's grace period: the table is freed under the walker", () => {
      const o = walkerVsFree("preempt", "preemptOff");
      // CPU 1's kernel-mode ticks with rcu_read_lock_nesting == 0 are quiescent states for
      // rcu_preempt (rcu_preempt_check_callbacks), so the GP ends after two FQS periods.
      expect(o.freedAt).toBeLessThan(10 * MS);
      expect(o.freedAt).toBeLessThan(o.readerEnd);
      expect(o.gpEndedInside).toBeGreaterThan(0);
    });
  });

  describe("an IRQ-off reader (gup_fast)", () => {
    it("holds the RCU-sched and the unified grace period", () => {
      for (const f of ["sched", "unified"] as const) {
        for (const fqsReaderSampling of [false, true]) {
          const o = walkerVsFree(f, "irqOff", { fqsReaderSampling });
          expect(o.freedAt, `${f} ${String(fqsReaderSampling)}`).toBeGreaterThanOrEqual(
            o.readerEnd,
          );
          expect(o.gpEndedInside).toBe(0);
        }
      }
    });

    it("is not a reader for rcu_preempt: a contract-level RCU frees the table under the walker", () => {
      // fqsReaderSampling: the FQS scan reports every CPU outside the flavour's readers, as
      // the rcu_preempt contract allows. IRQ-off is not among them, so the GP ends while
      // CPU 1 still has IRQs off: the use-after-free mm avoided with call_rcu_sched.
      const o = walkerVsFree("preempt", "irqOff", { fqsReaderSampling: true });
      expect(o.freedAt).toBeLessThan(10 * MS);
      expect(o.freedAt).toBeLessThan(o.readerEnd);
      expect(o.gpEndedInside).toBeGreaterThan(0);
    });

    it("v4.14's rcu_preempt implementation waits only by accident, because the tick cannot come", () => {
      // Default FQS (dyntick-idle only): CPU 1 cannot take the tick with IRQs off, so it cannot
      // report, and the GP runs past the region. The held-back tick is taken at
      // local_irq_enable; with nesting 0 it is a QS for rcu_preempt at the next tick, while
      // RCU-sched still waits for user mode, idle or the context switch at 30 ms.
      const pre = walkerVsFree("preempt", "irqOff");
      expect(pre.freedAt).toBeGreaterThanOrEqual(pre.readerEnd);
      expect(pre.freedAt).toBeLessThan(pre.readerEnd + 3 * MS);
      const sched = walkerVsFree("sched", "irqOff");
      expect(sched.freedAt).toBeGreaterThanOrEqual(30 * MS);
    });
  });

  it("an rcu_read_lock() reader holds rcu_preempt and unified, not RCU-sched's QS decision", () => {
    const run = (flavour: Flavour, fqsReaderSampling: boolean): Outcome => {
      const { sim, machine, rcu } = setup(2, { flavour, fqsReaderSampling });
      const cpu0 = machine.cpu(0);
      const cpu1 = machine.cpu(1);
      const out: Outcome = { readerEnd: -1, freedAt: -1, gpEndedInside: 0 };
      runAt(sim, cpu1, 0, "reader", function* (): Kfn<void> {
        rcu.rcu_read_lock(cpu1);
        yield 20 * MS;
        out.readerEnd = sim.now;
        rcu.rcu_read_unlock(cpu1);
      });
      runAt(sim, cpu0, 1 * MS, "free", function* (): Kfn<void> {
        yield* rcu.call_rcu(cpu0, function* cb(): Kfn<void> {
          out.freedAt = sim.now;
          yield machine.costs.pageFreeNs;
        });
      });
      sim.run();
      return out;
    };
    for (const f of ["preempt", "unified"] as const)
      for (const s of [false, true]) expect(run(f, s).freedAt).toBeGreaterThanOrEqual(20 * MS);
    // With contract-level sampling RCU-sched reports the kernel-mode CPU only if it is outside
    // the sched readers: "kernel" is one of them, so it still waits, but for the wrong reason
    // (v4.14 CONFIG_PREEMPT rcu_sched never promised to wait for rcu_read_lock()).
    expect(run("sched", true).freedAt).toBeGreaterThanOrEqual(20 * MS);
  });

  it("v4.14 CONFIG_PREEMPT runs rcu_sched and rcu_preempt side by side: only call_rcu_sched is safe", () => {
    const sim = new Simulation({ seed: 1 });
    const machine = new Machine(sim, { nrCpus: 2, costs: { jitter: 0 } });
    const sched = new Rcu(machine, { flavour: "sched" });
    const preempt = new Rcu(machine, { flavour: "preempt" });
    sched.start();
    preempt.start();
    const cpu0 = machine.cpu(0);
    const cpu1 = machine.cpu(1);
    const freed: Record<string, number> = {};
    let readerEnd = -1;
    runAt(sim, cpu1, 0, "walker", function* (): Kfn<void> {
      preempt_disable(cpu1);
      yield 20 * MS;
      readerEnd = sim.now;
      preempt_enable(cpu1);
    });
    runAt(sim, cpu0, 1 * MS, "munmap", function* (): Kfn<void> {
      const rec = (k: string) =>
        function* (_cpu: Cpu): Kfn<void> {
          freed[k] = sim.now;
          yield machine.costs.pageFreeNs;
        };
      yield* sched.call_rcu_sched(cpu0, rec("call_rcu_sched"));
      yield* preempt.call_rcu(cpu0, rec("call_rcu"));
    });
    expect(sim.run().reason).toBe("idle");
    expect(freed["call_rcu_sched"]).toBeGreaterThanOrEqual(readerEnd);
    expect(freed["call_rcu"]).toBeLessThan(readerEnd);
    expect(sched.tick).toBe(preempt.tick);
  });
});
