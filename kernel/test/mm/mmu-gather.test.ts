import { describe, expect, it } from "vitest";
import {
  __tlb_remove_page_size,
  FrameState,
  MAX_GATHER_BATCH,
  MAX_GATHER_BATCH_COUNT,
  MAX_TABLE_BATCH,
  MMU_GATHER_BUNDLE,
  sys_mmap,
  sys_munmap,
  sys_touch,
  tlb_finish_mmu,
  tlb_gather_mmu,
  tlb_remove_table,
  TLB_FLUSH_ALL,
  type MmStruct,
} from "../../src/mm/index.js";
import { mmput } from "../../src/mm/mmap.js";
import { buildSystem } from "../../src/system/build.js";
import { runRest, type Kfn } from "../../src/sim/index.js";
import { nativeBackend } from "../../src/arch/x86/index.js";
import { makeKernel, runOn, V4_14, V4_19, type TestKernel } from "../support/kernel.js";

function withMm(t: TestKernel): MmStruct {
  const mm = t.k.mm_alloc();
  t.x86.switch_mm(t.m.cpu(0), mm);
  return mm;
}

describe("struct mmu_gather constants (v4.14, x86-64)", () => {
  it("match the header's arithmetic", () => {
    expect(MMU_GATHER_BUNDLE).toBe(8);
    expect(MAX_GATHER_BATCH).toBe((4096 - 16) / 8);
    expect(MAX_GATHER_BATCH_COUNT).toBe(19);
    expect(MAX_TABLE_BATCH).toBe(Math.floor((4096 - 24) / 8));
  });
});

describe("page batching", () => {
  it("allocates a batch page when the local bundle fills, the next at the 510th page, and reports full after 8 + 19 × 510", () => {
    const t = makeKernel();
    const mm = withMm(t);
    const tlb = tlb_gather_mmu(t.k, t.m.cpu(0), mm, 0, TLB_FLUSH_ALL);
    const page = () => t.k.pt.allocData(mm.id);
    for (let i = 0; i < MMU_GATHER_BUNDLE - 1; i++)
      expect(__tlb_remove_page_size(t.k, tlb, page())).toBe(false);
    expect(tlb.batch_count).toBe(0);
    __tlb_remove_page_size(t.k, tlb, page()); // 8th: local full → first batch page
    expect(tlb.batch_count).toBe(1);
    for (let i = 0; i < MAX_GATHER_BATCH - 1; i++) __tlb_remove_page_size(t.k, tlb, page());
    expect(tlb.batch_count).toBe(1);
    __tlb_remove_page_size(t.k, tlb, page()); // the 510th page of batch 1 → batch 2
    expect(tlb.batch_count).toBe(2);
    let queued = MMU_GATHER_BUNDLE + MAX_GATHER_BATCH;
    let full = false;
    while (!full) {
      full = __tlb_remove_page_size(t.k, tlb, page());
      queued++;
    }
    expect(queued).toBe(MMU_GATHER_BUNDLE + MAX_GATHER_BATCH_COUNT * MAX_GATHER_BATCH);
    expect(tlb.batch_count).toBe(MAX_GATHER_BATCH_COUNT);
  });

  it("a failed GFP_NOWAIT batch allocation makes zap flush early, and nothing leaks", () => {
    const t = makeKernel({ nrCpus: 1 });
    const mm = withMm(t);
    runOn(
      t,
      0,
      sys_mmap(t.k, t.m.cpu(0), mm, { addr: 0x400000, length: 64 * 4096, populate: true }),
    );
    const flushesBefore = t.k.stats.tlbFlushes;
    t.k.alloc.failNextNowait(1);
    runOn(t, 0, sys_munmap(t.k, t.m.cpu(0), mm, 0x400000, 64 * 4096));
    // the 8th page found no batch page: flush + free, then go on
    expect(t.k.stats.tlbFlushes - flushesBefore).toBeGreaterThanOrEqual(2);
    expect(t.k.stats.pagesFreed).toBe(64);
    expect(t.k.alloc.stats.nowaitFailures).toBe(1);
  });
});

