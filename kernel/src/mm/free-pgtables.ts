/**
 * Page-table teardown (mm/memory.c v4.14): free_pgtables → free_pgd_range → free_p4d_range →
 * free_pud_range → free_pmd_range → free_pte_range, and pXd_free_tlb.
 *
 * Invariant: a table is cleared from its parent entry *before* it is queued for freeing
 * (unlink, then queue), so no new walk can reach it afterwards; only a walker that read the
 * parent entry earlier can — and that is what the flush IPI or the RCU grace period must wait
 * for.
 *
 * The floor/ceiling rules keep a table that still maps part of a neighbouring VMA: a table is
 * freed only if its whole span lies within [floor, ceiling), rounded the kernel's way (addresses
 * are rounded to the level's mask; ceiling 0 means the top; "end − 1 > ceiling − 1" is an
 * unsigned comparison in which 0 − 1 is the top).
 */
import type { Cpu } from "../hw/cpu.js";
import { runRest, type Kfn, type KfnOrDone } from "../sim/process.js";
import type { Kernel } from "./kernel.js";
import type { Vma } from "./mm-struct.js";
import { unlink_file_vma } from "./shmem.js";
import { __tlb_adjust_range, type MmuGather } from "./mmu-gather.js";
import { FrameState, type TableLevel } from "./page-alloc.js";
import {
  alignDown,
  entryTable,
  indexAt,
  levelShift,
  minus1,
  P4D_SIZE,
  PAGE_SIZE,
  pgdirShift,
  PMD_SIZE,
  PUD_SIZE,
} from "./pgtable.js";

/** pXd_addr_end: the next boundary of a `size` region after addr, or end if that comes first. */
function addrEnd(addr: number, end: number, size: number): number {
  const boundary = alignDown(addr + size, size);
  return minus1(boundary) < minus1(end) ? boundary : end;
}

/** Clears `parent[index]` and marks the child table unlinked (pXd_clear + bookkeeping). */
function unlink(
  k: Kernel,
  tlb: MmuGather,
  parentPfn: number,
  index: number,
  child: number,
  level: TableLevel,
  va: number,
): void {
  k.pt.clear(parentPfn, index);
  k.alloc.setTableState(child, FrameState.UNLINKED, tlb.by, "free_pgtables");
  tlb.mm.rememberDetached(child, k.alloc.generation(child), level, va);
}

/** pte_free_tlb / pmd_free_tlb / pud_free_tlb / p4d_free_tlb: widen the flush range by one page
 * at the table's address (v4.20+: mark freed_tables and the level of entry cleared — a pte
 * table is a pmd entry, tlb_flush_pmd_range), then the arch's ___pXd_free_tlb. Null when the
 * table was only queued. */
export function pXd_free_tlb(
  k: Kernel,
  cpu: Cpu,
  tlb: MmuGather,
  pfn: number,
  level: TableLevel,
  address: number,
): KfnOrDone {
  __tlb_adjust_range(tlb, address, PAGE_SIZE);
  if (k.behaviour.freedTables) {
    tlb.freed_tables = true;
    if (level === "pte") tlb.cleared_pmds = true;
    else if (level === "pmd") tlb.cleared_puds = true;
    else if (level === "pud") tlb.cleared_p4ds = true;
  }
  k.stats.pgtablesFreed[level]++;
  // paravirt_release_pXd (in ___pXd_free_tlb, before the table is queued): Xen PV hands the
  // frame back as writable
  const release = k.arch?.paravirt_release;
  if (release !== undefined) return releaseThenFree(k, cpu, tlb, pfn, level, release);
  return k.archOps.free_table_tlb(cpu, tlb, pfn, level);
}

function* releaseThenFree(
  k: Kernel,
  cpu: Cpu,
  tlb: MmuGather,
  pfn: number,
  level: TableLevel,
  release: (cpu: Cpu, pfn: number, level: TableLevel) => Kfn<void>,
): Kfn<void> {
  yield* release(cpu, pfn, level);
  yield* runRest(k.archOps.free_table_tlb(cpu, tlb, pfn, level));
}

