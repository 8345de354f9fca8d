/**
 * x86 ASID numbering and v6.15's global ASID space (arch/x86/include/asm/tlbflush.h,
 * arch/x86/mm/tlb.c; 6a7a65ddfd6d / d504d1247e36 "x86/mm: Add global ASID allocation helper
 * functions", Rik van Riel, 2025).
 *
 *   ASID  [0, TLB_NR_DYN_ASIDS − 1]                  dynamic: chosen per CPU by choose_new_asid
 *         [TLB_NR_DYN_ASIDS, MAX_ASID_AVAILABLE − 1]  global: the same on every CPU, for an mm that
 *                                                     broadcast TLB invalidation (INVLPGB) keeps
 *                                                     up to date everywhere
 *   kPCID = ASID + 1 (PCID 0 is left to PCID-unaware code)
 *
 * Global ASIDs are handed out from a bitmap, searching upwards from the last one given. A freed
 * global ASID is only marked in a second bitmap: a CPU may still hold TLB entries tagged with it,
 * so it becomes usable again only at wrap-around, after one INVLPGB has flushed every non-global
 * entry of every PCID on every CPU (reset_global_asid_space). The flush happens at rollover
 * time, not at each allocation; the search starts past the end, so the first allocation after
 * boot flushes too.
 */

/** TLB_NR_DYN_ASIDS (10af6235e0d3, v4.14): address spaces a CPU keeps tagged in its TLB. */
export const TLB_NR_DYN_ASIDS = 6;

/** MAX_ASID_AVAILABLE = (1 << (12 − PTI_CONSUMED_PCID_BITS)) − 2: a distribution kernel is built
 * with CONFIG_MITIGATION_PAGE_TABLE_ISOLATION, which reserves the top PCID bit for the user half
 * whether or not PTI is on at run time, so 2,046 (4,094 without it). */
export const MAX_ASID_AVAILABLE = (1 << (12 - 1)) - 2;

/** is_dyn_asid: a CPU-local ASID. */
export function is_dyn_asid(asid: number): boolean {
  return asid < TLB_NR_DYN_ASIDS;
}

/** is_global_asid. */
export function is_global_asid(asid: number): boolean {
  return !is_dyn_asid(asid);
}

/** kern_pcid: the PCID an ASID is loaded with. */
export function kern_pcid(asid: number): number {
  return asid + 1;
}

const NO_ASIDS = new Uint8Array(0);

/** The allocator's state (global_asid_used, global_asid_freed, last_global_asid,
 * global_asid_available), one per machine. */
export class GlobalAsidSpace {
  /** global_asid_used and global_asid_freed, made with the first allocation: most machines never
   * hand out a global ASID, and the two bitmaps were an off-heap allocation of 4 KB in every race
   * trial (docs/benchmarks.md, "Performance devices"). Empty until then. */
  private used: Uint8Array = NO_ASIDS;
  private freed: Uint8Array = NO_ASIDS;
  /** last_global_asid: starts at the end, so the first allocation resets (and flushes). */
  last = MAX_ASID_AVAILABLE;
  /** global_asid_available. */
  available = MAX_ASID_AVAILABLE - TLB_NR_DYN_ASIDS - 1;
  /** reset_global_asid_space runs (each one an INVLPGB flush of everything non-global). */
  resets = 0;

  /**
   * allocate_global_asid: the next clear bit from last_global_asid; at the edge of the space,
   * first reset_global_asid_space — `flushAllNonglobals` (invlpgb_flush_all_nonglobals), then
   * the freed ASIDs become free. Returns 0 when none is left.
   */
  allocate(flushAllNonglobals: () => void): number {
    if (this.used === NO_ASIDS) {
      const both = new Uint8Array(2 * MAX_ASID_AVAILABLE);
      this.used = both.subarray(0, MAX_ASID_AVAILABLE);
      this.freed = both.subarray(MAX_ASID_AVAILABLE);
    }
    if (this.last >= MAX_ASID_AVAILABLE - 1) this.reset(flushAllNonglobals);
    let asid = this.last;
    while (asid < MAX_ASID_AVAILABLE && this.used[asid] === 1) asid++;
    if (asid >= MAX_ASID_AVAILABLE) return 0;
    this.used[asid] = 1;
    this.last = asid;
    this.available--;
    return asid;
  }

  /** reset_global_asid_space: after the flush, freed ASIDs are safe to reuse. */
  private reset(flushAllNonglobals: () => void): void {
    flushAllNonglobals();
    this.resets++;
    for (let i = 0; i < MAX_ASID_AVAILABLE; i++)
      if (this.freed[i] === 1) {
        this.used[i] = 0;
        this.freed[i] = 0;
      }
    this.last = TLB_NR_DYN_ASIDS;
  }

  /** mm_free_global_asid's part: marked freed, reusable only after the next reset. */
  free(asid: number): void {
    this.freed[asid] = 1;
    this.available++;
  }

  /** Whether `asid` is taken (held by an mm, or freed and not yet flushed). */
  isUsed(asid: number): boolean {
    return this.used[asid] === 1;
  }

  /** Whether `asid` has been freed and awaits the wrap-around flush. */
  isFreed(asid: number): boolean {
    return this.freed[asid] === 1;
  }
}