describe("tlb_remove_table (HAVE_RCU_TABLE_FREE)", () => {
  /** Queues `n` fresh pte tables of a two-user mm into one gather on cpu0. */
  function queueTables(t: TestKernel, mm: MmStruct, n: number, finish = true): Kfn<number[]> {
    const { k, m } = t;
    return (function* (): Kfn<number[]> {
      const tlb = tlb_gather_mmu(k, m.cpu(0), mm, 0x400000, 0x400000 + n * 2 ** 21);
      const tables: number[] = [];
      for (let i = 0; i < n; i++) {
        const pfn = k.pt.allocTable("pte", mm.id);
        k.alloc.setTableState(pfn, FrameState.UNLINKED);
        tables.push(pfn);
        tlb.start = Math.min(tlb.start, 0x400000);
        tlb.end = 0x400000 + (i + 1) * 4096;
        yield* runRest(tlb_remove_table(k, m.cpu(0), tlb, pfn));
      }
      if (finish) yield* tlb_finish_mmu(k, m.cpu(0), tlb, 0x400000, 0x400000 + n * 2 ** 21);
      return tables;
    })();
  }

  it("hands a full batch to RCU at the 509th table, and frees only after the grace period", () => {
    const t = makeKernel({ rcuDelayNs: 5_000_000 });
    const mm = withMm(t);
    mm.mm_users = 2;
    let tables: number[] = [];
    t.m.cpu(0).run(
      "q",
      (function* (): Kfn<void> {
        tables = yield* queueTables(t, mm, MAX_TABLE_BATCH, false);
      })(),
    );
    t.sim.run({ until: 4_000_000 });
    expect(t.rcu.calls).toBe(1); // the 509th table flushed the batch by itself
    expect(tables.every((p) => t.k.alloc.stateOf(p) === FrameState.PENDING_RCU)).toBe(true);
    t.sim.run();
    expect(tables.every((p) => t.k.alloc.stateOf(p) === FrameState.FREE)).toBe(true);
    expect(t.k.stats.tablesFreedRcu).toBe(MAX_TABLE_BATCH);
  });

  it("v4.14: no TLB flush before a batch-full hand-off; v4.19: tlb_table_invalidate flushes first", () => {
    for (const [profile, flushesExpected] of [
      [V4_14, 0],
      [V4_19, 1],
    ] as const) {
      const t = makeKernel({ profile });
      const mm = withMm(t);
      mm.mm_users = 2;
      t.m.cpu(0).run(
        "q",
        (function* (): Kfn<void> {
          yield* queueTables(t, mm, MAX_TABLE_BATCH, false);
        })(),
      );
      t.sim.run({ until: 10_000 });
      expect(t.rcu.calls).toBe(1);
      expect(t.k.stats.tlbFlushes).toBe(flushesExpected);
    }
  });

  it("a table's history names the CPU and the path of each step: unlink, RCU hand-off, free", () => {
    const steps = (t: TestKernel, pfn: number) =>
      t.k.alloc.history(pfn).map((h) => `${h.what} | ${h.by ?? ""}`);
    // v4.14 shortcut (mm_users < 2): unlinked, then freed at once by tlb_remove_table
    const pv = { ...nativeBackend, name: "test-pv", paravirtRemoveTable: true };
    const a = makeKernel({ nrCpus: 1, backend: pv });
    const mmA = withMm(a);
    runOn(a, 0, sys_mmap(a.k, a.m.cpu(0), mmA, { addr: 0x400000, length: 4096, populate: true }));
    const pte = Array.from({ length: a.k.alloc.framesCreated }, (_, pfn) => pfn).filter((pfn) =>
      a.k.alloc.history(pfn).some((h) => h.what.startsWith("alloc pte table")),
    );
    expect(pte).toHaveLength(1);
    runOn(a, 0, sys_munmap(a.k, a.m.cpu(0), mmA, 0x400000, 4096));
    expect(steps(a, pte[0]!).slice(-2)).toEqual([
      "unlinked from parent | cpu0 free_pgtables",
      "free | cpu0 tlb_remove_table (mm_users < 2)",
    ]);
    // a full batch: handed to RCU by the gathering CPU, freed by the RCU callback's CPU
    const b = makeKernel({ rcuDelayNs: 5_000_000 });
    const mmB = withMm(b);
    mmB.mm_users = 2;
    const tables = runOn(b, 0, queueTables(b, mmB, MAX_TABLE_BATCH, false));
    const last = steps(b, tables[0]!).slice(-2);
    expect(last[0]).toBe("handed to RCU | cpu0 call_rcu_sched");
    expect(last[1]).toMatch(/^free \| cpu\d tlb_remove_table_rcu$/);
    // the same two parts name a double free
    expect(() => b.k.alloc.freePage(tables[0]!, "cpu1", "tlb_remove_table_rcu")).toThrow(
      new RegExp(`double free of frame ${tables[0]} by cpu1 tlb_remove_table_rcu`),
    );
  });

  it("a failed batch-page allocation takes tlb_remove_table_one: an IPI to every other CPU, then an immediate free", () => {
    const t = makeKernel({ nrCpus: 4 });
    const mm = withMm(t);
    mm.mm_users = 2;
    t.k.alloc.failNextNowait(1);
    const tables = runOn(t, 0, queueTables(t, mm, 1));
    expect(t.k.stats.removeTableOne).toBe(1);
    expect(t.rcu.calls).toBe(0);
    // smp_call_function goes to all online CPUs, not only mm_cpumask (which is just cpu0 here)
    expect([1, 2, 3].map((c) => t.m.cpu(c).stats.irqs.CALL_FUNCTION)).toEqual([1, 1, 1]);
    expect(t.k.alloc.stateOf(tables[0]!)).toBe(FrameState.FREE);
  });

  it("v4.14 frees at once when mm_users < 2; v4.19 batches anyway (for a paravirt flush)", () => {
    // v4.19 routes tables through tlb_remove_table only when the flush backend is paravirt
    const pv = { ...nativeBackend, name: "test-pv", paravirtRemoveTable: true };
    for (const [profile, rcuCalls] of [
      [V4_14, 0],
      [V4_19, 1],
    ] as const) {
      const t = makeKernel({ nrCpus: 1, profile, backend: pv });
      const mm = withMm(t);
      runOn(t, 0, sys_mmap(t.k, t.m.cpu(0), mm, { addr: 0x400000, length: 4096 }));
      runOn(t, 0, sys_touch(t.k, t.m.cpu(0), mm, 0x400000));
      runOn(t, 0, sys_munmap(t.k, t.m.cpu(0), mm, 0x400000, 4096));
      expect(t.rcu.calls).toBe(rcuCalls);
      expect(t.k.stats.mmUsersShortcuts).toBe(rcuCalls === 0 ? 3 : 0);
    }
    // and with the native backend v4.19 frees tables like v4.13: through tlb_remove_page
    const t = makeKernel({ nrCpus: 1, profile: V4_19 });
    const mm = withMm(t);
    runOn(t, 0, sys_mmap(t.k, t.m.cpu(0), mm, { addr: 0x400000, length: 4096, populate: true }));
    runOn(t, 0, sys_munmap(t.k, t.m.cpu(0), mm, 0x400000, 4096));
    expect(t.rcu.calls).toBe(0);
    expect(t.k.stats.tablesFreedDirect).toBe(3);
  });
});

