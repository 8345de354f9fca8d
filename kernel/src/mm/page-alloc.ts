/**
 * The page-frame allocator: every page the model touches (page tables, data pages, mmu_gather
 * batch pages) is a frame with a state and, for page tables, a short history.
 *
 * Mirrors the behaviour of mm/page_alloc.c that matters for the race: a freed page goes to the
 * head of the per-CPU hot list and is the first one handed out again (last in, first out). So a
 * page-table page freed under a lockless walker is, with high probability, promptly reused — and
 * a stale pointer meets a page that is now something else, which is exactly how the real bug
 * turns from a harmless stale read into corruption.
 *
 * `GFP_NOWAIT` allocations (mmu_gather's batch pages: tlb_next_batch, tlb_remove_table) can
 * fail, by a configured probability or a scripted failure, so the fallback paths
 * (tlb_remove_table_one, an early tlb_flush_mmu) can be driven on purpose.
 *
 * Frames are kept in flat typed arrays (struct of arrays): a kernbench run allocates millions of
 * data pages and the model must stay near a few bytes per page.
 */
import { checkNumber, checkInt, MmulabError, ParameterError } from "../sim/errors.js";
import type { Simulation } from "../sim/simulation.js";
import type { FrameHistoryItem } from "../contract/mime.js";

/** Frame states. UNLINKED and PENDING_RCU tables are still valid memory (not yet freed). */
export const FrameState = {
  FREE: 0,
  /** A page table linked into some mm's tree. */
  TABLE: 1,
  /** A page table cleared from its parent entry and queued for freeing (mmu_gather). */
  UNLINKED: 2,
  /** A page table handed to RCU: freed after a grace period. */
  PENDING_RCU: 3,
  DATA: 4,
  /** An mmu_gather batch page (struct mmu_gather_batch / mmu_table_batch). */
  BATCH: 5,
} as const;
export type FrameStateValue = (typeof FrameState)[keyof typeof FrameState];

export const FRAME_STATE_NAMES = [
  "free",
  "table",
  "unlinked",
  "pending-rcu",
  "data",
  "batch",
] as const;

/** Page-table levels as stored per frame (0 = not a table). */
export const LEVEL_CODES = { none: 0, pgd: 1, p4d: 2, pud: 3, pmd: 4, pte: 5 } as const;
export type TableLevel = "pgd" | "p4d" | "pud" | "pmd" | "pte";
const LEVEL_BY_CODE: readonly (TableLevel | null)[] = [null, "pgd", "p4d", "pud", "pmd", "pte"];

export type Gfp = "GFP_KERNEL" | "GFP_NOWAIT";

export type FrameUse =
  | { readonly kind: "table"; readonly level: TableLevel; readonly mm: number }
  | { readonly kind: "data"; readonly mm: number }
  | { readonly kind: "batch"; readonly of?: "pages" | "tables" };

export class AllocatorError extends MmulabError {}

export interface AllocatorParams {
  /** Probability that a GFP_NOWAIT allocation fails, 0 … 1. Default 0. */
  readonly nowaitFailureRate?: number;
  /** Keep a per-frame history for page-table frames (what the oracle reports). Default true. */
  readonly history?: boolean;
  /** History entries kept per frame (oldest dropped). Default 12. */
  readonly historyDepth?: number;
  /** Frames the machine has; an allocation beyond it fails (GFP_NOWAIT) or throws. Default
   * {@link DEFAULT_MAX_FRAMES}, at most {@link MAX_FRAMES}. */
  readonly maxFrames?: number;
}

export interface AllocatorStats {
  allocs: number;
  frees: number;
  nowaitFailures: number;
  /** Frames handed out again after having been freed. */
  reuses: number;
  /** Frames currently allocated, by state name. */
  readonly inUse: Record<(typeof FRAME_STATE_NAMES)[number], number>;
  /** Highest number of frames allocated at once. */
  peakInUse: number;
}

/** Frame slots a new allocator starts with, doubled as needed (a multiple of 4, which keeps the
 * 32-bit views of one buffer aligned). A race trial uses about 70 frames; starting at 1,024
 * zero-filled 14 KB per trial. */
const INITIAL_FRAMES = 128;

/**
 * Frames a machine has unless told otherwise: 2^22, 16 GiB of 4 KiB pages, far above what any
 * workload here uses (a kernel build peaks in the tens of thousands) and a bound on what one
 * mistake — an mmap with populate, a loop of faults — can cost. Untraced, a mapped page costs
 * the simulator about 60 bytes (the per-frame arrays, grown by doubling, and its page tables;
 * 1,048,576 pages populated: 56 MB of array buffers, 0.4 µs a page); traced, an event per fault
 * more, which the trace bounds (sim/trace.ts). 2^22 pages are about 250 MB and 2 s untraced.
 */
export const DEFAULT_MAX_FRAMES = 2 ** 22;
/**
 * Most frames a machine may be given: 32 GiB of 4 KiB pages, about 500 MB when all are mapped.
 * It was 2^31 − 2, whose per-frame arrays (30 GB) no process could allocate.
 */
export const MAX_FRAMES = 2 ** 23;

