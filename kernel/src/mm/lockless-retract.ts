/**
 * khugepaged's file/shmem collapse, at the step that frees page tables (mm/khugepaged.c):
 * collapse_file has put a huge folio in the page cache and unmapped the small pages from every
 * mm; retract_page_tables then takes the now-empty pte table out of each mm that maps the range
 * PMD-aligned, so the next fault can map the huge page with one pmd.
 *
 * v6.6 (1d65b771bc08 "mm/khugepaged: retract_page_tables() without mmap or vma lock", Hugh
 * Dickins) does this under the file's i_mmap lock only — no mmap lock of the mm it takes the
 * table from — so the mm's own pte_offset_map() walkers (mm/pte-map.ts) may be inside the table
 * under rcu_read_lock(); the table is freed by pte_free_defer() (13cf577e6b66): call_rcu to
 * pte_free_now. v6.1's collapse_and_free_pmd freed it with pte_free() right after
 * tlb_remove_table_sync_one() (2ba99c5e0881), an IPI that only IRQ-off walkers wait on: the
 * profile switch `retractFree` keeps that way as a counterfactual.
 *
 *   retract_page_tables(mapping, pgoff):
 *     i_mmap_lock_read(mapping)
 *     for each vma mapping pgoff, PMD-aligned, without anon_vma:
 *       find_pmd_or_thp_or_none → a pmd pointing at a pte table
 *       pml = pmd_lock(mm, pmd); ptl = pte_lockptr(mm, pmd); spin_lock_nested(ptl)
 *       pgt_pmd = pmdp_collapse_flush(vma, addr, pmd)   (pmdp_huge_get_and_clear + flush_tlb_range)
 *       spin_unlock(ptl); spin_unlock(pml)
 *       mm_dec_nr_ptes(mm); pte_free_defer(mm, pmd_pgtable(pgt_pmd))
 *     i_mmap_unlock_read(mapping)
 *
 * Left out: the huge folio, the page cache, mmu_notifier ranges (no secondary MMU here),
 * userfaultfd-wp, and khugepaged's scan; the caller does collapse_file's unmapping.
 */
import type { Cpu } from "../hw/cpu.js";
import type { Kfn } from "../sim/process.js";
import type { Kernel } from "./kernel.js";
import type { MmStruct } from "./mm-struct.js";
import { tlb_remove_table_sync_one } from "./mmu-gather.js";
import { FrameState } from "./page-alloc.js";
import { alignDown, indexAt, PAGE_SHIFT, PAGE_SIZE, PMD_SIZE } from "./pgtable.js";
import { pmd_slot } from "./pte-map.js";
import type { AddressSpace } from "./address-space.js";

/** pmdp_collapse_flush (mm/pgtable-generic.c; x86 has no override): clear the pmd, then
 * flush_tlb_range over the huge page's range. Returns the old pmd's table, or −1. */
export function* pmdp_collapse_flush(k: Kernel, cpu: Cpu, mm: MmStruct, addr: number): Kfn<number> {
  const slot = pmd_slot(k, mm, addr);
  if (slot === null) return -1;
  const raw = k.pt.clear(slot.table, slot.index);
  if (raw <= 0) return -1;
  const pte = raw - 1;
  k.alloc.setTableState(pte, FrameState.UNLINKED, `cpu${cpu.id}`, "pmdp_collapse_flush");
  mm.rememberDetached(pte, k.alloc.generation(pte), "pte", addr);
  yield* k.archOps.flush_tlb_range(cpu, mm, addr, addr + PMD_SIZE, PAGE_SHIFT);
  return pte;
}

/** pte_free_defer (mm/pgtable-generic.c v6.6): call_rcu(&ptdesc->pt_rcu_head, pte_free_now). */
export function* pte_free_defer(k: Kernel, cpu: Cpu, pte: number): Kfn<void> {
  k.alloc.setTableState(pte, FrameState.PENDING_RCU, `cpu${cpu.id}`, "pte_free_defer");
  k.pendingRcu(1);
  yield* k.rcuOps.call_rcu(
    cpu,
    function* pte_free_now(c: Cpu): Kfn<void> {
      k.alloc.freePage(pte, `cpu${c.id}`, "pte_free_now");
      k.pendingRcu(-1);
      k.stats.tablesFreedRcu++;
      yield k.machine.costs.pageFreeNs;
    },
    "pte_free_now",
  );
}

