/**
 * khugepaged's file/shmem collapse (mm/khugepaged.c, v6.0 and v6.1): khugepaged_scan_file finds
 * a 2 MiB-aligned range of a shmem file worth collapsing, collapse_file replaces its small pages
 * in the page cache with one huge page, and retract_page_tables takes the now useless pte
 * tables out of every mm that maps the range (the huge page is mapped by a pmd on the next fault,
 * do_set_pmd — not modelled, nothing in the scenario faults there again).
 *
 * The table leaves through collapse_and_free_pmd: pmdp_collapse_flush (mm/pgtable-generic.c;
 * x86 has no override) clears the pmd and flushes the 2 MiB range, and pte_free() frees the
 * table at once — outside any mmu_gather: no batch, no grace period. With
 * MMU_GATHER_RCU_TABLE_FREE the flush need not be an IPI (a hypercall), so nothing waited for an
 * IRQ-off gup_fast that had read the pmd before it was cleared. v6.1's 2ba99c5e0881 (Jann Horn)
 * calls tlb_remove_table_sync_one() after the flush (`collapseSyncOne`). v6.1 also took the
 * pmd lock out of collapse_and_free_pmd, which holds i_mmap_rwsem for write instead
 * (8d3c106e19e8); the model takes the pmd lock in v6.0 only.
 *
 * Left out: the anonymous collapse (collapse_huge_page deposits its table; its hazard is a
 * coherency one), collapse_pte_mapped_thp (the deferred retract when mmap_write_trylock fails:
 * the model retries nothing), the mmu notifiers f268f6cf875f added, khugepaged's scan pacing, and
 * the copy itself (a cost, no data). try_to_unmap's batched flush (TTU_BATCH_FLUSH,
 * try_to_unmap_flush → arch_tlbbatch_flush) is modelled as one flush of the range per mm.
 */
import type { Cpu } from "../hw/cpu.js";
import { checkInt, MmulabError } from "../sim/errors.js";
import type { Kfn } from "../sim/process.js";
import type { Kernel } from "./kernel.js";
import type { MmStruct, Vma } from "./mm-struct.js";
import { down_write_trylock, up_write } from "./mmap.js";
import { tlb_remove_table_sync_one } from "./mmu-gather.js";
import { FrameState } from "./page-alloc.js";
import {
  decodeEntry,
  indexAt,
  PAGE_SHIFT,
  PAGE_SIZE,
  PMD_SIZE,
  tableIndex,
  tableLevels,
} from "./pgtable.js";
import { ptl_lock, ptl_unlock, type AddressSpace } from "./shmem.js";

/** HPAGE_PMD_NR: small pages in a PMD-sized huge page. */
export const HPAGE_PMD_NR = PMD_SIZE / PAGE_SIZE;

/** mm_find_pmd: the pmd table and index that map `addr`, if the path down to them exists. */
function mm_find_pmd(k: Kernel, mm: MmStruct, addr: number): { pmd: number; idx: number } | null {
  const levels = tableLevels(k.levels);
  let table = mm.pgd;
  for (let li = 0; li < levels.length - 2; li++) {
    const e = decodeEntry(k.pt.entry(table, tableIndex(addr, levels[li]!, k.levels)), levels[li]!);
    if (e.kind !== "table") return null;
    table = e.pfn;
  }
  return { pmd: table, idx: tableIndex(addr, "pmd", k.levels) };
}

/**
 * pmdp_collapse_flush: pmdp_huge_get_and_clear, then flush_tlb_range over the 2 MiB ("collapse
 * entails shooting down ptes not pmd"). Returns the pte table that was there.
 */
function* pmdp_collapse_flush(
  k: Kernel,
  cpu: Cpu,
  mm: MmStruct,
  addr: number,
  pmd: number,
  idx: number,
): Kfn<number> {
  const pte = decodeEntry(k.pt.entry(pmd, idx), "pmd");
  if (pte.kind !== "table") throw new MmulabError("pmdp_collapse_flush: no pte table there");
  k.pt.clear(pmd, idx);
  k.alloc.setTableState(pte.pfn, FrameState.UNLINKED, `cpu${cpu.id}`, "pmdp_collapse_flush");
  mm.rememberDetached(pte.pfn, k.alloc.generation(pte.pfn), "pte", addr);
  yield* k.archOps.flush_tlb_range(cpu, mm, addr, addr + PMD_SIZE, PAGE_SHIFT);
  return pte.pfn;
}

/**
 * collapse_and_free_pmd (v6.0; v6.1 with 2ba99c5e0881): clear the pmd and flush, make sure no
 * IRQ-off walker is still inside the table (v6.1), then pte_free() it.
 */
