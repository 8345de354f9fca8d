/**
 * struct mmu_gather and its operations, as v4.14 has them (include/asm-generic/tlb.h,
 * mm/memory.c), with the later versions' differences as switches read from
 * `kernel.behaviour` (reference/kernel.md §1.2, §4):
 *
 *   rule: unhook the page (clear the parent entry), invalidate the TLB, then free — never free
 *   a page while a translation to it may still be used. For page tables the "translation" also
 *   includes a lockless walker (gup_fast) that read the parent entry before it was cleared.
 *
 * Data pages gather in `local` (MMU_GATHER_BUNDLE = 8) and then in batch pages of
 * MAX_GATHER_BATCH = 510, at most MAX_GATHER_BATCH_COUNT = 19 of them. With
 * HAVE_RCU_TABLE_FREE, page tables gather in one mmu_table_batch page of MAX_TABLE_BATCH = 509
 * and go to RCU in one call_rcu_sched.
 *
 * The race this file is about: on native x86 the flush in tlb_flush_mmu_tlbonly is an IPI the
 * freeing CPU waits for, so an IRQ-off walker holds it up; a paravirt flush by hypercall does
 * not wait, so the tables must instead wait for an RCU-sched grace period — which IRQ-off also
 * holds up. v4.14 leaves three holes (no flush before the batch-full and allocation-failure
 * frees; the mm_users < 2 shortcut), closed in v4.19 by `tableInvalidate` and dropping
 * `mmUsersShortcut`.
 */
import type { Cpu } from "../hw/cpu.js";
import { smp_call_function } from "../hw/smp.js";
import { KernelStateError } from "../sim/errors.js";
import { runRest, type Kfn, type KfnOrDone } from "../sim/process.js";
import type { Kernel } from "./kernel.js";
import type { MmStruct } from "./mm-struct.js";
import { FrameState } from "./page-alloc.js";
import { TLB_FLUSH_ALL, taskSize } from "./pgtable.js";

export const MMU_GATHER_BUNDLE = 8;
/** (PAGE_SIZE − sizeof(struct mmu_gather_batch)) / sizeof(void *) = (4096 − 16) / 8. */
export const MAX_GATHER_BATCH = 510;
/** 10000UL / MAX_GATHER_BATCH. */
export const MAX_GATHER_BATCH_COUNT = Math.floor(10000 / MAX_GATHER_BATCH);
/** (PAGE_SIZE − sizeof(struct mmu_table_batch)) / sizeof(void *) = (4096 − 24) / 8. */
export const MAX_TABLE_BATCH = 509;

/** struct mmu_gather_batch: `frame` is the batch page, −1 for the on-stack local batch. */
export interface MmuGatherBatch {
  next: MmuGatherBatch | null;
  nr: number;
  readonly max: number;
  readonly pages: number[];
  readonly frame: number;
}

/** struct mmu_table_batch (one page; `frame` is that page). */
export interface MmuTableBatch {
  readonly frame: number;
  nr: number;
  readonly tables: number[];
}

export class MmuGather {
  readonly mm: MmStruct;
  /** HAVE_RCU_TABLE_FREE: the table batch being filled, null before the first table. */
  batch: MmuTableBatch | null = null;
  start = 0;
  end = 0;
  fullmm: boolean;
  need_flush_all = false;
  active: MmuGatherBatch;
  readonly local: MmuGatherBatch;
  batch_count = 0;
  page_size = 0;
  /** v4.20+: a page table was freed in this gather (flush lazy CPUs too). */
  freed_tables = false;
  /** v4.20+: which levels of entries this gather cleared (tlb_flush_pte_range and friends);
   * x86 flushes in strides of the smallest (tlb_get_unmap_shift). */
  cleared_ptes = false;
  cleared_pmds = false;
  cleared_puds = false;
  cleared_p4ds = false;
  /** Who is doing this (for histories and traces). */
  readonly by: string;

  constructor(mm: MmStruct, fullmm: boolean, by: string) {
    this.mm = mm;
    this.fullmm = fullmm;
    this.local = { next: null, nr: 0, max: MMU_GATHER_BUNDLE, pages: [], frame: -1 };
    this.active = this.local;
    this.by = by;
  }
}

/** __tlb_reset_range (v4.14; v4.20+ also clears freed_tables and the cleared levels). */
export function __tlb_reset_range(k: Kernel, tlb: MmuGather): void {
  if (tlb.fullmm) {
    tlb.start = tlb.end = TLB_FLUSH_ALL;
  } else {
    tlb.start = taskSize(k.levels);
    tlb.end = 0;
  }
  if (k.behaviour.freedTables) {
    tlb.freed_tables = false;
    tlb.cleared_ptes = tlb.cleared_pmds = tlb.cleared_puds = tlb.cleared_p4ds = false;
  }
}