/** free_pte_range, up to pte_free_tlb: unlink the present pte table `pte` from its pmd entry,
 * then queue it. The caller runs what is left, then does mm_dec_nr_ptes. */
function free_pte_range(
  k: Kernel,
  cpu: Cpu,
  tlb: MmuGather,
  pmdTable: number,
  pmdIndex: number,
  pte: number,
  addr: number,
): KfnOrDone {
  unlink(k, tlb, pmdTable, pmdIndex, pte, "pte", alignDown(addr, PMD_SIZE));
  return pXd_free_tlb(k, cpu, tlb, pte, "pte", addr);
}

function* free_pmd_range(
  k: Kernel,
  cpu: Cpu,
  tlb: MmuGather,
  pudTable: number,
  pudIndex: number,
  addr: number,
  end: number,
  floor: number,
  ceiling: number,
): Kfn<void> {
  const pmd = entryTable(k.pt.entry(pudTable, pudIndex));
  if (pmd < 0) return;
  let start = addr;
  do {
    const next = addrEnd(addr, end, PMD_SIZE);
    const idx = indexAt(addr, PMD_SIZE);
    const pte = entryTable(k.pt.entry(pmd, idx));
    if (pte >= 0) {
      yield* runRest(free_pte_range(k, cpu, tlb, pmd, idx, pte, addr));
      tlb.mm.nr_ptes--;
    }
    addr = next;
  } while (addr !== end);
  yield k.machine.costs.pteReadNs;

  start = alignDown(start, PUD_SIZE);
  if (start < floor) return;
  if (ceiling) {
    ceiling = alignDown(ceiling, PUD_SIZE);
    if (!ceiling) return;
  }
  if (minus1(end) > minus1(ceiling)) return;
  unlink(k, tlb, pudTable, pudIndex, pmd, "pmd", start);
  yield* runRest(pXd_free_tlb(k, cpu, tlb, pmd, "pmd", start));
  tlb.mm.nr_pmds--;
}

function* free_pud_range(
  k: Kernel,
  cpu: Cpu,
  tlb: MmuGather,
  p4dTable: number,
  p4dIndex: number,
  addr: number,
  end: number,
  floor: number,
  ceiling: number,
): Kfn<void> {
  const pud = entryTable(k.pt.entry(p4dTable, p4dIndex));
  if (pud < 0) return;
  let start = addr;
  do {
    const next = addrEnd(addr, end, PUD_SIZE);
    const idx = indexAt(addr, PUD_SIZE);
    if (entryTable(k.pt.entry(pud, idx)) >= 0)
      yield* free_pmd_range(k, cpu, tlb, pud, idx, addr, next, floor, ceiling);
    addr = next;
  } while (addr !== end);

  start = alignDown(start, P4D_SIZE);
  if (start < floor) return;
  if (ceiling) {
    ceiling = alignDown(ceiling, P4D_SIZE);
    if (!ceiling) return;
  }
  if (minus1(end) > minus1(ceiling)) return;
  unlink(k, tlb, p4dTable, p4dIndex, pud, "pud", start);
  yield* runRest(pXd_free_tlb(k, cpu, tlb, pud, "pud", start));
  tlb.mm.nr_puds--;
}

