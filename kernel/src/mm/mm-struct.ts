/**
 * struct mm_struct and struct vm_area_struct, reduced to what page-table freeing needs
 * (include/linux/mm_types.h, v4.14).
 *
 * mm_users counts users of the address space (threads, and use_mm() borrowers); mm_count counts
 * references to the struct itself (lazy-TLB CPUs hold one). v4.14's tlb_remove_table frees at
 * once when mm_users < 2 — the shortcut that ignores a lazy CPU or a use_mm() borrower; the
 * counters are kept exactly so that mistake can be reproduced. mm_cpumask holds the CPUs that
 * may have the mm's translations cached: the targets of a remote TLB flush.
 */
import type { SimEvent } from "../sim/event.js";
import type { PgtableLevels } from "./pgtable.js";
import type { TableLevel } from "./page-alloc.js";
import type { AddressSpace } from "./shmem.js";

/** How a VMA's pages are mapped: 4 KiB through pte tables, or huge leaves at pmd/pud level. */
export type VmaPageSize = "4K" | "2M" | "1G";

export const VMA_PAGE_BYTES: Record<VmaPageSize, number> = {
  "4K": 4096,
  "2M": 2 ** 21,
  "1G": 2 ** 30,
};

export class Vma {
  start: number;
  end: number;
  readonly pageSize: VmaPageSize;
  readonly name: string;
  /** vm_file's mapping for a MAP_SHARED file (shmem) mapping, null for anonymous memory. */
  readonly file: AddressSpace | null;
  /** vm_pgoff: the file page mapped at `start`. */
  pgoff: number;
  constructor(
    start: number,
    end: number,
    pageSize: VmaPageSize,
    name: string,
    file: AddressSpace | null = null,
    pgoff = 0,
  ) {
    this.start = start;
    this.end = end;
    this.pageSize = pageSize;
    this.name = name;
    this.file = file;
    this.pgoff = pgoff;
  }
  /** is_vm_hugetlb_page(): huge mappings are modelled as hugetlb VMAs. */
  get hugetlb(): boolean {
    return this.pageSize !== "4K";
  }
}

/** A table that left the tree: kept so the export can show what a stale walker points to. */
export interface DetachedTable {
  readonly pfn: number;
  readonly gen: number;
  readonly level: TableLevel;
  readonly va: number;
}

/** Detached tables an mm remembers for ptdump. */
export const DETACHED_KEPT = 256;
const DETACHED_LEVELS: readonly TableLevel[] = ["pgd", "p4d", "pud", "pmd", "pte"];

export class MmStruct {
  readonly id: number;
  readonly levels: PgtableLevels;
  /** Frame of the pgd. */
  readonly pgd: number;
  mm_users = 1;
  mm_count = 1;
  /** CPUs that may hold this mm's translations (mm_cpumask). */
  readonly cpumask = new Set<number>();
  /** Sorted, non-overlapping. */
  vmas: Vma[] = [];
  /** inc/dec_tlb_flush_pending: mmu_gathers in progress on this mm. */
  tlb_flush_pending = 0;
  /** context.tlb_gen (v4.14): bumped by every flush request. */
  tlb_gen = 0;
  /** context.next_trim_cpumask (v6.13+, 6db2526c1d69): the jiffy after which a flush may trim
   * CPUs that left this mm from mm_cpumask (init_new_context: a second after the mm is made). */
  next_trim_cpumask = 0;
  /** context.global_asid (v6.15, CONFIG_BROADCAST_TLB_FLUSH): 0, or the ASID this mm uses on
   * every CPU (handed out by consider_global_asid, freed by destroy_context). */
  global_asid = 0;
  /** context.asid_transition (v6.15): set with the global ASID, cleared by
   * finish_asid_transition once every CPU running the mm uses it. */
  asid_transition = false;
  /** atomic_long nr_ptes and mm_nr_pmds (and puds): tables in use below the pgd. */
  nr_ptes = 0;
  nr_pmds = 0;
  nr_puds = 0;
  nr_p4ds = 0;
  /** Data pages mapped (rss). */
  rss = 0;
  /** Set once exit_mmap has run. */
  exited = false;
  /** Set once the pgd has been freed (__mmdrop). */
  dropped = false;
  /** The last {@link DETACHED_KEPT} tables unlinked from this mm, as a ring (ptdump shows them)
   * of (pfn, gen, level, va) numbers, not an object per table (docs/benchmarks.md, "Performance
   * devices"). */
  private readonly detachedRing: number[] = [];
  private detachedNext = 0;
  /** Next free address for mmap without a hint (top-down from mmap_base). */
  mmapBase: number;
  /** mmap_sem: readers inside, whether a writer holds it, and the FIFO of sleeping waiters
   * (struct rwsem_waiter: each is granted the lock by the releaser). */
  mmapSemReaders = 0;
  mmapSemWriter = false;
  readonly mmapSemWaiters: {
    readonly write: boolean;
    wake: SimEvent<void>;
    readonly timeout: number;
  }[] = [];
  /** The waiter that set RWSEM_FLAG_HANDOFF (readers may not steal), or null. */
  mmapSemHandoff: object | null = null;

