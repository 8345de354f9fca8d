/**
 * The use-after-free oracle: every read a walker makes through a page-table pointer is checked
 * against the frame's state at that instant.
 *
 * A read is safe while the frame still holds the table the pointer was taken from: live,
 * unlinked (cleared from its parent but not yet freed) or pending RCU. It is a use-after-free
 * when the frame has been freed, or freed and reused (its allocation generation moved on). That
 * is "stepping on an already freed page" in the words of the seed patch; on real hardware it is
 * silent, so the oracle is what makes it visible. Every such read is reported with the reader,
 * the address walked, the frame's history and the trace around it; nothing is dropped.
 */
import type { FrameHistoryItem } from "../contract/mime.js";
import type { Simulation } from "../sim/simulation.js";
import type { TraceEvent } from "../sim/trace.js";
import {
  FRAME_STATE_NAMES,
  FrameState,
  type PageAllocator,
  type TableLevel,
} from "./page-alloc.js";
import type { PageTableStore, TablePtr } from "./pgtable.js";

/** Who read freed memory: a lockless software walker with interrupts off (gup_fast), a
 * pte_offset_map() walker inside rcu_read_lock() with interrupts on (page faults, mincore,
 * PT_RECLAIM: v6.6+), the CPU's page walker going through a cached paging-structure entry or
 * from CR3, or a TLB hit translating to a frame freed since the translation was cached (the
 * stale-TLB class). */
export type UafReader = "software" | "software-rcu" | "hw-walker" | "stale-tlb";

/**
 * What was wrong with the frame a walker read:
 * - "freed": the table it took the pointer to has been freed (same allocation generation);
 * - "reused": freed and allocated again for something else;
 * - "not-a-table": the entry led to a frame that was never a page table of that level — a
 *   pmd installed from an empty entry points at frame 0 (CVE-2024-50066);
 * - "foreign-table": a live table that belongs to another mm and whose entry has changed since
 *   the walker's mm stopped sharing it (hugetlb PMD unsharing, CVE-2025-38085).
 */
export type BadReadKind = "freed" | "reused" | "not-a-table" | "foreign-table";

/** The cached entry a hardware read came through (hw/tlb-cache.ts), as the report shows it. */
export interface CachedEntryInfo {
  /** "pml5e", "pml4e", "pdpte", "pde" (paging-structure caches), "tlb", or "cr3" for a walk
   * that started at the root. */
  readonly cache: string;
  readonly pcid: number;
  /** Base of the region the entry translates. */
  readonly va: number;
  /** The frame the entry points to and its generation when it was cached. */
  readonly pfn: number;
  readonly gen: number;
  /** When it was cached, ns. */
  readonly filledAt: number;
}

export interface UafReport {
  /** Simulated time of the read, ns. */
  readonly t: number;
  readonly cpu: number;
  /** Software walker, hardware page walker, or stale TLB entry. */
  readonly reader: UafReader;
  /** For hardware readers: the cached entry the read came through. */
  readonly via?: CachedEntryInfo;
  /** The walker ("gup_fast", "hw page walk", …). */
  readonly walker: string;
  /** Virtual address being translated. */
  readonly addr: number;
  /** Level of the table the walker believed it was reading, or "page" for a pin of a data
   * page that had been freed (get_page on a freed page: the 2019 Babka race). */
  readonly level: TableLevel | "page";
  readonly pfn: number;
  /** Generation the pointer was taken at, and the frame's generation at the read. */
  readonly expectedGen: number;
  readonly actualGen: number;
  /** "freed", "reused", "not-a-table" or "foreign-table" ({@link BadReadKind}). */
  readonly kind: BadReadKind;
  /** State name of the frame at the read (free, table, data, …). */
  readonly frameState: string;
  readonly history: readonly FrameHistoryItem[];
  /** Trace events within `traceWindowNs` before the read. */
  readonly traceSlice: readonly TraceEvent[];
}