/** free_p4d_range, with 5 levels (with 4 the p4d is folded: free_pgd_range). */
function* free_p4d_range(
  k: Kernel,
  cpu: Cpu,
  tlb: MmuGather,
  pgdIndex: number,
  addr: number,
  end: number,
  floor: number,
  ceiling: number,
): Kfn<void> {
  const mm = tlb.mm;
  const p4d = entryTable(k.pt.entry(mm.pgd, pgdIndex));
  if (p4d < 0) return;
  let start = addr;
  do {
    const next = addrEnd(addr, end, P4D_SIZE);
    const idx = indexAt(addr, P4D_SIZE);
    if (entryTable(k.pt.entry(p4d, idx)) >= 0)
      yield* free_pud_range(k, cpu, tlb, p4d, idx, addr, next, floor, ceiling);
    addr = next;
  } while (addr !== end);

  const pgdirSize = 2 ** pgdirShift(k.levels);
  start = alignDown(start, pgdirSize);
  if (start < floor) return;
  if (ceiling) {
    ceiling = alignDown(ceiling, pgdirSize);
    if (!ceiling) return;
  }
  if (minus1(end) > minus1(ceiling)) return;
  unlink(k, tlb, mm.pgd, pgdIndex, p4d, "p4d", start);
  yield* runRest(pXd_free_tlb(k, cpu, tlb, p4d, "p4d", start));
  mm.nr_p4ds--;
}

/** free_pgd_range (v4.14): frees the tables wholly inside [addr, end) within [floor, ceiling). */
export function* free_pgd_range(
  k: Kernel,
  cpu: Cpu,
  tlb: MmuGather,
  addr: number,
  end: number,
  floor: number,
  ceiling: number,
): Kfn<void> {
  addr = alignDown(addr, PMD_SIZE);
  if (addr < floor) {
    addr += PMD_SIZE;
    if (!addr) return;
  }
  if (ceiling) {
    ceiling = alignDown(ceiling, PMD_SIZE);
    if (!ceiling) return;
  }
  if (minus1(end) > minus1(ceiling)) end -= PMD_SIZE;
  if (addr > minus1(end)) return;
  const pgdirSize = 2 ** levelShift("pgd", k.levels);
  do {
    const next = addrEnd(addr, end, pgdirSize);
    const idx = indexAt(addr, pgdirSize);
    // With 4 levels the p4d is folded into the pgd: free_p4d_range's "p4d entry" is the pgd
    // entry itself, its loop runs once and its final pgd_clear/p4d_free_tlb do nothing, so the
    // pud level is called at once (one generator fewer under every yield of the teardown:
    // docs/benchmarks.md, "Performance devices").
    if (k.pt.entry(tlb.mm.pgd, idx) !== 0) {
      if (k.levels === 4)
        yield* free_pud_range(k, cpu, tlb, tlb.mm.pgd, idx, addr, next, floor, ceiling);
      else yield* free_p4d_range(k, cpu, tlb, idx, addr, next, floor, ceiling);
    }
    addr = next;
  } while (addr !== end);
}

/**
 * free_pgtables (v4.14): for each VMA of a detached chain, free the tables of its range, merging
 * VMAs closer than PMD_SIZE into one call so a table shared by them is freed once. The last
 * range's ceiling is the next mapping's start (or `ceiling`). On x86 hugetlb_free_pgd_range is
 * free_pgd_range.
 */
export function* free_pgtables(
  k: Kernel,
  cpu: Cpu,
  tlb: MmuGather,
  chain: readonly Vma[],
  floor: number,
  ceiling: number,
): Kfn<void> {
  let i = 0;
  while (i < chain.length) {
    let vma = chain[i]!;
    const addr = vma.start;
    // unlink_file_vma: the file's rmap no longer finds it (anon rmap is not modelled)
    if (vma.file !== null) unlink_file_vma(tlb.mm, vma);
    if (vma.hugetlb) {
      const next = chain[i + 1];
      yield* free_pgd_range(k, cpu, tlb, addr, vma.end, floor, next ? next.start : ceiling);
      i++;
      continue;
    }
    let j = i + 1;
    while (j < chain.length && chain[j]!.start <= vma.end + PMD_SIZE && !chain[j]!.hugetlb) {
      vma = chain[j]!;
      if (vma.file !== null) unlink_file_vma(tlb.mm, vma);
      j++;
    }
    const next = chain[j];
    yield* free_pgd_range(k, cpu, tlb, addr, vma.end, floor, next ? next.start : ceiling);
    i = j;
  }
}
