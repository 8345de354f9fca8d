/**
 * One logical processor's translation caches (Intel SDM vol. 3A §4.10, "Caching Translation
 * Information"; reference/hardware-and-hypervisors.md §1):
 *
 *   - the TLB: (PCID, linear page) → physical frame and access rights. An entry made from a
 *     translation with G = 1 is global and is used under every PCID;
 *   - the paging-structure caches (PSC): the PML5E, PML4E, PDPTE and PDE caches, each indexed by
 *     PCID and the linear-address bits its entry translates, holding a pointer to the next table.
 *     A PSC entry is always tied to one PCID (G applies to the TLB only).
 *
 * Entries remember the allocation generation of the frame they point to, as a software walker's
 * pointer does (mm/pgtable.ts TablePtr): a cached pointer outlives the entry it was read from, and
 * the use-after-free oracle needs to know whether the frame still holds what was cached.
 *
 * A processor may drop any entry at any time and may cache an entry for a table that never
 * produced a TLB entry (§4.10.3.1); it must not be assumed that an entry is absent until it has
 * been invalidated. Invalidation follows §4.10.4.1 (table in hardware-and-hypervisors.md §1.3):
 * INVLPG drops the page's TLB entries of the current PCID and its global ones, and *every* PSC
 * entry of the current PCID; INVPCID by type; MOV to CR3 without the no-flush bit drops the new
 * PCID's non-global entries and PSC entries (with CR4.PCIDE = 0, everything non-global); and AMD's
 * INVLPGB reaches every processor at once with no interrupt (see `invlpgb` below).
 *
 * Sizes: Intel publishes no PSC sizes; the default of 16 entries in all is AMD Family 16h's Page
 * Directory Cache (Software Optimization Guide 52128 rev 1.1). The TLB default is Skylake's
 * second-level TLB, 1,536 entries (Intel Optimization Reference Manual 248966, Table 2-15),
 * modelled fully associative: ways, the first-level TLBs and large-page TLBs are left out — they
 * change how long an entry lives, which a model may not rely on anyway. Replacement is
 * least-recently-used or random, per the parameters.
 */
import { checkInt, checkOptions, ParameterError } from "../sim/errors.js";
import type { Rng } from "../sim/rng.js";

/** The paging-structure caches, top down (5-level paging adds the PML5E cache). */
export type PscLevel = "pml5e" | "pml4e" | "pdpte" | "pde";

/** Bit position of the lowest linear-address bit each PSC indexes by (§4.10.3.1): PDE caches
 * bits 47:21, PDPTE 47:30, PML4E 47:39, PML5E 56:48. */
export const PSC_SHIFT: Readonly<Record<PscLevel, number>> = Object.freeze({
  pml5e: 48,
  pml4e: 39,
  pdpte: 30,
  pde: 21,
});
const PSC_CODE: Readonly<Record<PscLevel, number>> = Object.freeze({
  pml5e: 0,
  pml4e: 1,
  pdpte: 2,
  pde: 3,
});

export interface TlbParams {
  /** TLB entries (all PCIDs together). Default 1,536 (Skylake STLB). */
  readonly tlbEntries: number;
  /** Paging-structure-cache entries, all levels and PCIDs together. Default 16 (AMD Family 16h
   * Page Directory Cache). */
  readonly pscEntries: number;
  /** Which entry a full cache gives up. Default "lru". */
  readonly replacement: "lru" | "random";
}

export const DEFAULT_TLB_PARAMS: TlbParams = Object.freeze({
  tlbEntries: 1536,
  pscEntries: 16,
  replacement: "lru",
});

/** Largest cache the model accepts (a bound on what one mistake can allocate). */
export const MAX_TLB_ENTRIES = 1 << 16;