export class UafOracle {
  readonly reports: UafReport[] = [];
  /**
   * hugetlb PMD sharing (mm/hugetlb.c huge_pmd_share): the mms whose PUD entry points at a
   * shared PMD table, besides its owner. Empty unless some table was ever shared, so the walkers
   * skip the ownership check then.
   */
  readonly sharers = new Map<number, Set<number>>();
  /** Tables an mm stopped sharing (huge_pmd_unshare), with the table's entries at that moment:
   * a read by that mm's walker is a foreign-table read once the entry it reads has changed. */
  readonly leftShared = new Map<number, Map<number, Int32Array>>();
  /** Reads checked (a cheap count of how much walking was watched). */
  reads = 0;
  private readonly sim: Simulation;
  private readonly alloc: PageAllocator;
  /** The tables' contents, for the foreign-table check (what an entry holds now). */
  private readonly pt: PageTableStore | undefined;
  /** How far back the trace slice in a report reaches, ns. */
  traceWindowNs = 50_000;

  constructor(sim: Simulation, alloc: PageAllocator, pt?: PageTableStore) {
    this.sim = sim;
    this.alloc = alloc;
    this.pt = pt;
  }

  /** True if `ptr` still designates the table it was taken from. */
  valid(ptr: TablePtr): boolean {
    return this.validTable(ptr.pfn, ptr.gen);
  }

  /** {@link valid} for a frame and generation, without a pointer (docs/benchmarks.md,
   * "Performance devices"). */
  validTable(pfn: number, gen: number): boolean {
    const st = this.alloc.stateOf(pfn);
    return (
      this.alloc.generation(pfn) === gen &&
      (st === FrameState.TABLE || st === FrameState.UNLINKED || st === FrameState.PENDING_RCU)
    );
  }

  /** True if data frame `pfn` is still the page of generation `gen` (no read counted). */
  validPage(pfn: number, gen: number): boolean {
    return this.alloc.generation(pfn) === gen && this.alloc.stateOf(pfn) === FrameState.DATA;
  }

  /**
   * Checks a pin (page_cache_get_speculative / get_page_unless_zero) of the data page a pte
   * pointed to when it was read. A freed page fails the pin harmlessly in the kernel (refcount
   * zero) but is still a use of freed memory, and a reused one would be pinned by mistake: both
   * are reported. Returns true if the page is still the one the pte mapped.
   */
  checkPin(cpu: number, walker: string, ptr: TablePtr, addr: number): boolean {
    this.reads++;
    const st = this.alloc.stateOf(ptr.pfn);
    if (this.alloc.generation(ptr.pfn) === ptr.gen && st === FrameState.DATA) return true;
    this.report(cpu, walker, ptr, addr, "page");
    return false;
  }

  /**
   * Checks a read of a page-table entry by the CPU's page walker, which took `ptr` from a cached
   * paging-structure entry (or from CR3, or from the entry above it in this walk): `via` names
   * the cached entry the walk started from.
   */
  checkHwRead(
    cpu: number,
    ptr: TablePtr,
    addr: number,
    level: TableLevel,
    via: CachedEntryInfo,
  ): boolean {
    this.reads++;
    if (this.valid(ptr)) return true;
    this.report(cpu, "hw page walk", ptr, addr, level, "hw-walker", via);
    return false;
  }

  /** Reports a hardware walk that reached a live frame which is not a table of `level` (the
   * caller has checked the frame's level; the read is not counted again). */
  reportHwNotATable(
    cpu: number,
    ptr: TablePtr,
    addr: number,
    level: TableLevel,
    via: CachedEntryInfo,
  ): void {
    this.report(cpu, "hw page walk", ptr, addr, level, "hw-walker", via, "not-a-table");
  }

  /**
   * Checks an access that hit the TLB: the cached translation must still map the data page it
   * was made for. A hit to a freed or reused frame is the stale-TLB class (a missed flush).
   */
  checkTlbHit(cpu: number, page: TablePtr, addr: number, via: CachedEntryInfo): boolean {
    this.reads++;
    const st = this.alloc.stateOf(page.pfn);
    if (this.alloc.generation(page.pfn) === page.gen && st === FrameState.DATA) return true;
    this.report(cpu, "user access (TLB hit)", page, addr, "page", "stale-tlb", via);
    return false;
  }

