import { describe, expect, it } from "vitest";
import { flush_tlb_mm_range } from "../../src/arch/x86/index.js";
import { local_irq_disable, local_irq_enable } from "../../src/hw/index.js";
import {
  mmget,
  sys_mmap,
  sys_munmap,
  tlb_finish_mmu,
  tlb_gather_mmu,
  TLB_FLUSH_ALL,
} from "../../src/mm/index.js";
import type { Kfn } from "../../src/sim/index.js";
import { makeKernel, runOn, V4_13 } from "../support/kernel.js";

describe("flush_tlb_mm_range", () => {
  it("flushes page by page up to the 33-page ceiling, then does one full flush", () => {
    for (const [pages, one, all] of [
      [33, 33, 0],
      [34, 0, 1],
    ] as const) {
      const t = makeKernel({ nrCpus: 2 });
      const mm = t.k.mm_alloc();
      t.x86.switch_mm(t.m.cpu(0), mm);
      t.x86.switch_mm(t.m.cpu(1), mm);
      runOn(
        t,
        0,
        flush_tlb_mm_range(t.x86, t.m.cpu(0), mm, 0x400000, 0x400000 + pages * 4096, false),
      );
      // local and remote: each CPU flushes once
      expect(t.x86.stats.localFlushOne).toBe(2 * one);
      expect(t.x86.stats.localFlushAll).toBe(2 * all);
      expect(t.x86.stats.remoteFlushesReceived).toBe(1);
      expect(mm.tlb_gen).toBe(1);
    }
  });

  it("a lazy CPU leaves the mm when a flush reaches it (v4.14); v4.20+ skips it unless tables were freed", () => {
    const t = makeKernel({ nrCpus: 2 });
    const mm = t.k.mm_alloc();
    t.x86.switch_mm(t.m.cpu(0), mm);
    t.x86.switch_mm(t.m.cpu(1), mm);
    t.x86.enter_lazy_tlb(t.m.cpu(1));
    runOn(t, 0, flush_tlb_mm_range(t.x86, t.m.cpu(0), mm, 0, TLB_FLUSH_ALL, false));
    expect(t.x86.state(t.m.cpu(1)).loaded_mm).toBe(null);
    expect(mm.cpumask.has(1)).toBe(false);

    const u = makeKernel({
      nrCpus: 2,
      profile: {
        gather: { ...V4_13.gather, freedTables: true },
        x86: { tableFreeVia: "tlb_remove_page", skipLazyUnlessFreedTables: true },
      },
    });
    const mm2 = u.k.mm_alloc();
    u.x86.switch_mm(u.m.cpu(0), mm2);
    u.x86.switch_mm(u.m.cpu(1), mm2);
    u.x86.enter_lazy_tlb(u.m.cpu(1));
    runOn(u, 0, flush_tlb_mm_range(u.x86, u.m.cpu(0), mm2, 0, TLB_FLUSH_ALL, false));
    expect(u.m.ipisSent).toBe(0);
    expect(mm2.cpumask.has(1)).toBe(true);
    runOn(u, 0, flush_tlb_mm_range(u.x86, u.m.cpu(0), mm2, 0, TLB_FLUSH_ALL, true));
    expect(u.m.ipisSent).toBe(1);
    expect(mm2.cpumask.has(1)).toBe(false);
  });

  it("tlb_finish_mmu widens the flush to the whole range when another gather is running (mm_tlb_flush_nested)", () => {
    const t = makeKernel({ nrCpus: 1 });
    const mm = t.k.mm_alloc();
    t.x86.switch_mm(t.m.cpu(0), mm);
    const pages: number[] = [];
    runOn(
      t,
      0,
      (function* (): Kfn<void> {
        const other = tlb_gather_mmu(t.k, t.m.cpu(0), mm, 0, 0x1000);
        const tlb = tlb_gather_mmu(t.k, t.m.cpu(0), mm, 0x400000, 0x800000);
        expect(mm.mm_tlb_flush_nested()).toBe(true);
        // nothing gathered in `tlb`: without the nested rule it would not flush at all
        yield* tlb_finish_mmu(t.k, t.m.cpu(0), tlb, 0x400000, 0x800000);
        pages.push(t.x86.stats.localFlushOne, t.x86.stats.localFlushAll);
        yield* tlb_finish_mmu(t.k, t.m.cpu(0), other, 0, 0x1000);
      })(),
    );
    // 4 MiB is over the 33-page ceiling: one full flush forced by the nested gather
    expect(pages).toEqual([0, 1]);
    expect(mm.tlb_flush_pending).toBe(0);
  });

  it("a thread on another CPU keeps IRQs off: munmap of a two-thread mm waits in flush_tlb_others", () => {
    const t = makeKernel({ nrCpus: 2, profile: V4_13 });
    const mm = t.k.mm_alloc();
    mmget(mm);
    t.x86.switch_mm(t.m.cpu(0), mm);
    t.x86.switch_mm(t.m.cpu(1), mm);
    runOn(t, 0, sys_mmap(t.k, t.m.cpu(0), mm, { addr: 0x400000, length: 4096, populate: true }));
    t.m.cpu(1).run(
      "irqoff",
      (function* (): Kfn<void> {
        local_irq_disable(t.m.cpu(1));
        yield 100_000;
        yield* local_irq_enable(t.m.cpu(1));
      })(),
    );
    runOn(t, 0, sys_munmap(t.k, t.m.cpu(0), mm, 0x400000, 4096));
    expect(t.x86.stats.flushOthersNs).toBeGreaterThan(95_000);
  });
});