export function resolveTlbParams(p: Partial<TlbParams> | undefined, ctx: string): TlbParams {
  if (p === undefined) return DEFAULT_TLB_PARAMS;
  checkOptions("tlb", p ?? {}, Object.keys(DEFAULT_TLB_PARAMS), ctx);
  const r = { ...DEFAULT_TLB_PARAMS, ...p };
  checkInt("tlb.tlbEntries", r.tlbEntries, 1, MAX_TLB_ENTRIES, ctx);
  checkInt("tlb.pscEntries", r.pscEntries, 0, MAX_TLB_ENTRIES, ctx);
  if (r.replacement !== "lru" && r.replacement !== "random")
    throw new ParameterError("tlb.replacement", r.replacement, '"lru" or "random"', ctx);
  return Object.freeze(r);
}

export interface TlbEntry {
  readonly pcid: number;
  /** Linear page base address. */
  readonly va: number;
  /** Frame and its allocation generation when the translation was cached. */
  readonly pfn: number;
  readonly gen: number;
  readonly writable: boolean;
  readonly global: boolean;
  /** Simulated time of the fill, ns. */
  readonly filledAt: number;
  lastUse: number;
}

export interface PscEntry {
  readonly pcid: number;
  readonly level: PscLevel;
  /** Base of the linear-address region the entry translates (va with the low bits cleared). */
  readonly va: number;
  /** The next-level table the cached entry points to, and its generation then. */
  readonly pfn: number;
  readonly gen: number;
  readonly filledAt: number;
  lastUse: number;
}

/** What an invalidation did, for the timeline and the counters. */
export interface InvalidateCounts {
  tlb: number;
  psc: number;
}

export interface TlbCacheStats {
  tlbFills: number;
  pscFills: number;
  tlbHits: number;
  pscHits: number;
  /** Entries dropped by invalidations (not by replacement). */
  tlbInvalidated: number;
  pscInvalidated: number;
  /** Entries given up to make room. */
  evictions: number;
}

function tlbKey(va: number): number {
  return Math.floor(va / 4096);
}

/** Bytes one entry of each cache translates, by PSC_CODE. */
const PSC_SPAN_BY_CODE: readonly number[] = [2 ** 48, 2 ** 39, 2 ** 30, 2 ** 21];

function pscKey(level: PscLevel, va: number): number {
  const code = PSC_CODE[level];
  return Math.floor(va / PSC_SPAN_BY_CODE[code]!) * 4 + code;
}

/** INVPCID types (SDM vol. 2, INVPCID). */
export const INVPCID_TYPE = {
  INDIV_ADDR: 0,
  SINGLE_CTXT: 1,
  ALL_INCL_GLOBAL: 2,
  ALL_NON_GLOBAL: 3,
} as const;
export type InvpcidType = (typeof INVPCID_TYPE)[keyof typeof INVPCID_TYPE];

/**
 * The caches of one logical processor. Entries of each PCID are kept apart (non-global TLB
 * entries and PSC entries per PCID; global TLB entries on their own), capacity is shared.
 */
export class TranslationCaches {
  readonly cpu: number;
  readonly params: TlbParams;
  readonly stats: TlbCacheStats = {
    tlbFills: 0,
    pscFills: 0,
    tlbHits: 0,
    pscHits: 0,
    tlbInvalidated: 0,
    pscInvalidated: 0,
    evictions: 0,
  };
  private readonly rng: Rng;
  /** The simulation's clock (for when an entry was filled). */
  private readonly clockSource: { readonly now: number };
  /** Non-global TLB entries by PCID, then by linear page number. */
  private readonly tlb = new Map<number, Map<number, TlbEntry>>();
  private readonly globals = new Map<number, TlbEntry>();
  private readonly psc = new Map<number, Map<number, PscEntry>>();
  private tlbCount = 0;
  private pscCount = 0;
  private clock = 0;

  constructor(cpu: number, params: TlbParams, rng: Rng, clockSource: { readonly now: number }) {
    this.cpu = cpu;
    this.params = params;
    this.rng = rng;
    this.clockSource = clockSource;
  }

  get tlbSize(): number {
    return this.tlbCount;
  }
  get pscSize(): number {
    return this.pscCount;
  }