export class PageAllocator {
  private readonly sim: Simulation;
  private cap = 0;
  private state = new Uint8Array(0);
  private level = new Uint8Array(0);
  private gen = new Uint32Array(0);
  private owner = new Int32Array(0);
  /** Hot free list: the last freed frame is handed out first. */
  private free = new Int32Array(0);
  private freeTop = 0;
  private nextNew = 0;
  private readonly histories = new Map<number, FrameHistoryItem[]>();
  private failNext = 0;
  private failNextOf = { pages: 0, tables: 0 };
  private readonly historyOn: boolean;
  private readonly historyDepth: number;
  private readonly maxFrames: number;
  nowaitFailureRate: number;
  readonly stats: AllocatorStats = {
    allocs: 0,
    frees: 0,
    nowaitFailures: 0,
    reuses: 0,
    inUse: { free: 0, table: 0, unlinked: 0, "pending-rcu": 0, data: 0, batch: 0 },
    peakInUse: 0,
  };
  private inUseTotal = 0;

  constructor(sim: Simulation, params: AllocatorParams = {}) {
    this.sim = sim;
    this.nowaitFailureRate = checkNumber(
      "nowaitFailureRate",
      params.nowaitFailureRate ?? 0,
      0,
      1,
      "PageAllocator",
    );
    this.historyOn = params.history ?? true;
    this.historyDepth = checkInt(
      "historyDepth",
      params.historyDepth ?? 12,
      1,
      1000,
      "PageAllocator",
    );
    this.maxFrames = checkInt(
      "maxFrames",
      params.maxFrames ?? DEFAULT_MAX_FRAMES,
      1,
      MAX_FRAMES,
      "PageAllocator",
    );
    this.grow(INITIAL_FRAMES);
  }

  /** Frames this allocator can hand out at most (its `maxFrames`). */
  get frameLimit(): number {
    return this.maxFrames;
  }

  /** Frames it can still hand out now. */
  get framesFree(): number {
    return this.maxFrames - this.inUseTotal;
  }

  private grow(min: number): void {
    let cap = Math.max(this.cap * 2, INITIAL_FRAMES);
    while (cap < min) cap *= 2;
    // One buffer for the five per-frame arrays (why: docs/benchmarks.md, "Performance devices").
    const buf = new ArrayBuffer(cap * 14);
    const gen = new Uint32Array(buf, 0, cap);
    const owner = new Int32Array(buf, cap * 4, cap);
    const free = new Int32Array(buf, cap * 8, cap);
    const state = new Uint8Array(buf, cap * 12, cap);
    const level = new Uint8Array(buf, cap * 13, cap);
    gen.set(this.gen);
    owner.set(this.owner);
    free.set(this.free.subarray(0, this.freeTop));
    state.set(this.state);
    level.set(this.level);
    this.gen = gen;
    this.owner = owner;
    this.free = free;
    this.state = state;
    this.level = level;
    this.cap = cap;
  }

  /**
   * Makes the next `count` GFP_NOWAIT allocations fail (scripted fault injection); with `of`,
   * only batch pages for data pages (tlb_next_batch) or for tables (tlb_remove_table).
   */
  failNextNowait(count = 1, of?: "pages" | "tables"): void {
    checkInt("count", count, 0, Number.MAX_SAFE_INTEGER, "PageAllocator.failNextNowait");
    if (of === undefined) this.failNext += count;
    else this.failNextOf[of] += count;
  }

  /**
   * __get_free_page / alloc_page. Returns the frame number, or -1 when a GFP_NOWAIT allocation
   * fails. GFP_KERNEL never fails in the model (it would reclaim or OOM-kill); running out of
   * `maxFrames` with GFP_KERNEL throws.
   */
  alloc(use: FrameUse, gfp: Gfp, by?: string): number {
    if (gfp === "GFP_NOWAIT") {
      const of = use.kind === "batch" ? use.of : undefined;
      if (of !== undefined && this.failNextOf[of] > 0) {
        this.failNextOf[of]--;
        this.stats.nowaitFailures++;
        return -1;
      }
      if (this.failNext > 0) {
        this.failNext--;
        this.stats.nowaitFailures++;
        return -1;
      }
      if (this.nowaitFailureRate > 0 && this.sim.rng.float() < this.nowaitFailureRate) {
        this.stats.nowaitFailures++;
        return -1;
      }
    }
    let pfn: number;
    let reused = false;
    if (this.freeTop > 0) {
      pfn = this.free[--this.freeTop]!;
      reused = true;
    } else {
      if (this.nextNew >= this.maxFrames) {
        if (gfp === "GFP_NOWAIT") {
          this.stats.nowaitFailures++;
          return -1;
        }
        throw new AllocatorError(`out of memory: all ${this.maxFrames} frames are in use`);
      }
      pfn = this.nextNew++;
      if (pfn >= this.cap) this.grow(pfn + 1);
    }
    const st =
      use.kind === "table"
        ? FrameState.TABLE
        : use.kind === "data"
          ? FrameState.DATA
          : FrameState.BATCH;
    this.state[pfn] = st;
    this.gen[pfn] = this.gen[pfn]! + 1;
    this.level[pfn] = use.kind === "table" ? LEVEL_CODES[use.level] : 0;
    this.owner[pfn] = use.kind === "batch" ? -1 : use.mm;
    this.stats.allocs++;
    if (reused) this.stats.reuses++;
    this.stats.inUse[FRAME_STATE_NAMES[st]]++;
    if (++this.inUseTotal > this.stats.peakInUse) this.stats.peakInUse = this.inUseTotal;
    if (this.historyOn && (use.kind === "table" || this.histories.has(pfn))) {
      const what =
        use.kind === "table"
          ? `alloc ${use.level} table (mm ${use.mm})`
          : use.kind === "data"
            ? `alloc data page (mm ${use.mm})`
            : "alloc mmu_gather batch page";
      this.record(pfn, what, by);
    }
    return pfn;
  }