/** Whether the gather has anything to flush: v4.14 looks at the range (a fullmm gather always
 * flushes); v4.20+ at the levels cleared and freed_tables ("anything calling
 * __tlb_adjust_range() also sets at least one of these bits"). */
function tlb_needs_flush(k: Kernel, tlb: MmuGather): boolean {
  if (!k.behaviour.freedTables) return tlb.end !== 0;
  return (
    tlb.freed_tables || tlb.cleared_ptes || tlb.cleared_pmds || tlb.cleared_puds || tlb.cleared_p4ds
  );
}

/** __tlb_adjust_range. */
export function __tlb_adjust_range(tlb: MmuGather, address: number, size: number): void {
  tlb.start = Math.min(tlb.start, address);
  tlb.end = Math.max(tlb.end, address + size);
}

/** tlb_gather_mmu (v4.14: arch_tlb_gather_mmu + inc_tlb_flush_pending). fullmm when the range
 * is the whole address space (start 0, end ~0). */
export function tlb_gather_mmu(
  k: Kernel,
  cpu: Cpu,
  mm: MmStruct,
  start: number,
  end: number,
): MmuGather {
  const tlb = new MmuGather(mm, start === 0 && end === TLB_FLUSH_ALL, `cpu${cpu.id}`);
  __tlb_reset_range(k, tlb);
  mm.tlb_flush_pending++;
  return tlb;
}

/** tlb_table_invalidate (v4.19+, HAVE_RCU_TABLE_INVALIDATE): flush before tables are freed. */
function* tlb_table_invalidate(k: Kernel, cpu: Cpu, tlb: MmuGather): Kfn<void> {
  if (k.behaviour.tableInvalidate) yield* tlb_flush_mmu_tlbonly(k, cpu, tlb);
}

/**
 * tlb_flush_mmu_tlbonly (mm/memory.c v4.14; an inline in tlb.h from v4.19): the TLB flush, and
 * in v4.14 — after it — the hand-off of the table batch to RCU.
 */
export function* tlb_flush_mmu_tlbonly(k: Kernel, cpu: Cpu, tlb: MmuGather): Kfn<void> {
  if (!tlb_needs_flush(k, tlb)) return;
  k.stats.tlbFlushes++;
  yield* k.archOps.tlb_flush(cpu, tlb);
  if (k.behaviour.rcuTableFree && k.behaviour.tableFlushIn === "tlbonly")
    yield* tlb_table_flush(k, cpu, tlb);
  __tlb_reset_range(k, tlb);
}

/** tlb_flush_mmu_free: frees the gathered pages (and, v4.19+, hands the table batch to RCU). */
export function* tlb_flush_mmu_free(k: Kernel, cpu: Cpu, tlb: MmuGather): Kfn<void> {
  if (k.behaviour.rcuTableFree && k.behaviour.tableFlushIn === "free")
    yield* tlb_table_flush(k, cpu, tlb);
  for (let b: MmuGatherBatch | null = tlb.local; b !== null && b.nr > 0; b = b.next) {
    yield* free_pages_and_swap_cache(k, cpu, b.pages.splice(0, b.nr), tlb.by);
    b.nr = 0;
  }
  tlb.active = tlb.local;
}

/** free_pages_and_swap_cache: the pages (and, before v4.14 on x86, page tables) go back to the
 * allocator. */
function* free_pages_and_swap_cache(k: Kernel, cpu: Cpu, pages: number[], by: string): Kfn<void> {
  const a = k.alloc;
  for (const pfn of pages) {
    if (a.stateOf(pfn) === FrameState.UNLINKED) k.stats.tablesFreedDirect++;
    else k.stats.pagesFreed++;
    a.freePage(pfn, by, "free_pages_and_swap_cache");
  }
  if (pages.length > 0) yield k.machine.jitter(pages.length * k.machine.costs.pageFreeNs);
}

/** tlb_flush_mmu = tlbonly + free. */
export function* tlb_flush_mmu(k: Kernel, cpu: Cpu, tlb: MmuGather): Kfn<void> {
  yield* tlb_flush_mmu_tlbonly(k, cpu, tlb);
  yield* tlb_flush_mmu_free(k, cpu, tlb);
}

/**
 * tlb_finish_mmu (v4.14): if another thread is batching on this mm (mm_tlb_flush_nested), widen
 * the flush to the whole range this gather covered — from v5.2 ("mm: mmu_gather: remove
 * __tlb_reset_range() for force flush") a full flush with freed_tables, so lazy CPUs are IPI'd
 * too; flush and free; release the batch pages.
 */