  /** A TLB lookup for (pcid, va): a global entry for the page, else the PCID's own. */
  lookupTlb(pcid: number, va: number): TlbEntry | undefined {
    const key = tlbKey(va);
    const e =
      (this.globals.size > 0 ? this.globals.get(key) : undefined) ?? this.tlb.get(pcid)?.get(key);
    if (e !== undefined) {
      e.lastUse = ++this.clock;
      this.stats.tlbHits++;
    }
    return e;
  }

  /** The longest-matching PSC entry for (pcid, va) among `levels` (the walk's levels, deepest
   * first), as the page walker uses them (§4.10.3.2). */
  lookupPsc(pcid: number, va: number, levels: readonly PscLevel[]): PscEntry | undefined {
    const m = this.psc.get(pcid);
    if (m === undefined || m.size === 0) return undefined;
    for (const level of levels) {
      const e = m.get(pscKey(level, va));
      if (e !== undefined) {
        e.lastUse = ++this.clock;
        this.stats.pscHits++;
        return e;
      }
    }
    return undefined;
  }

  /** Caches a translation made by a page walk. */
  fillTlb(pcid: number, va: number, pfn: number, gen: number, writable: boolean, global: boolean) {
    const key = tlbKey(va);
    const entry: TlbEntry = {
      pcid,
      va: key * 4096,
      pfn,
      gen,
      writable,
      global,
      filledAt: this.clockSource.now,
      lastUse: ++this.clock,
    };
    const map = global ? this.globals : this.perPcid(this.tlb, pcid);
    if (!map.has(key)) {
      if (this.tlbCount >= this.params.tlbEntries) this.evictTlb();
      this.tlbCount++;
    }
    map.set(key, entry);
    this.stats.tlbFills++;
    return entry;
  }

  /** Caches a paging-structure entry (P = 1) read by a walk: `level` names the cache. */
  fillPsc(pcid: number, level: PscLevel, va: number, pfn: number, gen: number): PscEntry | null {
    if (this.params.pscEntries === 0) return null;
    const key = pscKey(level, va);
    const map = this.perPcid(this.psc, pcid);
    if (!map.has(key)) {
      if (this.pscCount >= this.params.pscEntries) this.evictPsc();
      this.pscCount++;
    }
    const span = 2 ** PSC_SHIFT[level];
    const entry: PscEntry = {
      pcid,
      level,
      va: Math.floor(va / span) * span,
      pfn,
      gen,
      filledAt: this.clockSource.now,
      lastUse: ++this.clock,
    };
    map.set(key, entry);
    this.stats.pscFills++;
    return entry;
  }

  /** PSC entries of `pcid`. */
  pscCountOf(pcid: number): number {
    return this.psc.get(pcid)?.size ?? 0;
  }

  /** The `i`-th PSC entry of `pcid` in fill order (a speculative walk picks one), if any. */
  pscAt(pcid: number, i: number): PscEntry | undefined {
    const m = this.psc.get(pcid);
    if (m === undefined) return undefined;
    for (const e of m.values()) if (i-- === 0) return e;
    return undefined;
  }

  /** Every PSC entry of `pcid` (a speculative walk starts from one of these). */
  pscEntries(pcid: number): readonly PscEntry[] {
    const m = this.psc.get(pcid);
    return m === undefined ? [] : [...m.values()];
  }

  /** Every TLB entry usable under `pcid` (its own and the global ones). */
  tlbEntries(pcid: number): readonly TlbEntry[] {
    const m = this.tlb.get(pcid);
    return [...(m?.values() ?? []), ...this.globals.values()];
  }

  /** Every entry, without fill times or recency, in a canonical order: what the caches hold, for
   * the explorer's state digest. */
  contents(): string {
    const out: string[] = [];
    for (const [pcid, m] of this.tlb)
      for (const e of m.values())
        out.push(`t${pcid}:${e.va}>${e.pfn}g${e.gen}${e.writable ? "w" : ""}`);
    for (const e of this.globals.values()) out.push(`G:${e.va}>${e.pfn}g${e.gen}`);
    for (const [pcid, m] of this.psc)
      for (const e of m.values()) out.push(`${e.level}${pcid}:${e.va}>${e.pfn}g${e.gen}`);
    return out.sort().join(" ");
  }