  /**
   * Checks a read of a `level` table entry by a walker of mm `mm` that may take the pointer from
   * an entry no kernel should have written (a pmd made from an empty one) or from a table its mm
   * no longer shares. Reported, in this order: freed or reused; not a table of that level
   * ("not-a-table"); a live table of another mm, changed at `index` since `mm` left it
   * ("foreign-table"). `reader` is the walker's kind.
   */
  checkTableRead(
    cpu: number,
    walker: string,
    reader: UafReader,
    ptr: TablePtr,
    addr: number,
    level: TableLevel,
    mm: number,
    index: number,
  ): boolean {
    this.reads++;
    if (!this.valid(ptr)) {
      this.report(cpu, walker, ptr, addr, level, reader);
      return false;
    }
    if (this.alloc.levelOf(ptr.pfn) !== level) {
      this.report(cpu, walker, ptr, addr, level, reader, undefined, "not-a-table");
      return false;
    }
    if (this.sharers.size === 0) return true;
    // a table that was ever shared belongs to its current sharers, its allocator included or not
    const sharing = this.sharers.get(ptr.pfn);
    if (sharing === undefined ? this.alloc.ownerOf(ptr.pfn) === mm : sharing.has(mm)) return true;
    const left = this.leftShared.get(ptr.pfn)?.get(mm);
    if (left === undefined || left[index] === this.pt?.entry(ptr.pfn, index)) return true;
    this.report(cpu, walker, ptr, addr, level, reader, undefined, "foreign-table");
    return false;
  }

  /**
   * Checks one read through `ptr`. Returns true if safe; otherwise records a report and returns
   * false (the caller goes on reading whatever the frame now holds, as the CPU would).
   */
  checkRead(cpu: number, walker: string, ptr: TablePtr, addr: number, level: TableLevel): boolean {
    this.reads++;
    if (this.valid(ptr)) return true;
    this.report(cpu, walker, ptr, addr, level);
    return false;
  }

  private report(
    cpu: number,
    walker: string,
    ptr: TablePtr,
    addr: number,
    level: TableLevel | "page",
    reader: UafReader = "software",
    via?: CachedEntryInfo,
    badKind?: BadReadKind,
  ): void {
    const actualGen = this.alloc.generation(ptr.pfn);
    const kind: BadReadKind = badKind ?? (actualGen === ptr.gen ? "freed" : "reused");
    const now = this.sim.now;
    const from = now - this.traceWindowNs;
    const traceSlice = this.sim.trace.enabled
      ? this.sim.trace.events.filter((e) => e.ts + (e.dur ?? 0) >= from && e.ts <= now)
      : [];
    this.alloc.note(
      ptr.pfn,
      kind === "freed" || kind === "reused"
        ? `use-after-free read by ${walker} on cpu${cpu}`
        : `${kind} read by ${walker} on cpu${cpu}`,
      `cpu${cpu}`,
    );
    this.sim.trace.instant(cpu, "mmulab:use_after_free", {
      walker,
      reader,
      pfn: ptr.pfn,
      level,
      addr: `0x${addr.toString(16)}`,
      kind,
      ...(via
        ? { via: `${via.cache} pcid ${via.pcid} 0x${via.va.toString(16)} -> ${via.pfn}` }
        : {}),
    });
    this.reports.push({
      t: now,
      cpu,
      reader,
      ...(via ? { via } : {}),
      walker,
      addr,
      level,
      pfn: ptr.pfn,
      expectedGen: ptr.gen,
      actualGen,
      kind,
      frameState: FRAME_STATE_NAMES[this.alloc.stateOf(ptr.pfn)],
      history: [...this.alloc.history(ptr.pfn)],
      traceSlice,
    });
  }
}