export function* collapse_and_free_pmd(
  k: Kernel,
  cpu: Cpu,
  mm: MmStruct,
  addr: number,
  pmd: number,
  idx: number,
): Kfn<void> {
  const sync = k.behaviour.collapseSyncOne === true;
  // v6.0: pmd_lock(); v6.1 holds i_mmap_rwsem for write instead (8d3c106e19e8)
  if (!sync) yield* ptl_lock(k, pmd);
  const table = yield* pmdp_collapse_flush(k, cpu, mm, addr, pmd, idx);
  if (!sync) ptl_unlock(k, pmd);
  if (sync) yield* tlb_remove_table_sync_one(k, cpu);
  mm.nr_ptes--;
  // pte_free: straight back to the page allocator
  k.alloc.freePage(table, `cpu${cpu.id}`, "pte_free (collapse_and_free_pmd)");
  k.stats.tablesFreedDirect++;
  yield k.machine.costs.pageFreeNs;
}

/**
 * retract_page_tables (v6.0/v6.1): for every VMA mapping file page `pgoff` at a 2 MiB-aligned
 * address with the whole huge page inside it, take the mm's mmap lock with a trylock (the lock
 * order forbids waiting) and collapse_and_free_pmd.
 */
function* retract_page_tables(k: Kernel, cpu: Cpu, file: AddressSpace, pgoff: number): Kfn<void> {
  for (const { mm, vma } of [...file.i_mmap]) {
    const addr = vma.start + (pgoff - vma.pgoff) * PAGE_SIZE;
    if (addr < vma.start || addr % PMD_SIZE !== 0 || vma.end < addr + PMD_SIZE) continue;
    const at = mm_find_pmd(k, mm, addr);
    if (at === null || decodeEntry(k.pt.entry(at.pmd, at.idx), "pmd").kind !== "table") continue;
    if (!down_write_trylock(mm)) continue;
    try {
      if (!mm.exited) yield* collapse_and_free_pmd(k, cpu, mm, addr, at.pmd, at.idx);
    } finally {
      up_write(k, mm);
    }
  }
}

/** Unmaps file page `index` from every mapping (try_to_unmap without the flush); returns the
 * mms whose ptes were cleared. */
function* try_to_unmap(
  k: Kernel,
  file: AddressSpace,
  index: number,
  page: number,
  touched: Map<MmStruct, Vma>,
): Kfn<void> {
  for (const { mm, vma } of file.i_mmap) {
    const addr = vma.start + (index - vma.pgoff) * PAGE_SIZE;
    if (addr < vma.start || addr >= vma.end) continue;
    const at = mm_find_pmd(k, mm, addr);
    if (at === null) continue;
    const pte = decodeEntry(k.pt.entry(at.pmd, at.idx), "pmd");
    if (pte.kind !== "table") continue;
    yield* ptl_lock(k, pte.pfn);
    const i = indexAt(addr, PAGE_SIZE);
    if (k.pt.entry(pte.pfn, i) - 1 === page) {
      k.pt.clear(pte.pfn, i);
      k.filePages.get(page)!.mapcount--;
      mm.rss--;
      touched.set(mm, vma);
    }
    ptl_unlock(k, pte.pfn);
    yield k.machine.costs.zapPteNs;
  }
}

/**
 * collapse_file (shmem) for the huge page at file index `start` (a multiple of HPAGE_PMD_NR):
 * allocate the huge page; unmap each small page from every mapping, batching the flush; copy
 * them; replace the cache entries with the huge page and free the small pages; then
 * retract_page_tables.
 */
export function* collapse_file(k: Kernel, cpu: Cpu, file: AddressSpace, start: number): Kfn<void> {
  checkInt("start", start, 0, file.size - HPAGE_PMD_NR, "collapse_file");
  if (start % HPAGE_PMD_NR !== 0)
    throw new MmulabError(`collapse_file: start ${start} is not a multiple of ${HPAGE_PMD_NR}`);
  const span = k.sim.trace.begin(cpu.id, "mmulab:collapse_file", { file: file.name, start });
  const hpage = k.pt.allocData(0, `khugepaged hpage ${file.name}:${start}`);
  k.filePages.set(hpage, { mapcount: 0, cached: true });
  yield k.machine.jitter(k.machine.costs.pageAllocNs);
  const touched = new Map<MmStruct, Vma>();
  const old: number[] = [];
  for (let index = start; index < start + HPAGE_PMD_NR; index++) {
    const page = file.pages.get(index);
    if (page === undefined) continue;
    yield* try_to_unmap(k, file, index, page, touched);
    old.push(page);
  }
  // try_to_unmap_flush(): the batched flush of what try_to_unmap cleared
  for (const [mm, vma] of touched) {
    const addr = vma.start + (start - vma.pgoff) * PAGE_SIZE;
    yield* k.archOps.flush_tlb_range(cpu, mm, addr, addr + PMD_SIZE, PAGE_SHIFT);
  }
  // copy_highpage for each, then the page cache points at the huge page and the old pages go
  yield old.length * k.machine.costs.pageFreeNs;
  for (let index = start; index < start + HPAGE_PMD_NR; index++) file.pages.set(index, hpage);
  for (const page of old) {
    const ref = k.filePages.get(page)!;
    ref.cached = false;
    if (ref.mapcount === 0) {
      k.filePages.delete(page);
      k.alloc.freePage(page, `cpu${cpu.id}`, "collapse_file");
      k.stats.pagesFreed++;
    }
  }
  yield* retract_page_tables(k, cpu, file, start);
  k.sim.trace.end(span, { pages: old.length });
}
