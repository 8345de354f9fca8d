/**
 * Page faults and unmapping (mm/memory.c v4.14; the anonymous-fault paths read the same in
 * v6.1): handle_mm_fault populating the tables, and unmap_vmas → zap_pte_range gathering the
 * unmapped pages into an mmu_gather.
 *
 * Anonymous faults follow do_anonymous_page and do_wp_page: a read of a page never written maps
 * the shared zero page read-only (no allocation); a write maps a fresh page; a write to a
 * zero-page pte is a copy-on-write fault, wp_page_copy, which clears the pte and flushes it from
 * every TLB that may hold it (ptep_clear_flush → flush_tlb_page) before installing the copy —
 * one TLB flush per such fault, remote when other CPUs run the mm. zap_pte_range unmaps a
 * zero-page pte like any other (the range is flushed) but frees nothing: vm_normal_page()
 * returns NULL for it.
 *
 * zap_pte_range's order matters for the race (reference/kernel.md §1.5): when the gather fills
 * up, the TLB flush (and in v4.14 the table batch hand-off inside it) runs before the PTE lock is
 * dropped, and the pages are freed only after.
 */
import type { Cpu } from "../hw/cpu.js";
import { MmulabError, ParameterError } from "../sim/errors.js";
import type { Kfn } from "../sim/process.js";
import {
  paravirt_alloc_queue,
  paravirt_alloc_run,
  paravirt_alloc_take,
  type Kernel,
} from "./kernel.js";
import type { MmStruct, Vma } from "./mm-struct.js";
import { put_file_page } from "./shmem.js";
import { VMA_PAGE_BYTES } from "./mm-struct.js";
import {
  __tlb_adjust_range,
  __tlb_remove_page_size,
  tlb_flush_mmu_free,
  tlb_flush_mmu_tlbonly,
  type MmuGather,
} from "./mmu-gather.js";
import {
  alignDown,
  isPageAligned,
  PAGE_SHIFT,
  PAGE_SIZE,
  PMD_SIZE,
  PUD_SIZE,
  indexAt,
  levelSpans,
  tableLevels,
} from "./pgtable.js";

/** A fault the model cannot satisfy (no VMA): SIGSEGV. */
export class SegvError extends MmulabError {
  readonly addr: number;
  constructor(mm: number, addr: number) {
    super(`SIGSEGV: mm ${mm} has no mapping at 0x${addr.toString(16)}`);
    this.addr = addr;
  }
}

export interface FaultResult {
  /** A new data page was mapped (false: it was already present). */
  readonly mapped: boolean;
  /** A write hit the zero page: the caller runs wp_page_copy (the copy-on-write fault). */
  readonly wpZeroPage?: boolean;
  /** Page tables allocated by this fault. */
  readonly tablesAllocated: number;
  /** Time the fault takes, ns. */
  readonly costNs: number;
}

/** FAULT_FLAG_WRITE and friends: only the access type matters here. */
export interface FaultFlags {
  /** A write access (FAULT_FLAG_WRITE). Default true: a fault that allocates a page. */
  readonly write?: boolean;
}

/**
 * handle_mm_fault's table-building part, run as one step (the model holds mmap_sem for read:
 * nothing can free these tables meanwhile). Allocates missing tables top down
 * (__p4d_alloc, __pud_alloc, __pmd_alloc, __pte_alloc) and maps a data page — the zero page for
 * a read (do_anonymous_page) — or a huge leaf in a 2M/1G VMA. A write to a zero-page pte is left
 * to the caller's wp_page_copy (`wpZeroPage`). Exported separately from the timed
 * `handle_mm_fault` so the fault benchmark measures table building, not generator overhead.
 */