export function* tlb_finish_mmu(
  k: Kernel,
  cpu: Cpu,
  tlb: MmuGather,
  start: number,
  end: number,
): Kfn<void> {
  if (tlb.mm.mm_tlb_flush_nested()) {
    if (k.behaviour.freedTables) {
      // v5.2+: force fullmm and freed_tables so a racing gather cannot skip the flush.
      tlb.fullmm = true;
      __tlb_reset_range(k, tlb);
      tlb.freed_tables = true;
    } else {
      __tlb_adjust_range(tlb, start, end - start);
    }
  }
  yield* tlb_flush_mmu(k, cpu, tlb);
  // free the batch pages: local.next chain
  let b = tlb.local.next;
  while (b !== null) {
    const next: MmuGatherBatch | null = b.next;
    k.alloc.freePage(b.frame, tlb.by, "tlb_finish_mmu");
    b = next;
  }
  tlb.local.next = null;
  tlb.mm.tlb_flush_pending--;
}

/** tlb_next_batch: move to (or allocate, GFP_NOWAIT) the next batch page. */
function tlb_next_batch(k: Kernel, tlb: MmuGather): boolean {
  const batch = tlb.active;
  if (batch.next !== null) {
    tlb.active = batch.next;
    return true;
  }
  if (tlb.batch_count === MAX_GATHER_BATCH_COUNT) return false;
  const frame = k.alloc.alloc(
    { kind: "batch", of: "pages" },
    "GFP_NOWAIT",
    `${tlb.by} tlb_next_batch`,
  );
  if (frame < 0) return false;
  tlb.batch_count++;
  const b: MmuGatherBatch = { next: null, nr: 0, max: MAX_GATHER_BATCH, pages: [], frame };
  batch.next = b;
  tlb.active = b;
  return true;
}

/** __tlb_remove_page_size: queue a page; true means "flush now" (batches full or no memory). */
export function __tlb_remove_page_size(k: Kernel, tlb: MmuGather, pfn: number): boolean {
  const batch = tlb.active;
  batch.pages.push(pfn);
  batch.nr++;
  if (batch.nr === batch.max && !tlb_next_batch(k, tlb)) return true;
  return false;
}

/** tlb_remove_page: queue, and flush at once if the gather is full. */
export function* tlb_remove_page(k: Kernel, cpu: Cpu, tlb: MmuGather, pfn: number): Kfn<void> {
  yield* runRest(tlb_remove_page_inline(k, cpu, tlb, pfn));
}

/** {@link tlb_remove_page} as a plain call: null, or the flush to run now. */
export function tlb_remove_page_inline(
  k: Kernel,
  cpu: Cpu,
  tlb: MmuGather,
  pfn: number,
): KfnOrDone {
  return __tlb_remove_page_size(k, tlb, pfn) ? tlb_flush_mmu(k, cpu, tlb) : null;
}

/**
 * tlb_remove_table (mm/memory.c v4.14, HAVE_RCU_TABLE_FREE). Queues a page table in the batch
 * page, allocating it on first use with GFP_NOWAIT; on failure frees this one table through
 * tlb_remove_table_one. A full batch goes to RCU at once — in v4.14 without a TLB flush first.
 * v4.14–v4.18 free immediately when mm_users < 2 ("no concurrent walkers").
 */
export function* tlb_remove_table(k: Kernel, cpu: Cpu, tlb: MmuGather, table: number): Kfn<void> {
  yield* runRest(tlb_remove_table_inline(k, cpu, tlb, table));
}

/** {@link tlb_remove_table} as a plain call: null once the table is queued in the batch, or
 * the rest of the path (shortcut free, fallback, or the full batch's hand-off) to run now. */
export function tlb_remove_table_inline(
  k: Kernel,
  cpu: Cpu,
  tlb: MmuGather,
  table: number,
): KfnOrDone {
  const b = k.behaviour;
  if (!b.rcuTableFree)
    throw new KernelStateError(
      "tlb_remove_table",
      "this profile has no HAVE_RCU_TABLE_FREE; tables go through tlb_remove_page",
    );
  if (b.mmUsersShortcut && tlb.mm.mm_users < 2) {
    k.stats.mmUsersShortcuts++;
    return tlb_remove_table_now(k, cpu, tlb, table);
  }
  if (tlb.batch === null) {
    const frame = k.alloc.alloc(
      { kind: "batch", of: "tables" },
      "GFP_NOWAIT",
      `${tlb.by} tlb_remove_table`,
    );
    if (frame < 0) return tlb_remove_table_fallback(k, cpu, tlb, table);
    tlb.batch = { frame, nr: 0, tables: [] };
  }
  tlb.batch.tables.push(table);
  tlb.batch.nr++;
  return tlb.batch.nr === MAX_TABLE_BATCH ? tlb_table_flush(k, cpu, tlb) : null;
}

