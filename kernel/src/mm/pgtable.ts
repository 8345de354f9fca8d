/**
 * x86-64 page tables (arch/x86/include/asm/pgtable_64_types.h, include/asm-generic/pgtable.h).
 *
 * 4 or 5 levels (CONFIG_PGTABLE_LEVELS); with 4 the p4d level is folded into the pgd as in the
 * kernel: there are no p4d frames and `p4d_free_tlb` is never reached. Every table has 512
 * entries. A pmd or pud entry can map a 2 MiB or 1 GiB page directly (a huge leaf).
 *
 * Table contents live here, keyed by frame number, in one Int32Array per table:
 *   0        the entry is none,
 *   n > 0    it points to frame n−1 (the next table, or at pte level a data page),
 *   n < 0    a huge leaf mapping data frame −n−1 (pmd and pud only).
 * A freed table keeps its stale contents (the kernel does not clear a page it frees), so a
 * walker holding a stale pointer reads stale entries — until the frame is reused: a new table is
 * zeroed (pte_alloc_one uses __GFP_ZERO) and a data page's contents are not entries at all.
 *
 * Addresses are JS numbers. Page-aligned addresses are multiples of 4096 and therefore exact in a
 * float64 up to 2^65, which covers 5-level user space (2^56); index arithmetic uses division.
 */
import { ParameterError } from "../sim/errors.js";
import { FrameState, type Gfp, type PageAllocator, type TableLevel } from "./page-alloc.js";

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
export const PTRS_PER_TABLE = 512;
export const PMD_SHIFT = 21;
export const PUD_SHIFT = 30;
export const P4D_SHIFT = 39;
export const PMD_SIZE = 2 ** PMD_SHIFT;
export const PUD_SIZE = 2 ** PUD_SHIFT;
export const P4D_SIZE = 2 ** P4D_SHIFT;
/** Stand-in for ULONG_MAX + 1 in the kernel's unsigned "x − 1" comparisons (exact in float64). */
export const ULONG_WRAP = 2 ** 64;
/** x86: FIRST_USER_ADDRESS 0, USER_PGTABLES_CEILING 0 (meaning "the top"). */
export const FIRST_USER_ADDRESS = 0;
export const USER_PGTABLES_CEILING = 0;
/** tlb->end for a full flush, TLB_FLUSH_ALL (−1UL): larger than any address. */
export const TLB_FLUSH_ALL = ULONG_WRAP;

export type PgtableLevels = 4 | 5;

export function pgdirShift(levels: PgtableLevels): number {
  return levels === 5 ? 48 : 39;
}

/** TASK_SIZE_MAX: (1 << 47) − PAGE_SIZE with 4 levels, (1 << 56) − PAGE_SIZE with 5. */
export function taskSize(levels: PgtableLevels): number {
  return 2 ** (levels === 5 ? 56 : 47) - PAGE_SIZE;
}

/** The levels that have frames, top down. */
export function tableLevels(levels: PgtableLevels): readonly TableLevel[] {
  return levels === 5 ? LEVELS_5 : LEVELS_4;
}
const LEVELS_4: readonly TableLevel[] = Object.freeze(["pgd", "pud", "pmd", "pte"]);
const LEVELS_5: readonly TableLevel[] = Object.freeze(["pgd", "p4d", "pud", "pmd", "pte"]);

/** Bytes one entry maps at each level of {@link tableLevels}, top down. */
export function levelSpans(levels: PgtableLevels): readonly number[] {
  return levels === 5 ? SPANS_5 : SPANS_4;
}
const SPANS_4: readonly number[] = Object.freeze([2 ** 39, 2 ** 30, 2 ** 21, 2 ** 12]);
const SPANS_5: readonly number[] = Object.freeze([2 ** 48, 2 ** 39, 2 ** 30, 2 ** 21, 2 ** 12]);