export function faultIn(
  k: Kernel,
  mm: MmStruct,
  addr: number,
  flags: FaultFlags = {},
): FaultResult {
  const write = flags.write ?? true;
  const vma = mm.vmaAt(addr);
  if (vma === null) throw new SegvError(mm.id, addr);
  const pt = k.pt;
  const costs = k.machine.costs;
  let tables = 0;
  let table = mm.pgd;
  const levels = tableLevels(k.levels);
  const spans = levelSpans(k.levels);
  for (let li = 0; li < levels.length - 1; li++) {
    const level = levels[li]!;
    const idx = indexAt(addr, spans[li]!);
    const childLevel = levels[li + 1]!;
    // A huge VMA maps a leaf at pud (1G) or pmd (2M) level instead of descending.
    if (
      (childLevel === "pmd" && vma.pageSize === "1G") ||
      (childLevel === "pte" && vma.pageSize === "2M")
    ) {
      const raw = pt.entry(table, idx);
      if (raw !== 0)
        return {
          mapped: false,
          tablesAllocated: tables,
          costNs: costs.faultBaseNs + tables * costs.pageAllocNs,
        };
      const data = pt.allocData(mm.id, "handle_mm_fault");
      pt.setLeaf(table, idx, data, true);
      mm.rss += VMA_PAGE_BYTES[vma.pageSize] / PAGE_SIZE;
      k.stats.faults++;
      return {
        mapped: true,
        tablesAllocated: tables,
        costNs: costs.faultBaseNs + (tables + 1) * costs.pageAllocNs,
      };
    }
    const raw = pt.entry(table, idx);
    if (raw === 0) {
      const child = pt.allocTable(childLevel, mm.id, "GFP_KERNEL", "handle_mm_fault");
      pt.setTable(table, idx, child);
      paravirt_alloc_queue(k, mm, child, childLevel);
      tables++;
      mm.accountTable(childLevel, 1);
      table = child;
    } else {
      if (raw < 0)
        throw new MmulabError(
          `mm ${mm.id}: ${level} entry for 0x${addr.toString(16)} is a huge leaf inside a 4K VMA`,
        );
      table = raw - 1;
    }
  }
  const idx = indexAt(addr, PAGE_SIZE);
  k.stats.faults++;
  const raw = pt.entry(table, idx);
  if (raw !== 0)
    return {
      mapped: false,
      ...(write && raw - 1 === k.zeroPfn ? { wpZeroPage: true } : {}),
      tablesAllocated: tables,
      costNs: costs.faultBaseNs + tables * costs.pageAllocNs,
    };
  if (!write) {
    // "Use the zero-page for reads": a special pte, no page of its own, no rss
    pt.setLeaf(table, idx, k.zero_pfn());
    return {
      mapped: true,
      tablesAllocated: tables,
      costNs: costs.faultBaseNs + tables * costs.pageAllocNs,
    };
  }
  const data = pt.allocData(mm.id);
  pt.setLeaf(table, idx, data);
  mm.rss++;
  return {
    mapped: true,
    tablesAllocated: tables,
    costNs: costs.faultBaseNs + (tables + 1) * costs.pageAllocNs,
  };
}

/** handle_mm_fault as a timed kernel path (a write fault unless `flags.write` is false). */
export function* handle_mm_fault(
  k: Kernel,
  cpu: Cpu,
  mm: MmStruct,
  addr: number,
  flags: FaultFlags = {},
): Kfn<FaultResult> {
  if (!isPageAligned(alignDown(addr, PAGE_SIZE)) || addr < 0)
    throw new ParameterError("addr", addr, "a non-negative user address", "handle_mm_fault");
  const r = faultIn(k, mm, alignDown(addr, PAGE_SIZE), flags);
  const pv = paravirt_alloc_take(k);
  if (k.sim.trace.enabled)
    k.sim.trace.instant(cpu.id, "exceptions:page_fault_user", {
      address: `0x${addr.toString(16)}`,
      mm: mm.id,
    });
  yield k.machine.jitter(r.costNs);
  yield* paravirt_alloc_run(k, cpu, pv);
  if (r.wpZeroPage) {
    yield* wp_page_copy(k, cpu, mm, alignDown(addr, PAGE_SIZE));
    return { mapped: true, tablesAllocated: r.tablesAllocated, costNs: r.costNs };
  }
  return r;
}

/** The pte table mapping `addr`, or −1 (follow_pte without the lock). */
function pteTableOf(k: Kernel, mm: MmStruct, addr: number): number {
  const levels = tableLevels(k.levels);
  const spans = levelSpans(k.levels);
  let table = mm.pgd;
  for (let li = 0; li < levels.length - 1; li++) {
    const raw = k.pt.entry(table, indexAt(addr, spans[li]!));
    if (raw <= 0) return -1;
    table = raw - 1;
  }
  return table;
}

