/**
 * hugetlb PMD sharing (mm/hugetlb.c, v6.15 and v6.16): processes that map the same hugetlbfs
 * file, shared, at the same PUD-aligned place share one PMD table — each one's PUD entry points
 * at it, and ptdesc->pt_share_count counts the extra sharers.
 *
 *   huge_pmd_share (on a fault, x86 want_pmd_share): find a sibling VMA in the file's i_mmap
 *     with the same offset, take its PMD table, pt_share_count++, pud_populate our PUD with it.
 *   huge_pmd_unshare (munmap, mprotect, VMA split, try_to_unmap; the caller holds the i_mmap
 *     lock for writing): if the table is shared, pud_clear our PUD entry, pt_share_count--.
 *     Nothing is freed, so nothing waits for walkers — but once the caller drops the i_mmap lock
 *     the last sharer may treat the table as its own ordinary PMD table, or free it, while an
 *     IRQ-off gup_fast of ours that read the PUD before the clear is still walking it.
 *     v6.16 (1013af4f585f, CVE-2025-38085, Jann Horn) sends tlb_remove_table_sync_one() after
 *     the pud_clear: every IRQ-off walker has left before the lock is dropped (profile switch
 *     `hugetlbUnshareSync`).
 *
 * __unmap_hugepage_range flushes the TLB before returning when it unshared (force_flush →
 * tlb_flush_mmu_tlbonly, a4a118f2eead "hugetlbfs: flush TLBs correctly after huge_pmd_unshare",
 * v5.16): on native x86 that flush is an IPI that waits for our IRQ-off walker, so the race needs
 * a flush that waits for nobody (a hypercall or INVLPGB) — or, with v6.16, is closed either way.
 *
 * The oracle learns who shares a table (`sharers`) and, on unsharing, what the table held: a
 * later read by the unsharing mm's walker that finds a changed entry is a `foreign-table` read.
 *
 * Left out: the hugetlb VMA lock, reservations, PUD-sized pages, the VMA-split unsharing of
 * 081056dc00a2, and the Dec-2025 mmu_gather rework (8ce720d5bd91).
 */
import type { Cpu } from "../hw/cpu.js";
import { KernelStateError } from "../sim/errors.js";
import { runRest, type Kfn } from "../sim/process.js";
import type { Kernel } from "./kernel.js";
import type { MmStruct } from "./mm-struct.js";
import {
  __tlb_adjust_range,
  tlb_finish_mmu,
  tlb_flush_mmu_tlbonly,
  tlb_gather_mmu,
  tlb_remove_page,
  tlb_remove_table_sync_one,
} from "./mmu-gather.js";
import {
  alignDown,
  indexAt,
  levelSpans,
  PMD_SIZE,
  PTRS_PER_TABLE,
  PUD_SIZE,
  tableLevels,
} from "./pgtable.js";
import type { AddressSpace } from "./address-space.js";

/** Where a PUD entry lives, or null when an upper level is missing. */
interface PudSlot {
  readonly table: number;
  readonly index: number;
}

function pud_slot(k: Kernel, mm: MmStruct, addr: number, alloc: boolean): PudSlot | null {
  const levels = tableLevels(k.levels);
  const spans = levelSpans(k.levels);
  let table = mm.pgd;
  for (let li = 0; levels[li] !== "pud"; li++) {
    const idx = indexAt(addr, spans[li]!);
    let raw = k.pt.entry(table, idx);
    if (raw === 0 && alloc) {
      const child = levels[li + 1]!;
      const t = k.pt.allocTable(child, mm.id, "GFP_KERNEL", `${child}_alloc (huge_pmd_share)`);
      k.pt.setTable(table, idx, t);
      mm.accountTable(child, 1);
      raw = t + 1;
    }
    if (raw <= 0) return null;
    table = raw - 1;
  }
  return { table, index: indexAt(addr, PUD_SIZE) };
}

/** The mms sharing PMD table `pmd` (owner included once shared). */
function sharersOf(k: Kernel, pmd: number): Set<number> {
  let s = k.oracle.sharers.get(pmd);
  if (s === undefined) {
    s = new Set([k.alloc.ownerOf(pmd)]);
    k.oracle.sharers.set(pmd, s);
  }
  return s;
}

/** ptdesc_pmd_pts_count: extra sharers of `pmd`. */
export function pt_share_count(k: Kernel, pmd: number): number {
  const s = k.oracle.sharers.get(pmd);
  return s === undefined ? 0 : s.size - 1;
}

/**
 * huge_pmd_share for `mm`'s fault at `addr`: a sibling VMA of `mapping` mapping the same file
 * page at the same PUD-aligned address in another mm lends its PMD table. Returns the table, or
 * −1 when no sibling has one (the caller then allocates its own).
 */