export function levelShift(level: TableLevel, levels: PgtableLevels): number {
  switch (level) {
    case "pgd":
      return pgdirShift(levels);
    case "p4d":
      return P4D_SHIFT;
    case "pud":
      return PUD_SHIFT;
    case "pmd":
      return PMD_SHIFT;
    case "pte":
      return PAGE_SHIFT;
  }
}

/** Index of `addr` in a table of `level` (pgd_index, p4d_index, …). */
export function tableIndex(addr: number, level: TableLevel, levels: PgtableLevels): number {
  return indexAt(addr, 2 ** levelShift(level, levels));
}

/** (addr / span) mod 512 for a level spanning `span` bytes per entry. Addresses exceed 2^32, so
 * this stays in float64 (floor-and-subtract rather than `%`: docs/benchmarks.md). */
export function indexAt(addr: number, span: number): number {
  const q = Math.floor(addr / span);
  return q - Math.floor(q / PTRS_PER_TABLE) * PTRS_PER_TABLE;
}

/** Rounds down to a multiple of `size` (addr & MASK for a power-of-two size). */
export function alignDown(addr: number, size: number): number {
  return Math.floor(addr / size) * size;
}

/** The kernel's "x − 1" on unsigned long, where 0 − 1 wraps to the top. */
export function minus1(x: number): number {
  return x === 0 ? ULONG_WRAP - 1 : x - 1;
}

export function isPageAligned(addr: number): boolean {
  return Number.isInteger(addr) && addr % PAGE_SIZE === 0;
}

/** A walker's pointer to a table: the frame and the allocation it belonged to when read. A
 * different generation at dereference time means the frame was freed and reused meanwhile. */
export interface TablePtr {
  readonly pfn: number;
  readonly gen: number;
}

export class PageTableStore {
  readonly alloc: PageAllocator;
  /** Contents by frame number (frames are small dense integers: the allocator reuses LIFO). */
  private tables: (Int32Array | undefined)[] = [];
  /** Present entries by frame number (at most 512: 16 bits is enough for every frame). Starts
   * small, like the allocator's frame arrays: a race trial uses about a hundred frames. */
  private present = new Int16Array(128);
  private held = 0;
  /** Zeroed 512-entry arrays of frames that became data pages, for the next table (why:
   * docs/benchmarks.md, "Performance devices"). */
  private readonly spare: Int32Array[] = [];
  /** Fresh tables are carved out of slabs of 4, 8, … up to 64 tables (docs/benchmarks.md). */
  private slab = new Int32Array(0);
  private slabUsed = 0;

  constructor(alloc: PageAllocator) {
    this.alloc = alloc;
  }

  private ensure(pfn: number): void {
    if (pfn < this.present.length) return;
    let n = this.present.length * 2;
    while (n <= pfn) n *= 2;
    const p = new Int16Array(n);
    p.set(this.present);
    this.present = p;
  }

  /**
   * Allocates a zeroed table (pte_alloc_one / pmd_alloc_one / pud_alloc_one / p4d_alloc_one /
   * pgd_alloc). Returns the frame or −1 if a GFP_NOWAIT allocation failed.
   */
  allocTable(level: TableLevel, mm: number, gfp: Gfp = "GFP_KERNEL", by?: string): number {
    const pfn = this.alloc.alloc({ kind: "table", level, mm }, gfp, by);
    if (pfn < 0) return pfn;
    this.ensure(pfn);
    const t = this.tables[pfn];
    // A table is freed only once empty (teardown clears every entry first), so a reused table
    // frame needs zeroing only when it still holds entries.
    if (t !== undefined) {
      if (this.present[pfn] !== 0) t.fill(0);
    } else {
      this.tables[pfn] = this.spare.pop() ?? this.freshTable();
      this.held++;
    }
    this.present[pfn] = 0;
    return pfn;
  }