  /** PSC entries (of any PCID) that point at frame `pfn`: the CPU can still reach that table. */
  pscPointingAt(pfn: number): PscEntry[] {
    const out: PscEntry[] = [];
    for (const m of this.psc.values()) for (const e of m.values()) if (e.pfn === pfn) out.push(e);
    return out;
  }

  /**
   * INVLPG m (§4.10.4.1): the TLB entries for the page of `va` in `pcid` (the current PCID) and
   * the global ones for that page, and all PSC entries of `pcid` whatever their address.
   */
  invlpg(pcid: number, va: number): InvalidateCounts {
    const key = tlbKey(va);
    let tlb = 0;
    if (this.tlb.get(pcid)?.delete(key)) tlb++;
    if (this.globals.delete(key)) tlb++;
    this.tlbCount -= tlb;
    this.stats.tlbInvalidated += tlb;
    return { tlb, psc: this.dropPsc(pcid) };
  }

  /**
   * INVPCID: type 0 the non-global entries for (pcid, va) and — as for INVLPG, SDM wording not
   * re-read [U] — the PSC entries of `pcid`; type 1 every non-global and PSC entry of `pcid`; type
   * 2 everything, globals included; type 3 everything but globals.
   */
  invpcid(type: InvpcidType, pcid: number, va = 0): InvalidateCounts {
    switch (type) {
      case INVPCID_TYPE.INDIV_ADDR: {
        const tlb = this.tlb.get(pcid)?.delete(tlbKey(va)) ? 1 : 0;
        this.tlbCount -= tlb;
        this.stats.tlbInvalidated += tlb;
        return { tlb, psc: this.dropPsc(pcid) };
      }
      case INVPCID_TYPE.SINGLE_CTXT:
        return { tlb: this.dropTlb(pcid), psc: this.dropPsc(pcid) };
      case INVPCID_TYPE.ALL_INCL_GLOBAL:
        return this.flushAll(true);
      case INVPCID_TYPE.ALL_NON_GLOBAL:
        return this.flushAll(false);
      default:
        throw new ParameterError("type", type, "an INVPCID type 0 … 3", "invpcid");
    }
  }

  /**
   * MOV to CR3 loading `pcid`. With CR4.PCIDE = 0 it invalidates every non-global TLB entry and
   * every PSC entry; with PCIDE = 1 and bit 63 clear those of the new PCID only; with bit 63 set
   * (`noflush`) nothing.
   */
  movCr3(pcid: number, pcide: boolean, noflush: boolean): InvalidateCounts {
    if (!pcide) return this.flushAll(false);
    if (noflush) return { tlb: 0, psc: 0 };
    return { tlb: this.dropTlb(pcid), psc: this.dropPsc(pcid) };
  }

  /** Everything (MOV to CR4 changing PGE, or INVPCID type 2 / 3 without the globals). */
  flushAll(includeGlobal: boolean): InvalidateCounts {
    let tlb = 0;
    for (const m of this.tlb.values()) tlb += m.size;
    this.tlb.clear();
    if (includeGlobal) {
      tlb += this.globals.size;
      this.globals.clear();
    }
    this.tlbCount -= tlb;
    this.stats.tlbInvalidated += tlb;
    const psc = this.pscCount;
    this.psc.clear();
    this.pscCount = 0;
    this.stats.pscInvalidated += psc;
    return { tlb, psc };
  }