export function huge_pmd_share(
  k: Kernel,
  mapping: AddressSpace,
  mm: MmStruct,
  addr: number,
): number {
  const base = alignDown(addr, PUD_SIZE);
  for (const svma of mapping.i_mmap) {
    if (svma.mm === mm || svma.start > base || svma.end < base + PUD_SIZE) continue;
    const s = pud_slot(k, svma.mm, base, false);
    if (s === null) continue;
    const raw = k.pt.entry(s.table, s.index);
    if (raw <= 0) continue;
    const spte = raw - 1;
    const mine = pud_slot(k, mm, base, true);
    if (mine === null) throw new KernelStateError("huge_pmd_share", "no pud table");
    if (k.pt.entry(mine.table, mine.index) !== 0) return -1;
    sharersOf(k, spte).add(mm.id);
    k.pt.setTable(mine.table, mine.index, spte);
    mm.accountTable("pmd", 1);
    k.alloc.note(spte, `shared with mm ${mm.id} (huge_pmd_share)`);
    return spte;
  }
  return -1;
}

/**
 * huge_pmd_unshare(mm, vma, addr): if the PMD table under `addr` is shared, clear `mm`'s PUD
 * entry and drop the share (v6.16: after tlb_remove_table_sync_one). Returns whether it did.
 */
export function* huge_pmd_unshare(k: Kernel, cpu: Cpu, mm: MmStruct, addr: number): Kfn<boolean> {
  const s = pud_slot(k, mm, addr, false);
  if (s === null) return false;
  const raw = k.pt.entry(s.table, s.index);
  if (raw <= 0) return false;
  const pmd = raw - 1;
  if (pt_share_count(k, pmd) === 0) return false;
  k.pt.clear(s.table, s.index);
  if (k.behaviour.hugetlbUnshareSync === true) yield* tlb_remove_table_sync_one(k, cpu);
  // what the table held when this mm let go of it (the oracle's foreign-table check)
  const snapshot = new Int32Array(PTRS_PER_TABLE);
  for (let i = 0; i < PTRS_PER_TABLE; i++) snapshot[i] = k.pt.entry(pmd, i);
  let left = k.oracle.leftShared.get(pmd);
  if (left === undefined) k.oracle.leftShared.set(pmd, (left = new Map<number, Int32Array>()));
  left.set(mm.id, snapshot);
  sharersOf(k, pmd).delete(mm.id);
  mm.accountTable("pmd", -1);
  k.alloc.note(pmd, `unshared by mm ${mm.id} (huge_pmd_unshare)`, `cpu${cpu.id}`);
  return true;
}

/**
 * __unmap_hugepage_range_final for [start, end) of `mm`'s mapping of `mapping`: under the
 * i_mmap lock for writing, unshare shared PMD tables (and skip their PUD range), clear and
 * gather the huge pages of unshared ones; flush before dropping the lock if anything was
 * unshared (force_flush); then the gather's end frees the pages.
 */
export function* unmap_hugepage_range(
  k: Kernel,
  cpu: Cpu,
  mm: MmStruct,
  mapping: AddressSpace,
  start: number,
  end: number,
): Kfn<void> {
  const tlb = tlb_gather_mmu(k, cpu, mm, start, end);
  yield* mapping.i_mmap_rwsem.down_write(cpu);
  let forceFlush = false;
  try {
    for (let addr = start; addr < end;) {
      if (yield* huge_pmd_unshare(k, cpu, mm, addr)) {
        // tlb_flush_pmd_range(tlb, address & PUD_MASK, PUD_SIZE)
        __tlb_adjust_range(tlb, alignDown(addr, PUD_SIZE), PUD_SIZE);
        if (k.behaviour.freedTables) tlb.cleared_pmds = true;
        forceFlush = true;
        addr = alignDown(addr, PUD_SIZE) + PUD_SIZE;
        continue;
      }
      const s = pud_slot(k, mm, addr, false);
      const raw = s === null ? 0 : k.pt.entry(s.table, s.index);
      if (raw > 0) {
        const old = k.pt.clear(raw - 1, indexAt(addr, PMD_SIZE));
        if (old < 0) {
          // huge_ptep_get_and_clear, tlb_remove_huge_tlb_entry, then the page to the gather
          __tlb_adjust_range(tlb, addr, PMD_SIZE);
          if (k.behaviour.freedTables) tlb.cleared_pmds = true;
          mm.rss--;
          yield k.machine.costs.pteReadNs;
          yield* runRest(tlb_remove_page(k, cpu, tlb, -old - 1));
        }
      }
      addr += PMD_SIZE;
    }
    if (forceFlush) yield* tlb_flush_mmu_tlbonly(k, cpu, tlb);
  } finally {
    mapping.i_mmap_rwsem.up_write();
  }
  yield* tlb_finish_mmu(k, cpu, tlb, start, end);
}