  private freshTable(): Int32Array {
    if (this.slabUsed === this.slab.length) {
      const tables = Math.min(64, Math.max(4, (2 * this.slab.length) / PTRS_PER_TABLE));
      this.slab = new Int32Array(tables * PTRS_PER_TABLE);
      this.slabUsed = 0;
    }
    const t = this.slab.subarray(this.slabUsed, this.slabUsed + PTRS_PER_TABLE);
    this.slabUsed += PTRS_PER_TABLE;
    return t;
  }

  /** A data page (or a huge page, one frame standing for the compound page). */
  allocData(mm: number, by?: string): number {
    const pfn = this.alloc.alloc({ kind: "data", mm }, "GFP_KERNEL", by);
    this.ensure(pfn);
    // Whatever table contents the frame held are gone: it is user data now.
    const t = this.tables[pfn];
    if (t !== undefined) {
      if (this.present[pfn] !== 0) t.fill(0);
      this.spare.push(t);
      this.tables[pfn] = undefined;
      this.held--;
    }
    this.present[pfn] = 0;
    return pfn;
  }

  /** Raw entry of a table, whatever the frame's state (walkers go through the oracle first). */
  entry(pfn: number, index: number): number {
    const t = this.tables[pfn];
    return t === undefined ? 0 : t[index]!;
  }

  /** Present entries in a live table. */
  presentCount(pfn: number): number {
    return pfn < this.present.length ? this.present[pfn]! : 0;
  }

  private writable(pfn: number, op: string): Int32Array {
    const t = this.tables[pfn];
    const st = this.alloc.stateOf(pfn);
    if (t === undefined || st !== FrameState.TABLE)
      throw new ParameterError("pfn", pfn, "a live page-table frame", op);
    return t;
  }

  /** set_pXd: point entry `index` of table `pfn` at the next-level table `child`. */
  setTable(pfn: number, index: number, child: number): void {
    const t = this.writable(pfn, "setTable");
    if (t[index] === 0) this.present[pfn]!++;
    t[index] = child + 1;
  }

  /** set_pte_at (or set_pmd_at/set_pud_at with `huge`): map data frame `data`. */
  setLeaf(pfn: number, index: number, data: number, huge = false): void {
    const t = this.writable(pfn, "setLeaf");
    if (t[index] === 0) this.present[pfn]!++;
    t[index] = huge ? -(data + 1) : data + 1;
  }

  /** pXd_clear / ptep_get_and_clear: returns the old raw entry. */
  clear(pfn: number, index: number): number {
    const t = this.writable(pfn, "clear");
    const old = t[index]!;
    if (old !== 0) {
      t[index] = 0;
      this.present[pfn]!--;
    }
    return old;
  }

  /** Moves an entry from one slot to another (move_page_tables' move_ptes). */
  move(fromPfn: number, fromIndex: number, toPfn: number, toIndex: number): void {
    const raw = this.clear(fromPfn, fromIndex);
    const t = this.writable(toPfn, "move");
    if (raw === 0) return;
    if (t[toIndex] !== 0)
      throw new ParameterError("toIndex", toIndex, "an empty destination entry", "move");
    t[toIndex] = raw;
    this.present[toPfn]!++;
  }

  /** Number of tables with contents held (live or stale). */
  get tablesHeld(): number {
    return this.held;
  }
}

/** Decoded entry. */
export type Entry =
  | { readonly kind: "none" }
  | { readonly kind: "table"; readonly pfn: number }
  | { readonly kind: "leaf"; readonly pfn: number; readonly huge: boolean };

/** The next-level table a raw pgd/p4d/pud/pmd entry points to, or −1 (none or a huge leaf):
 * pXd_none / pXd_huge in one test. */
export function entryTable(raw: number): number {
  return raw > 0 ? raw - 1 : -1;
}

export function decodeEntry(raw: number, level: TableLevel): Entry {
  if (raw === 0) return { kind: "none" };
  if (raw < 0) return { kind: "leaf", pfn: -raw - 1, huge: true };
  if (level === "pte") return { kind: "leaf", pfn: raw - 1, huge: false };
  return { kind: "table", pfn: raw - 1 };
}