  /**
   * What one INVLPGB does on this processor (b7aa05cbdc52's comments in asm/tlb.h): the TLB
   * entries of `pcid` for `nrPages` pages from `va` a `stride` apart (all of the PCID's when `va`
   * is null) and, unless `finalOnly`, the PCID's PSC entries; with `includeGlobal` the global
   * entries of those pages too. With EFER.TCE clear, as Linux leaves it before 440a65b7d25f, the
   * upper-level entries go whatever the address; the model does that with TCE set as well, which
   * only removes more.
   */
  invlpgbLocal(
    pcid: number,
    va: number | null,
    nrPages: number,
    stride: number,
    includeGlobal: boolean,
    finalOnly: boolean,
  ): InvalidateCounts {
    let tlb = 0;
    if (va === null) tlb = this.dropTlb(pcid);
    else {
      const m = this.tlb.get(pcid);
      for (let i = 0; i < nrPages; i++) {
        const key = tlbKey(va + i * stride);
        if (m?.delete(key)) tlb++;
        if (includeGlobal && this.globals.delete(key)) tlb++;
      }
      this.tlbCount -= tlb;
      this.stats.tlbInvalidated += tlb;
    }
    return { tlb, psc: finalOnly ? 0 : this.dropPsc(pcid) };
  }

  /**
   * Invalidates the PCID's TLB entries for the pages of [start, end) — by walking the cached
   * entries when the range is larger than the cache — and its PSC entries: what a flush of a
   * range by INVLPG per page, or a hypervisor's flush of a list of addresses, leaves.
   */
  invalidateRange(pcid: number, start: number, end: number): InvalidateCounts {
    let tlb = 0;
    const m = this.tlb.get(pcid);
    if (m !== undefined && m.size > 0) {
      const pages = Math.ceil((end - start) / 4096);
      if (pages <= m.size) {
        for (let i = 0; i < pages; i++) if (m.delete(tlbKey(start + i * 4096))) tlb++;
      } else {
        for (const [key, e] of m)
          if (e.va >= start && e.va < end) {
            m.delete(key);
            tlb++;
          }
      }
    }
    this.tlbCount -= tlb;
    this.stats.tlbInvalidated += tlb;
    return { tlb, psc: this.dropPsc(pcid) };
  }

  private perPcid<T>(maps: Map<number, Map<number, T>>, pcid: number): Map<number, T> {
    let m = maps.get(pcid);
    if (m === undefined) {
      m = new Map();
      maps.set(pcid, m);
    }
    return m;
  }

  private dropTlb(pcid: number): number {
    const m = this.tlb.get(pcid);
    const n = m?.size ?? 0;
    m?.clear();
    this.tlbCount -= n;
    this.stats.tlbInvalidated += n;
    return n;
  }

  private dropPsc(pcid: number): number {
    const m = this.psc.get(pcid);
    const n = m?.size ?? 0;
    if (n === 0) return 0;
    m!.clear();
    this.pscCount -= n;
    this.stats.pscInvalidated += n;
    return n;
  }

  /** Gives up one TLB entry: the least recently used, or one at random. */
  private evictTlb(): void {
    const victim = this.pickVictim<TlbEntry>([...this.tlb.values(), this.globals]);
    if (victim === null) return;
    victim.map.delete(victim.key);
    this.tlbCount--;
    this.stats.evictions++;
  }

  private evictPsc(): void {
    const victim = this.pickVictim<PscEntry>([...this.psc.values()]);
    if (victim === null) return;
    victim.map.delete(victim.key);
    this.pscCount--;
    this.stats.evictions++;
  }

  private pickVictim<T extends { lastUse: number }>(
    maps: Map<number, T>[],
  ): { map: Map<number, T>; key: number } | null {
    let total = 0;
    for (const m of maps) total += m.size;
    if (total === 0) return null;
    let pick = this.params.replacement === "random" ? this.rng.int(0, total - 1) : -1;
    let best: { map: Map<number, T>; key: number } | null = null;
    let bestUse = Infinity;
    for (const m of maps)
      for (const [key, e] of m) {
        if (pick >= 0) {
          if (pick-- === 0) return { map: m, key };
          continue;
        }
        if (e.lastUse < bestUse) {
          bestUse = e.lastUse;
          best = { map: m, key };
        }
      }
    return best;
  }
}