/**
 * Whether a user access to `addr` would fault: the MMU's check of the pte (not present; or a
 * write to a read-only zero-page pte). A huge leaf maps the page; a present 4K pte is writable
 * unless it maps the zero page (no fork, no mprotect in the model).
 */
export function accessFaults(k: Kernel, mm: MmStruct, addr: number, write: boolean): boolean {
  const levels = tableLevels(k.levels);
  const spans = levelSpans(k.levels);
  let table = mm.pgd;
  for (let li = 0; li < levels.length - 1; li++) {
    const raw = k.pt.entry(table, indexAt(addr, spans[li]!));
    if (raw === 0) return true;
    if (raw < 0) return false;
    table = raw - 1;
  }
  const raw = k.pt.entry(table, indexAt(addr, PAGE_SIZE));
  if (raw === 0) return true;
  return write && raw - 1 === k.zeroPfn;
}

/**
 * wp_page_copy for a zero-page pte (mm/memory.c, v6.1): allocate the new page (zeroed, since
 * the old one is the zero page), then under the pte lock ptep_clear_flush — the pte is cleared
 * and, being present, flushed from every CPU that may cache it (flush_tlb_page →
 * flush_tlb_mm_range for one page, no tables freed) — and set the new writable pte.
 */
function* wp_page_copy(k: Kernel, cpu: Cpu, mm: MmStruct, addr: number): Kfn<void> {
  const table = pteTableOf(k, mm, addr);
  if (table < 0) return;
  const idx = indexAt(addr, PAGE_SIZE);
  const page = k.pt.allocData(mm.id, "wp_page_copy");
  yield k.machine.jitter(k.machine.costs.pageAllocNs);
  k.stats.cowFaults++;
  // ptep_clear_flush
  k.pt.clear(table, idx);
  yield* k.archOps.flush_tlb_range(cpu, mm, addr, addr + PAGE_SIZE, PAGE_SHIFT);
  k.pt.setLeaf(table, idx, page);
  mm.rss++;
}

/** What one {@link zap_pte_pass} did. */
interface ZapPass {
  zapped: number;
  forceFlush: boolean;
}

/**
 * zap_pte_range (v4.14) for one pte table, one pass of its `again:` loop: clear each present pte
 * from `addr`, widen the flush range (tlb_remove_tlb_entry), queue the page; stop early when the
 * gather is full (force_flush). Returns where it stopped; the caller charges the time, flushes
 * "under the PTE lock", frees after it, and calls again from there. A plain function rather
 * than a generator: a kernel build zaps hundreds of thousands of pte tables.
 */
function zap_pte_pass(
  k: Kernel,
  tlb: MmuGather,
  pteTable: number,
  addr: number,
  end: number,
  zapPass: ZapPass,
): number {
  // The pte table spans one PMD; walk its indices directly, and skip an empty table at once
  // (the model's stand-in for the cache-hot scan of none entries).
  zapPass.zapped = 0;
  zapPass.forceFlush = false;
  let present = k.pt.presentCount(pteTable);
  if (present === 0) return end;
  const base = alignDown(addr, PMD_SIZE);
  const endIdx = (end - base) / PAGE_SIZE;
  let idx = (addr - base) / PAGE_SIZE;
  for (; idx < endIdx && present > 0; idx++) {
    const raw = k.pt.entry(pteTable, idx);
    if (raw === 0) continue;
    present--;
    const a = base + idx * PAGE_SIZE;
    k.pt.clear(pteTable, idx);
    zapPass.zapped++;
    // tlb_remove_tlb_entry → tlb_flush_pte_range
    __tlb_adjust_range(tlb, a, PAGE_SIZE);
    tlb.cleared_ptes = true;
    // vm_normal_page() is NULL for the zero page: nothing to free
    if (raw - 1 === k.zeroPfn) continue;
    tlb.mm.rss--;
    // a shmem page: page_remove_rmap; the page cache's reference keeps it (mm/shmem.ts)
    if (k.filePages.size > 0 && !put_file_page(k, raw - 1)) continue;
    if (__tlb_remove_page_size(k, tlb, raw - 1)) {
      zapPass.forceFlush = true;
      idx++;
      break;
    }
  }
  return present === 0 ? end : base + idx * PAGE_SIZE;
}