/** How the retracted table is freed: v6.6's pte_free_defer, or (counterfactual) v6.1's sync IPI
 * and pte_free. */
function* free_retracted(k: Kernel, cpu: Cpu, pte: number): Kfn<void> {
  if ((k.behaviour.retractFree ?? "pte_free_defer") === "pte_free_defer") {
    yield* pte_free_defer(k, cpu, pte);
    return;
  }
  yield* tlb_remove_table_sync_one(k, cpu);
  k.alloc.freePage(pte, `cpu${cpu.id}`, "pte_free");
  k.stats.tablesFreedDirect++;
  yield k.machine.costs.pageFreeNs;
}

/**
 * retract_page_tables(mapping, pgoff) as v6.6 has it (above). Returns the tables retracted.
 * The caller has unmapped the small pages (collapse_file).
 */
export function* retract_page_tables(
  k: Kernel,
  cpu: Cpu,
  mapping: AddressSpace,
  pgoff: number,
): Kfn<number> {
  let retracted = 0;
  yield* mapping.i_mmap_rwsem.down_read(cpu);
  try {
    for (const vma of mapping.vmasAt(pgoff)) {
      if (vma.anonVma) continue;
      const addr = vma.start + (pgoff - vma.pgoff) * PAGE_SIZE;
      if (addr !== alignDown(addr, PMD_SIZE) || vma.end < addr + PMD_SIZE) continue;
      const mm = vma.mm;
      const slot = pmd_slot(k, mm, addr);
      if (slot === null) continue;
      const raw = k.pt.entry(slot.table, slot.index);
      if (raw <= 0) continue; // find_pmd_or_thp_or_none: none or already huge
      // pmd_lock; spin_lock_nested(ptl): the ptl is in the table's ptdesc (a live table here)
      yield k.machine.costs.pteReadNs;
      k.oracle.checkRead(
        cpu.id,
        "retract_page_tables spin_lock(ptl)",
        { pfn: raw - 1, gen: k.alloc.generation(raw - 1) },
        addr,
        "pte",
      );
      const pte = yield* pmdp_collapse_flush(k, cpu, mm, addr);
      if (pte < 0) continue;
      mm.accountTable("pte", -1);
      k.stats.pgtablesFreed.pte++;
      yield* free_retracted(k, cpu, pte);
      retracted++;
    }
  } finally {
    mapping.i_mmap_rwsem.up_read();
  }
  return retracted;
}

/**
 * collapse_file's unmapping of the small pages (try_to_unmap of each page of the range, in every
 * mm that maps it): clear each present pte, flush the range, free the pages. Returns the pages
 * unmapped.
 */
export function* unmap_file_range(
  k: Kernel,
  cpu: Cpu,
  mapping: AddressSpace,
  pgoff: number,
  nrPages: number,
): Kfn<number> {
  let unmapped = 0;
  yield* mapping.i_mmap_rwsem.down_read(cpu);
  try {
    for (const vma of mapping.vmasAt(pgoff)) {
      const addr = vma.start + (pgoff - vma.pgoff) * PAGE_SIZE;
      const slot = pmd_slot(k, vma.mm, addr);
      if (slot === null) continue;
      const raw = k.pt.entry(slot.table, slot.index);
      if (raw <= 0) continue;
      const pages: number[] = [];
      for (let i = 0; i < nrPages; i++) {
        const a = addr + i * PAGE_SIZE;
        const old = k.pt.clear(raw - 1, indexAt(a, PAGE_SIZE));
        if (old > 0) pages.push(old - 1);
        yield k.machine.costs.pteReadNs;
      }
      vma.mm.rss -= pages.length;
      yield* k.archOps.flush_tlb_range(cpu, vma.mm, addr, addr + nrPages * PAGE_SIZE, PAGE_SHIFT);
      for (const p of pages) k.alloc.freePage(p, `cpu${cpu.id}`, "collapse_file");
      unmapped += pages.length;
    }
  } finally {
    mapping.i_mmap_rwsem.up_read();
  }
  return unmapped;
}
