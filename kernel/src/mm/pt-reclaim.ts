/**
 * PT_RECLAIM (v6.14, mm/pt_reclaim.c and the reclaim branch of zap_pte_range in mm/memory.c;
 * 6375e95f381e "mm: pgtable: reclaim empty PTE page in madvise(MADV_DONTNEED)", Qi Zheng):
 * madvise(MADV_DONTNEED) frees a pte table once it has emptied a whole PMD range of it.
 *
 * Unlike munmap, madvise holds the mmap lock only for reading, so other threads of the process
 * may be faulting in the same range — walking the pte table with pte_offset_map() under
 * rcu_read_lock(), interrupts on (mm/pte-map.ts). The table therefore leaves through
 * pte_free_tlb → tlb_remove_table, and is safe only if every way out of tlb_remove_table waits
 * for a grace period: 718b13861d22 "x86: mm: free page table pages by RCU instead of semi RCU"
 * made the single-table fallback a call_rcu (mm/mmu-gather.ts `ptReclaimFallback`) and sent
 * native tables through tlb_remove_table too (profile v6.14: `tableFreeVia`).
 *
 *   zap_pte_range(…, details->reclaim_pt):
 *     can_reclaim_pt = reclaim_pt_is_enabled(addr, end, details)  (the zap covers the whole pmd)
 *     … zap every pte; direct_reclaim while none was skipped …
 *     direct_reclaim = try_get_and_clear_pmd(mm, pmd, &pmdval)   (spin_trylock(pml); clear)
 *     direct_reclaim ? free_pte(mm, start, tlb, pmdval) : try_to_free_pte(mm, pmd, start, tlb)
 *
 * The model runs this after the zap of each VMA rather than inside zap_pte_range's loop; the
 * pmd lock is never contended here, so the trylock succeeds.
 */
import type { Cpu } from "../hw/cpu.js";
import { runRest, type Kfn } from "../sim/process.js";
import { pXd_free_tlb } from "./free-pgtables.js";
import type { Kernel } from "./kernel.js";
import type { MmStruct } from "./mm-struct.js";
import type { MmuGather } from "./mmu-gather.js";
import { FrameState } from "./page-alloc.js";
import { alignDown, PMD_SIZE, PTRS_PER_TABLE } from "./pgtable.js";
import { pmd_slot, type PmdSlot } from "./pte-map.js";

/** reclaim_pt_is_enabled: the zap asked for it and covers a whole PMD range. */
export function reclaim_pt_is_enabled(k: Kernel, start: number, end: number): boolean {
  return (k.behaviour.ptReclaim ?? false) && end - start >= PMD_SIZE;
}

/** try_get_and_clear_pmd: under the pmd lock (trylock), read and clear the pmd. Returns the pte
 * table it pointed to, or −1. */
function try_get_and_clear_pmd(k: Kernel, tlb: MmuGather, mm: MmStruct, slot: PmdSlot): number {
  const raw = k.pt.entry(slot.table, slot.index);
  if (raw <= 0) return -1;
  const pte = raw - 1;
  k.pt.clear(slot.table, slot.index);
  k.alloc.setTableState(pte, FrameState.UNLINKED, tlb.by, "try_get_and_clear_pmd");
  return pte;
}

/** free_pte: pte_free_tlb(tlb, pmd_pgtable(pmdval), addr); mm_dec_nr_ptes. */
function* free_pte(
  k: Kernel,
  cpu: Cpu,
  tlb: MmuGather,
  mm: MmStruct,
  pte: number,
  addr: number,
): Kfn<void> {
  mm.rememberDetached(pte, k.alloc.generation(pte), "pte", addr);
  yield* runRest(pXd_free_tlb(k, cpu, tlb, pte, "pte", addr));
  mm.accountTable("pte", -1);
}

/**
 * The reclaim step of zap_pte_range for the pmd ranges [start, end) covers whole: an emptied
 * table is taken out of its pmd and handed to the gather (pte_free_tlb). Returns the tables
 * reclaimed.
 */
export function* reclaim_pte_tables(
  k: Kernel,
  cpu: Cpu,
  tlb: MmuGather,
  mm: MmStruct,
  start: number,
  end: number,
): Kfn<number> {
  let reclaimed = 0;
  for (
    let addr = alignDown(start + PMD_SIZE - 1, PMD_SIZE);
    addr + PMD_SIZE <= end;
    addr += PMD_SIZE
  ) {
    if (!reclaim_pt_is_enabled(k, addr, addr + PMD_SIZE)) continue;
    const slot = pmd_slot(k, mm, addr);
    if (slot === null) continue;
    const raw = k.pt.entry(slot.table, slot.index);
    // a huge leaf or nothing: no pte table here
    if (raw <= 0) continue;
    // try_to_free_pte's "is it an empty PTE page" scan (the direct path knows it from the zap)
    yield k.machine.costs.pteReadNs * PTRS_PER_TABLE;
    if (k.pt.presentCount(raw - 1) !== 0) continue;
    const pte = try_get_and_clear_pmd(k, tlb, mm, slot);
    if (pte < 0) continue;
    yield* free_pte(k, cpu, tlb, mm, pte, addr);
    reclaimed++;
  }
  return reclaimed;
}