  /** free_page / put_page to zero: the frame goes to the head of the hot list. `by` names who
   * frees it and `via` (if given) the path; they are joined only when a history or an error needs
   * them, as teardown frees hundreds of thousands of tables. */
  freePage(pfn: number, by?: string, via?: string): void {
    this.checkPfn(pfn, "freePage");
    const st = this.state[pfn]!;
    if (via !== undefined && by !== undefined && (st === FrameState.FREE || this.historyOn))
      by = `${by} ${via}`;
    if (st === FrameState.FREE)
      throw new AllocatorError(`double free of frame ${pfn}${by ? ` by ${by}` : ""}`);
    this.stats.inUse[FRAME_STATE_NAMES[st]!]--;
    this.inUseTotal--;
    this.state[pfn] = FrameState.FREE;
    this.stats.frees++;
    if (this.freeTop >= this.free.length) this.grow(this.cap + 1);
    this.free[this.freeTop++] = pfn;
    if (this.historyOn && this.histories.has(pfn)) this.record(pfn, "free", by);
  }

  /** Moves a table frame through its teardown states (unlinked → pending RCU); `by` and `via`
   * as for {@link freePage}. */
  setTableState(
    pfn: number,
    st: typeof FrameState.UNLINKED | typeof FrameState.PENDING_RCU,
    by?: string,
    via?: string,
  ): void {
    this.checkPfn(pfn, "setTableState");
    const old = this.state[pfn]!;
    if (old !== FrameState.TABLE && old !== FrameState.UNLINKED && old !== FrameState.PENDING_RCU)
      throw new AllocatorError(
        `frame ${pfn} is ${FRAME_STATE_NAMES[old]}, not a page table; cannot mark it ${FRAME_STATE_NAMES[st]}`,
      );
    this.stats.inUse[FRAME_STATE_NAMES[old]]--;
    this.stats.inUse[FRAME_STATE_NAMES[st]]++;
    this.state[pfn] = st;
    if (this.historyOn)
      this.record(
        pfn,
        st === FrameState.UNLINKED ? "unlinked from parent" : "handed to RCU",
        via !== undefined && by !== undefined ? `${by} ${via}` : by,
      );
  }

  private checkPfn(pfn: number, op: string): void {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= this.nextNew)
      throw new ParameterError(
        "pfn",
        pfn,
        `a frame number from 0 to ${this.nextNew - 1}`,
        `PageAllocator.${op}`,
      );
  }

  private record(pfn: number, what: string, by?: string): void {
    let h = this.histories.get(pfn);
    if (!h) {
      h = [];
      this.histories.set(pfn, h);
    }
    h.push(by ? { t: this.sim.now, what, by } : { t: this.sim.now, what });
    if (h.length > this.historyDepth) h.shift();
  }

  /** Adds a note to a frame's history (e.g. "read by gup_fast on cpu1"). */
  note(pfn: number, what: string, by?: string): void {
    if (this.historyOn) this.record(pfn, what, by);
  }

  stateOf(pfn: number): FrameStateValue {
    return this.state[pfn]! as FrameStateValue;
  }
  stateName(pfn: number): (typeof FRAME_STATE_NAMES)[number] {
    return FRAME_STATE_NAMES[this.state[pfn]!]!;
  }
  generation(pfn: number): number {
    return this.gen[pfn]!;
  }
  levelOf(pfn: number): TableLevel | null {
    return LEVEL_BY_CODE[this.level[pfn]!] ?? null;
  }
  ownerOf(pfn: number): number {
    return this.owner[pfn]!;
  }
  history(pfn: number): readonly FrameHistoryItem[] {
    return this.histories.get(pfn) ?? [];
  }
  /** The hot free list, next frame to be handed out last (the explorer hashes it: it decides
   * which frame the next allocation reuses). */
  freeList(): number[] {
    return Array.from(this.free.subarray(0, this.freeTop));
  }
  /** Frames ever created. */
  get framesCreated(): number {
    return this.nextNew;
  }
  /** Frames allocated now. */
  get inUse(): number {
    return this.inUseTotal;
  }
  /** Approximate bytes the allocator's own arrays take per created frame (for the memory bench). */
  get bytesPerFrame(): number {
    return 1 + 1 + 4 + 4 + 4;
  }
}