describe("exit_mmap's flushes (0758cd830494, v5.5: asm-generic/tlb: avoid potential double flush)", () => {
  /** flush_tlb_mm_range calls made by the exit of a process with a populated 16-page mapping. */
  function exitFlushes(profile: string, backend: string): number {
    const { sim, m, k, x86, rcu } = buildSystem({ profile, backend, nrCpus: 2, seed: 1 });
    rcu.start();
    const mm = k.mm_alloc();
    const cpu = m.cpu(0);
    x86.switch_mm(cpu, mm);
    let before = -1;
    cpu.run(
      "exit",
      (function* (): Kfn<void> {
        yield* sys_mmap(k, cpu, mm, { addr: 0x7f00_0000_0000, length: 16 * 4096, populate: true });
        before = x86.stats.mmRangeFlushes;
        yield* mmput(k, cpu, mm);
      })(),
    );
    sim.run({ until: 50_000_000 });
    rcu.stop();
    sim.run();
    expect(mm.exited).toBe(true);
    return x86.stats.mmRangeFlushes - before;
  }

  it("a fullmm gather whose tables go through the batch flushes twice on v4.19 and once from v5.5", () => {
    // v4.19: __tlb_reset_range leaves a fullmm gather's end at ~0, so tlb_table_invalidate's
    // tlb_flush_mmu_tlbonly in tlb_flush_mmu_free flushes a second time
    expect(exitFlushes("v4.19", "xen-pv")).toBe(2);
    // tables on tlb_remove_page (native: the paravirt hook): no table batch, one flush
    expect(exitFlushes("v4.19", "native")).toBe(1);
    // v5.5+: tlbonly flushes only if freed_tables or a cleared_* bit is set, and those are reset
    for (const profile of ["v5.10", "v6.1", "v6.15"])
      for (const backend of ["xen-pv", "kvm-pv", "native"])
        expect(exitFlushes(profile, backend), `${profile} ${backend}`).toBe(1);
  });
});