/** Zaps a huge leaf (zap_huge_pmd / __unmap_hugepage_range's per-page step). */
function* zap_huge(
  k: Kernel,
  cpu: Cpu,
  tlb: MmuGather,
  table: number,
  idx: number,
  addr: number,
  size: number,
): Kfn<void> {
  const raw = k.pt.clear(table, idx);
  const page = -raw - 1;
  tlb.mm.rss -= size / PAGE_SIZE;
  __tlb_adjust_range(tlb, addr, size);
  if (size >= PUD_SIZE) tlb.cleared_puds = true;
  else tlb.cleared_pmds = true;
  if (__tlb_remove_page_size(k, tlb, page)) {
    yield* tlb_flush_mmu_tlbonly(k, cpu, tlb);
    yield* tlb_flush_mmu_free(k, cpu, tlb);
  }
  yield k.machine.costs.zapPteNs;
}

/**
 * unmap_page_range → zap_p4d_range → zap_pud_range → zap_pmd_range → zap_pte_range for one
 * VMA's intersection with [start, end). Huge leaves must be unmapped whole (the model's huge
 * VMAs behave like hugetlbfs: munmap rejects a range that splits a huge page).
 */
function* unmap_page_range(
  k: Kernel,
  cpu: Cpu,
  tlb: MmuGather,
  vma: Vma,
  start: number,
  end: number,
): Kfn<void> {
  const mm = tlb.mm;
  const levels = tableLevels(k.levels);
  const spans = levelSpans(k.levels);
  const pmdLevel = levels.length - 2;
  const costs = k.machine.costs;
  const hi = Math.min(end, vma.end);
  const zapPass: ZapPass = { zapped: 0, forceFlush: false };
  let addr = Math.max(start, vma.start);
  // The nested zap_*_range loops as one loop: each step descends from the pgd to the entry that
  // maps `addr` and deals with it (why: docs/benchmarks.md, "Performance devices"). The order of
  // entries read and of yields is the nested loops'; nothing
  // frees a table during a zap (mmap_sem), and a table that is empty when first reached maps
  // nothing and is skipped whole.
  walk: while (addr < hi) {
    let table = mm.pgd;
    for (let li = 0; ; li++) {
      if (k.pt.presentCount(table) === 0) {
        if (li === 0) return;
        addr = Math.min(alignDown(addr, spans[li - 1]!) + spans[li - 1]!, hi);
        continue walk;
      }
      const size = spans[li]!;
      const next = Math.min(alignDown(addr, size) + size, hi);
      const idx = indexAt(addr, size);
      const raw = k.pt.entry(table, idx);
      if (raw > 0 && li < pmdLevel) {
        table = raw - 1;
        continue;
      }
      if (raw > 0) {
        // zap_pte_range's passes
        let from = addr;
        for (;;) {
          const stop = zap_pte_pass(k, tlb, raw - 1, from, next, zapPass);
          const { zapped, forceFlush } = zapPass;
          if (zapped > 0) yield zapped * costs.zapPteNs;
          if (forceFlush) yield* tlb_flush_mmu_tlbonly(k, cpu, tlb);
          // pte_unmap_unlock
          if (forceFlush) yield* tlb_flush_mmu_free(k, cpu, tlb);
          if (!forceFlush || stop >= next) break;
          from = stop;
        }
      } else if (raw < 0) {
        const leafSize = levels[li] === "pud" ? PUD_SIZE : PMD_SIZE;
        yield* zap_huge(k, cpu, tlb, table, idx, alignDown(addr, leafSize), leafSize);
      }
      addr = next;
      continue walk;
    }
  }
}

/** unmap_vmas: zap every VMA of the chain within [start, end). */
export function* unmap_vmas(
  k: Kernel,
  cpu: Cpu,
  tlb: MmuGather,
  chain: readonly Vma[],
  start: number,
  end: number,
): Kfn<void> {
  for (const vma of chain) {
    if (vma.end <= start || vma.start >= end) continue;
    yield* unmap_page_range(k, cpu, tlb, vma, start, end);
  }
}
