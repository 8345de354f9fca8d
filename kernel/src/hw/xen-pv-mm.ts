/**
 * Xen's bookkeeping of a PV guest's frames and of its CPUs' TLBs, as the hypervisor keeps it
 * (xen.git c447b7308b). A PV guest's page tables are guest frames that Xen has validated: each
 * frame has a type — writable, or an L1…L4 page table — held by a type count
 * (`page->u.inuse.type_info`, PGT_type_mask and PGT_count_mask). A frame changes type only while
 * its type count is zero, and when it does Xen must be sure that no CPU still caches a mapping
 * that the new type forbids (a writable mapping of a frame becoming a page table, or the reverse):
 *
 *   _get_page_type (xen/arch/x86/mm.c): on a type change of a frame whose type count is zero,
 *     mask = d->dirty_cpumask; tlbflush_filter(mask, page->tlbflush_timestamp);
 *     if (!cpumask_empty(mask)) flush_mask(mask, was a page table ? FLUSH_TLB | FLUSH_NO_ASSIST
 *                                                           : FLUSH_TLB);
 *   _put_page_type / _put_final_page_type: when the type count drops to zero, the frame is
 *     stamped with the TLB clock (set_tlbflush_timestamp → page_set_tlbflush_timestamp).
 *
 * The TLB clock (xen/arch/x86/flushtlb.c): `tlbflush_clock` ticks before every flush
 * (pre_flush) and the flushing pCPU records the new value in its `tlbflush_time` after it
 * (post_flush) — on every flush_area_local with FLUSH_TLB and every CR3 switch
 * (switch_cr3_cr4, which a PV guest's MMUEXT_NEW_BASEPTR reaches through write_ptbase).
 * NEED_FLUSH(cpu_stamp, lastuse) is `cpu_stamp <= lastuse` (or the clock is 0): a pCPU that has
 * flushed since the frame was stamped cannot cache the old mapping and is filtered out.
 * When Xen runs on a hypervisor that offers an assisted flush, hypervisor_setup
 * (xen/arch/x86/guest/hypervisor.c) sets `tlb_clk_enabled = false` (Roger Pau Monné, "x86/tlb:
 * allow disabling the TLB clock", Xen 4.14): nothing is stamped, tlbflush_current_time() is 0
 * and tlbflush_filter removes no pCPU — every type change flushes the whole dirty mask.
 *
 * `dirty_cpumask` (xen/arch/x86/domain.c): a pCPU joins it when it runs one of the domain's
 * vCPUs (context_switch) and leaves it only when it loads another domain's state
 * (__context_switch); switching to the idle vCPU is lazy and keeps it. In a PV shim (one shim
 * pCPU per guest vCPU, one domain) every pCPU that ever ran a vCPU stays dirty.
 *
 * The model keeps this state for one PV domain; pCPUs are numbered like the machine's CPUs (in a
 * shim, shim pCPU n runs guest vCPU n). It decides which pCPUs a transition must flush; the flush
 * itself (its cost, its wait) is the caller's, which then reports it with {@link flushed}.
 */
import { ParameterError } from "../sim/errors.js";

/** PGT_* types (xen/arch/x86/include/asm/mm.h): none, the page-table levels, writable. */
export const PGT_none = 0;
export const PGT_l1_page_table = 1;
export const PGT_l2_page_table = 2;
export const PGT_l3_page_table = 3;
export const PGT_l4_page_table = 4;
/** PGT_root_page_table: the highest page-table type on x86-64. */
export const PGT_root_page_table = PGT_l4_page_table;
export const PGT_writable_page = 7;
export type PgtType = 0 | 1 | 2 | 3 | 4 | 7;

/** A type-change flush that _get_page_type asks for: flush_mask(mask, flags). */
export interface TypeChangeFlush {
  /** The pCPUs to flush (the dirty mask after tlbflush_filter), ascending; never empty. */
  readonly mask: readonly number[];
  /** FLUSH_NO_ASSIST (5b718d24e8): the frame was a page table, so the flush must be by IPI. */
  readonly noAssist: boolean;
  /** The frame's type before and after. */
  readonly from: PgtType;
  readonly to: PgtType;
}

/** struct page_info's fields that matter here. */
interface FrameInfo {
  type: PgtType;
  count: number;
  /** page->tlbflush_timestamp */
  tlbflushTimestamp: number;
}

export interface XenPvDomainParams {
  /** tlb_clk_enabled: false when the Xen below has an assisted flush (a shim on L0 with
   * HVMOP_flush_tlbs). Default true. */
  readonly tlbClock?: boolean;
  /** Set FLUSH_NO_ASSIST on the type-change flush of a frame that was a page table
   * (5b718d24e8, Xen 4.14-rc5). Default true. */
  readonly noAssistForPageTables?: boolean;
}

/** What the bookkeeping did, for a user to read. */
export interface XenPvTypeStats {
  /** Type changes of frames (type count zero, new type ≠ old type). */
  typeChanges: number;
  /** Of those, changes that needed a flush (the filtered mask was not empty). */
  flushes: number;
  /** Of the flushes, those with FLUSH_NO_ASSIST. */
  noAssistFlushes: number;
  /** pCPUs that tlbflush_filter removed from type-change masks. */
  filteredCpus: number;
  /** pCPUs flushed by type-change flushes (the sum of the masks' sizes). */
  flushedCpus: number;
}