/** v4.14–v4.18: mm_users < 2, no concurrent walker can exist: free the table at once. Returns
 * the time the free takes. */
function tlb_remove_table_now(k: Kernel, cpu: Cpu, tlb: MmuGather, table: number): number {
  const ns = k.archOps.__tlb_remove_table(cpu, table, tlb.by, "tlb_remove_table (mm_users < 2)");
  k.stats.tablesFreedDirect++;
  return ns;
}

/** No batch page: invalidate first (v4.19+), then tlb_remove_table_one. */
function* tlb_remove_table_fallback(k: Kernel, cpu: Cpu, tlb: MmuGather, table: number): Kfn<void> {
  yield* tlb_table_invalidate(k, cpu, tlb);
  yield* tlb_remove_table_one(k, cpu, tlb, table);
}

/**
 * tlb_remove_table_one: no batch page, so make sure no IRQ-off walker can still be inside this
 * table — an empty IPI to every other online CPU, waited for — then free it. This is not a grace
 * period: it covers only walkers that rely on IRQs off. With PT_RECLAIM (v6.14) the table is
 * freed through call_rcu instead.
 */
export function* tlb_remove_table_one(
  k: Kernel,
  cpu: Cpu,
  tlb: MmuGather,
  table: number,
): Kfn<void> {
  k.stats.removeTableOne++;
  if (k.behaviour.ptReclaimFallback) {
    k.alloc.setTableState(table, FrameState.PENDING_RCU, tlb.by, "tlb_remove_table_one");
    k.pendingRcu(1);
    yield* k.rcuOps.call_rcu(
      cpu,
      function* __tlb_remove_table_one_rcu(c: Cpu): Kfn<void> {
        yield k.archOps.__tlb_remove_table(c, table, `cpu${c.id}`, "__tlb_remove_table_one_rcu");
        k.pendingRcu(-1);
        k.stats.tablesFreedRcu++;
      },
      "__tlb_remove_table_one_rcu",
    );
    return;
  }
  yield* tlb_remove_table_sync_one(k, cpu);
  yield k.archOps.__tlb_remove_table(cpu, table, tlb.by, "tlb_remove_table_one");
  k.stats.tablesFreedDirect++;
}

/** tlb_remove_table_smp_sync: "Simply deliver the interrupt". */
function* tlb_remove_table_smp_sync(): Kfn<void> {}

/**
 * tlb_remove_table_sync_one (mm/mmu_gather.c; static before v6.1, exported by 2ba99c5e0881 for
 * khugepaged): an empty IPI to every other online CPU, waited for. Not a grace period: enough
 * for software walkers that rely on IRQs off, nothing else. Without MMU_GATHER_RCU_TABLE_FREE it
 * is an empty stub, because then the TLB flush before it already was such an IPI.
 */
export function* tlb_remove_table_sync_one(k: Kernel, cpu: Cpu): Kfn<void> {
  if (!k.behaviour.rcuTableFree) return;
  yield* smp_call_function(cpu, tlb_remove_table_smp_sync, true);
}

/** tlb_table_flush: hand the batch to RCU (v4.19+: after tlb_table_invalidate). */
export function* tlb_table_flush(k: Kernel, cpu: Cpu, tlb: MmuGather): Kfn<void> {
  if (tlb.batch === null) return;
  yield* tlb_table_invalidate(k, cpu, tlb);
  const batch = tlb.batch;
  if (batch === null) return;
  tlb.batch = null;
  for (const t of batch.tables)
    k.alloc.setTableState(t, FrameState.PENDING_RCU, tlb.by, "call_rcu_sched");
  k.pendingRcu(batch.tables.length);
  k.stats.tableBatches++;
  k.sim.trace.instant(cpu.id, "mmulab:tlb_table_flush", { tables: batch.nr });
  yield* k.rcuOps.call_rcu(
    cpu,
    (c: Cpu) => tlb_remove_table_rcu(k, c, batch),
    "tlb_remove_table_rcu",
  );
}

/** tlb_remove_table_rcu: the RCU callback — free every table of the batch, then the batch page. */
export function* tlb_remove_table_rcu(k: Kernel, cpu: Cpu, batch: MmuTableBatch): Kfn<void> {
  for (const t of batch.tables) {
    yield k.archOps.__tlb_remove_table(cpu, t, `cpu${cpu.id}`, "tlb_remove_table_rcu");
    k.stats.tablesFreedRcu++;
  }
  k.pendingRcu(-batch.tables.length);
  k.alloc.freePage(batch.frame, `cpu${cpu.id} tlb_remove_table_rcu`);
}
