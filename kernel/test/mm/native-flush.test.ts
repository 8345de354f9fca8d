import { describe, expect, it } from "vitest";
import { local_irq_disable, local_irq_enable } from "../../src/hw/index.js";
import {
  FrameState,
  mmget,
  sys_mmap,
  sys_munmap,
  walkChecked,
  type MmStruct,
} from "../../src/mm/index.js";
import type { Kfn } from "../../src/sim/index.js";
import { makeKernel, runOn, V4_13, V4_14 } from "../support/kernel.js";

/** The table frames mapping `addr` (pud, pmd, pte) in `mm`. */
function tablesFor(t: ReturnType<typeof makeKernel>, mm: MmStruct, addr: number): number[] {
  return walkChecked(t.k, 0, mm, addr).path.slice(1);
}

describe("native IPI flush holds the freeing CPU while a walker has IRQs off", () => {
  for (const [name, profile] of [
    ["v4.13 (tables via tlb_remove_page)", V4_13],
    ["v4.14 (tables via RCU, 2 threads)", V4_14],
  ] as const) {
    it(name, () => {
      const t = makeKernel({ nrCpus: 2, profile, rcuDelayNs: 3_000_000 });
      const { k, m, sim, x86 } = t;
      const mm = k.mm_alloc();
      mmget(mm); // two threads: one on each CPU
      x86.switch_mm(m.cpu(0), mm);
      x86.switch_mm(m.cpu(1), mm);
      runOn(t, 0, sys_mmap(k, m.cpu(0), mm, { addr: 0x400000, length: 4096, populate: true }));
      const tables = tablesFor(t, mm, 0x400000);
      expect(tables).toHaveLength(3);

      const T0 = sim.now;
      const IRQ_OFF = 50_000;
      let enabledAt = -1;
      let munmapDone = -1;
      m.cpu(1).run(
        "walker",
        (function* (): Kfn<void> {
          local_irq_disable(m.cpu(1));
          yield IRQ_OFF;
          enabledAt = sim.now;
          yield* local_irq_enable(m.cpu(1));
        })(),
      );
      m.cpu(0).run(
        "munmap",
        (function* (): Kfn<void> {
          yield 1_000;
          yield* sys_munmap(k, m.cpu(0), mm, 0x400000, 4096);
          munmapDone = sim.now;
        })(),
      );
      sim.run();
      expect(enabledAt).toBe(T0 + IRQ_OFF);
      // the flush IPI waited for the walker: munmap could not finish before IRQs came back on
      expect(munmapDone).toBeGreaterThan(enabledAt);
      expect(x86.stats.flushOthersNs).toBeGreaterThanOrEqual(IRQ_OFF - 1_000 - 2_000);
      for (const pfn of tables) {
        expect(k.alloc.stateOf(pfn)).toBe(FrameState.FREE);
        const freedAt = k.alloc
          .history(pfn)
          .filter((h) => h.what === "free")
          .map((h) => h.t);
        expect(freedAt).toHaveLength(1);
        // and the table was freed only after the walker re-enabled interrupts
        expect(freedAt[0]!).toBeGreaterThan(enabledAt);
      }
      expect(k.oracle.reports).toHaveLength(0);
    });
  }
});