  constructor(id: number, levels: PgtableLevels, pgd: number, mmapBase: number) {
    this.id = id;
    this.levels = levels;
    this.pgd = pgd;
    this.mmapBase = mmapBase;
  }

  /** find_vma: the first VMA with end > addr (a search of the address-ordered VMAs, as the
   * kernel's rbtree or maple tree lookup is: a storm's mm has a VMA per thread). */
  find_vma(addr: number): Vma | null {
    const i = this.find_vma_index(addr);
    return i < this.vmas.length ? this.vmas[i]! : null;
  }

  /** The index in `vmas` of find_vma(addr), or vmas.length if there is none. */
  find_vma_index(addr: number): number {
    const vmas = this.vmas;
    let lo = 0;
    let hi = vmas.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (vmas[mid]!.end > addr) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** The VMA containing addr, if any. */
  vmaAt(addr: number): Vma | null {
    const v = this.find_vma(addr);
    return v && v.start <= addr ? v : null;
  }

  /** mm_tlb_flush_nested: another mmu_gather is batching on this mm at the same time. */
  mm_tlb_flush_nested(): boolean {
    return this.tlb_flush_pending > 1;
  }

  /** Counts a table of `level` in or out (mm_inc_nr_ptes/pmds/puds/p4ds and the dec twins). */
  accountTable(level: TableLevel, delta: 1 | -1): void {
    if (level === "pte") this.nr_ptes += delta;
    else if (level === "pmd") this.nr_pmds += delta;
    else if (level === "pud") this.nr_puds += delta;
    else if (level === "p4d") this.nr_p4ds += delta;
  }

  /** Tables below the pgd. */
  get nrTables(): number {
    return this.nr_ptes + this.nr_pmds + this.nr_puds + this.nr_p4ds;
  }

  /** Remembers a table just unlinked from this mm (generation `gen` of frame `pfn`, mapping from
   * `va`). */
  rememberDetached(pfn: number, gen: number, level: TableLevel, va: number): void {
    // A ring, not push + shift: exit_mmap of a big process unlinks hundreds of tables.
    const r = this.detachedRing;
    const code = DETACHED_LEVELS.indexOf(level);
    if (r.length < DETACHED_KEPT * 4) r.push(pfn, gen, code, va);
    else {
      const i = this.detachedNext * 4;
      r[i] = pfn;
      r[i + 1] = gen;
      r[i + 2] = code;
      r[i + 3] = va;
    }
    this.detachedNext = (this.detachedNext + 1) % DETACHED_KEPT;
  }

  /** The tables unlinked most recently, oldest first. */
  get detached(): readonly DetachedTable[] {
    const r = this.detachedRing;
    const n = r.length / 4;
    const first = n < DETACHED_KEPT ? 0 : this.detachedNext;
    const out: DetachedTable[] = [];
    for (let k = 0; k < n; k++) {
      const i = ((first + k) % n) * 4;
      out.push({ pfn: r[i]!, gen: r[i + 1]!, level: DETACHED_LEVELS[r[i + 2]!]!, va: r[i + 3]! });
    }
    return out;
  }
}
