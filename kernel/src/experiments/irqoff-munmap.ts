/**
 * Scenario: a thread walks its page tables with interrupts off on CPU 1 (as gup_fast does)
 * while another thread of the same process munmaps on CPU 0. On native x86 the freeing CPU's
 * TLB-flush IPI cannot be answered until CPU 1 turns interrupts back on, so the page tables are
 * freed only after the walk. This is the guarantee the seed patch's commit message describes.
 *
 * Covers: mmu_gather, free_pgtables, flush_tlb_mm_range → native_flush_tlb_others →
 * smp_call_function_many, the IF flag, the use-after-free oracle.
 */
import { installX86 } from "../arch/x86/pgtable.js";
import { local_irq_disable, local_irq_enable } from "../hw/irqflags.js";
import { Machine } from "../hw/machine.js";
import { Kernel } from "../mm/kernel.js";
import { mmget, sys_mmap, sys_munmap } from "../mm/mmap.js";
import { walkChecked } from "../mm/walk.js";
import { checkInt, checkOptions } from "../sim/errors.js";
import { waitFor, type Kfn } from "../sim/process.js";
import { Simulation } from "../sim/simulation.js";
import type { ChromeTrace } from "../sim/trace.js";

export interface IrqOffMunmapParams {
  /** Seed of the run. Default 1. */
  readonly seed?: number;
  /** How long CPU 1 keeps interrupts off, ns. Default 20,000. */
  readonly irqOffNs?: number;
  /** Pages mapped (and unmapped), 1 … 262,144. Default 16. */
  readonly pages?: number;
}

export interface IrqOffMunmapResult {
  readonly seed: number;
  readonly irqOffNs: number;
  readonly pages: number;
  /** When CPU 1 re-enabled interrupts, ns. */
  readonly walkerIrqsOnAt: number;
  /** When munmap started and returned on CPU 0, ns. */
  readonly munmapStartAt: number;
  readonly munmapDoneAt: number;
  /** Time CPU 0 spent waiting in flush_tlb_others, ns. */
  readonly flushWaitNs: number;
  /** Page-table frames freed, with when. */
  readonly tablesFreed: readonly {
    readonly pfn: number;
    readonly level: string;
    readonly freedAt: number;
  }[];
  /** Use-after-free reads the oracle saw (0 on native x86). */
  readonly useAfterFree: number;
  readonly ipisSent: number;
  /** Trace events per tracepoint name. */
  readonly traceCounts: Readonly<Record<string, number>>;
}

export function runIrqOffMunmap(params: IrqOffMunmapParams = {}): {
  result: IrqOffMunmapResult;
  trace: ChromeTrace;
} {
  checkOptions("params", params, ["seed", "irqOffNs", "pages"], "irqoff-munmap");
  const seed = params.seed ?? 1;
  const irqOffNs = checkInt("irqOffNs", params.irqOffNs ?? 20_000, 0, 1e9, "irqoff-munmap");
  const pages = checkInt("pages", params.pages ?? 16, 1, 262_144, "irqoff-munmap");
  const sim = new Simulation({ seed });
  const m = new Machine(sim, { nrCpus: 2 });
  const k = new Kernel(m, {
    behaviour: {
      rcuTableFree: false,
      mmUsersShortcut: false,
      tableInvalidate: false,
      tableFlushIn: "tlbonly",
      freedTables: false,
      ptReclaimFallback: false,
    },
  });
  const x86 = installX86(k, { tableFreeVia: "tlb_remove_page", skipLazyUnlessFreedTables: false });
  const mm = k.mm_alloc();
  mmget(mm);
  const [c0, c1] = [m.cpu(0), m.cpu(1)];
  x86.switch_mm(c0, mm);
  x86.switch_mm(c1, mm);
  const base = 0x7f0000000000;
  let walkerIrqsOnAt = -1;
  let munmapStartAt = -1;
  let munmapDoneAt = -1;
  let tables: { pfn: number; level: string }[] = [];
  const mapped = sim.event("buffer mapped");
  const walking = sim.event("walker has IRQs off");
  c0.run(
    "munmap-thread",
    (function* (): Kfn<void> {
      yield* sys_mmap(k, c0, mm, {
        addr: base,
        length: pages * 4096,
        populate: true,
        name: "buffer",
      });
      const path = walkChecked(k, 0, mm, base).path;
      tables = path.slice(1).map((pfn) => ({ pfn, level: k.alloc.levelOf(pfn) ?? "?" }));
      mapped.succeed();
      // let the walker get going, then unmap under it
      yield waitFor(walking);
      yield 2_000;
      munmapStartAt = sim.now;
      yield* sys_munmap(k, c0, mm, base, pages * 4096);
      munmapDoneAt = sim.now;
    })(),
  );
  c1.run(
    "walker-thread",
    (function* (): Kfn<void> {
      // wait until the buffer exists, then walk it with IRQs off (gup_fast's discipline)
      yield waitFor(mapped);
      local_irq_disable(c1);
      walking.succeed();
      const walkStart = sim.now;
      const span = sim.trace.begin(1, "mmulab:gup_walk", { pages });
      while (sim.now - walkStart < irqOffNs) {
        walkChecked(k, 1, mm, base, "gup_fast");
        yield Math.min(1_000, irqOffNs - (sim.now - walkStart)) || 1;
      }
      sim.trace.end(span);
      walkerIrqsOnAt = sim.now;
      yield* local_irq_enable(c1);
    })(),
  );
  sim.run();
  const freed = tables.map(({ pfn, level }) => ({
    pfn,
    level,
    freedAt: [...k.alloc.history(pfn)].reverse().find((h) => h.what === "free")?.t ?? -1,
  }));
  return {
    result: {
      seed,
      irqOffNs,
      pages,
      walkerIrqsOnAt,
      munmapStartAt,
      munmapDoneAt,
      flushWaitNs: x86.stats.flushOthersNs,
      tablesFreed: freed,
      useAfterFree: k.oracle.reports.length,
      ipisSent: m.ipisSent,
      traceCounts: Object.fromEntries(sim.trace.countByName()),
    },
    trace: sim.trace.toChrome({ scenario: "irqoff-munmap", seed }),
  };
}