export class XenPvDomain {
  /** tlbflush_clock (starts at 1). */
  tlbflushClock = 1;
  /** per-pCPU tlbflush_time. */
  private readonly tlbflushTime: number[] = [];
  /** d->dirty_cpumask. */
  private readonly dirty = new Set<number>();
  private readonly frames = new Map<number, FrameInfo>();
  readonly tlbClkEnabled: boolean;
  readonly noAssistForPageTables: boolean;
  readonly stats: XenPvTypeStats = {
    typeChanges: 0,
    flushes: 0,
    noAssistFlushes: 0,
    filteredCpus: 0,
    flushedCpus: 0,
  };

  constructor(params: XenPvDomainParams = {}) {
    this.tlbClkEnabled = params.tlbClock ?? true;
    this.noAssistForPageTables = params.noAssistForPageTables ?? true;
  }

  private frame(pfn: number): FrameInfo {
    if (!Number.isInteger(pfn) || pfn < 0)
      throw new ParameterError("pfn", pfn, "a non-negative integer frame", "XenPvDomain");
    let f = this.frames.get(pfn);
    if (f === undefined) {
      // A frame of the guest's RAM as the model first meets it: a Linux PV guest maps all of
      // its RAM writable in its direct map from boot, which holds one writable type reference
      // (get_page_from_l1e); never stamped since (tlbflush_timestamp 0).
      f = { type: PGT_writable_page, count: 1, tlbflushTimestamp: 0 };
      this.frames.set(pfn, f);
    }
    return f;
  }

  /** The frame's type and type count. */
  typeOf(pfn: number): { readonly type: PgtType; readonly count: number } {
    const f = this.frame(pfn);
    return { type: f.type, count: f.count };
  }

  /** page->tlbflush_timestamp. */
  timestampOf(pfn: number): number {
    return this.frame(pfn).tlbflushTimestamp;
  }

  /** per_cpu(tlbflush_time, cpu). */
  tlbflushTimeOf(cpu: number): number {
    return this.tlbflushTime[cpu] ?? 0;
  }

  /** tlbflush_current_time(): 0 when the clock is disabled (which forces every flush). */
  tlbflush_current_time(): number {
    return this.tlbClkEnabled ? this.tlbflushClock : 0;
  }

  /** context_switch: `cpu` runs one of the domain's vCPUs (cpumask_set_cpu(cpu, dirty)). */
  markDirty(cpu: number): void {
    this.dirty.add(cpu);
  }

  /** d->dirty_cpumask, ascending. */
  dirtyCpumask(): number[] {
    return [...this.dirty].sort((a, b) => a - b);
  }

  /** NEED_FLUSH(cpu_stamp, lastuse_stamp). */
  NEED_FLUSH(cpuStamp: number, lastuseStamp: number): boolean {
    const curr = this.tlbflush_current_time();
    return curr === 0 || (cpuStamp <= lastuseStamp && lastuseStamp <= curr);
  }

  /** tlbflush_filter(mask, page_timestamp): drop the pCPUs that flushed since the stamp. */
  tlbflush_filter(mask: readonly number[], pageTimestamp: number): number[] {
    if (!this.tlbClkEnabled) return [...mask];
    return mask.filter((c) => this.NEED_FLUSH(this.tlbflushTimeOf(c), pageTimestamp));
  }

  /**
   * A TLB flush on each of `cpus` (flush_area_local with FLUSH_TLB, or switch_cr3_cr4): with
   * the clock on, each pCPU's pre_flush ticks tlbflush_clock and its post_flush records the new
   * value as its tlbflush_time.
   */
  flushed(cpus: readonly number[]): void {
    if (!this.tlbClkEnabled || cpus.length === 0) return;
    for (const c of cpus) {
      // pre_flush: the clock wraps at 2^32 in Xen, where new_tlbflush_clock_period flushes
      // everyone; a simulation never gets near that.
      const t = ++this.tlbflushClock;
      this.tlbflushTime[c] = t;
    }
  }

  /**
   * get_page_type(page, type): take a type reference. If the type count is zero and the type
   * differs, the frame changes type, and the returned flush is what flush_mask must do first
   * (null when the filtered mask is empty or nothing changes). A type reference of another
   * type while the count is not zero is refused, as Xen refuses it (-EINVAL to the guest).
   */
  get_page_type(pfn: number, type: PgtType): TypeChangeFlush | null {
    const f = this.frame(pfn);
    if (f.count > 0) {
      if (f.type !== type)
        throw new ParameterError(
          "type",
          type,
          `the frame's current type ${f.type} while its type count is ${f.count} (Xen's get_page_type fails)`,
          `XenPvDomain frame ${pfn}`,
        );
      f.count++;
      return null;
    }
    const from = f.type;
    f.count = 1;
    if (from === type) return null;
    f.type = type;
    this.stats.typeChanges++;
    const dirty = this.dirtyCpumask();
    const mask = this.tlbflush_filter(dirty, f.tlbflushTimestamp);
    this.stats.filteredCpus += dirty.length - mask.length;
    if (mask.length === 0) return null;
    const noAssist = this.noAssistForPageTables && from !== PGT_none && from <= PGT_root_page_table;
    this.stats.flushes++;
    this.stats.flushedCpus += mask.length;
    if (noAssist) this.stats.noAssistFlushes++;
    return { mask, noAssist, from, to: type };
  }

  /** put_page_type: drop a type reference; the last one stamps the frame with the clock
   * (set_tlbflush_timestamp; a page table's in _put_final_page_type, after devalidation). */
  put_page_type(pfn: number): void {
    const f = this.frame(pfn);
    if (f.count <= 0)
      throw new ParameterError(
        "type count",
        f.count,
        "at least 1 (unbalanced put_page_type)",
        `XenPvDomain frame ${pfn}`,
      );
    if (--f.count === 0 && this.tlbClkEnabled) f.tlbflushTimestamp = this.tlbflush_current_time();
  }
}
