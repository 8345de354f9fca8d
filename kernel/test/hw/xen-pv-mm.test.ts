/**
 * Xen's PV frame types and TLB clock (hw/xen-pv-mm.ts): which type changes flush, which pCPUs
 * tlbflush_filter removes, FLUSH_NO_ASSIST for a frame that was a page table, and the clock
 * turned off under an assisted flush.
 */
import { describe, expect, it } from "vitest";
import {
  PGT_l1_page_table,
  PGT_l4_page_table,
  PGT_writable_page,
  XenPvDomain,
} from "../../src/hw/xen-pv-mm.js";
import { ParameterError } from "../../src/sim/errors.js";

/** A domain whose pCPUs 0–3 have run it; frame 10 pinned as an L1 table (count 1). */
function pinnedL1(params: ConstructorParameters<typeof XenPvDomain>[0] = {}) {
  const d = new XenPvDomain(params);
  for (const c of [0, 1, 2, 3]) d.markDirty(c);
  d.put_page_type(10); // the direct map's writable mapping made read-only
  const pin = d.get_page_type(10, PGT_l1_page_table); // MMUEXT_PIN_L1_TABLE
  return { d, pin };
}

describe("Xen PV page types and TLB clock", () => {
  it("a frame becoming a page table flushes every dirty pCPU that has not flushed since its stamp", () => {
    const { d, pin } = pinnedL1();
    expect(pin).toMatchObject({ mask: [0, 1, 2, 3], noAssist: false, from: PGT_writable_page });
    expect(d.typeOf(10)).toEqual({ type: PGT_l1_page_table, count: 1 });
    expect(d.stats).toMatchObject({ typeChanges: 1, flushes: 1, noAssistFlushes: 0 });
  });

  it("a freed table reused as writable: a pCPU whose tlbflush_time is older is flushed, a newer one is filtered", () => {
    const { d } = pinnedL1();
    d.flushed([0, 1, 2, 3]); // the pin's flush
    // unpin: the type count drops to zero and the frame is stamped with the clock
    d.put_page_type(10);
    const stamp = d.timestampOf(10);
    expect(stamp).toBe(d.tlbflushClock);
    // pCPUs 1 and 3 flush afterwards (a CR3 switch, another flush): their time is newer
    d.flushed([1, 3]);
    expect(d.tlbflushTimeOf(1)).toBeGreaterThan(stamp);
    expect(d.tlbflushTimeOf(0)).toBeLessThanOrEqual(stamp);
    const f = d.get_page_type(10, PGT_writable_page); // __set_pfn_prot(pfn, PAGE_KERNEL)
    expect(f).not.toBeNull();
    expect(f!.mask).toEqual([0, 2]);
    // it was a page table: FLUSH_NO_ASSIST (5b718d24e8)
    expect(f!.noAssist).toBe(true);
    expect(d.stats.filteredCpus).toBe(2);
    expect(d.NEED_FLUSH(d.tlbflushTimeOf(0), stamp)).toBe(true);
    expect(d.NEED_FLUSH(d.tlbflushTimeOf(3), stamp)).toBe(false);
  });

  it("no flush when every dirty pCPU has flushed since the stamp, nor when the type does not change", () => {
    const { d } = pinnedL1();
    d.put_page_type(10);
    d.flushed([0, 1, 2, 3]);
    expect(d.get_page_type(10, PGT_writable_page)).toBeNull();
    expect(d.stats.typeChanges).toBe(2);
    expect(d.stats.flushes).toBe(1);
    // a second writable reference: the count goes up, no type change
    expect(d.get_page_type(10, PGT_writable_page)).toBeNull();
    expect(d.typeOf(10)).toEqual({ type: PGT_writable_page, count: 2 });
    // a pCPU that never ran the domain is never flushed
    const e = new XenPvDomain();
    e.markDirty(5);
    e.put_page_type(20);
    expect(e.get_page_type(20, PGT_l4_page_table)!.mask).toEqual([5]);
  });

  it("with the clock off (an assisted flush below) nothing is filtered and nothing stamped", () => {
    const { d } = pinnedL1({ tlbClock: false });
    d.flushed([0, 1, 2, 3]);
    d.put_page_type(10);
    expect(d.timestampOf(10)).toBe(0);
    expect(d.tlbflush_current_time()).toBe(0);
    expect(d.get_page_type(10, PGT_writable_page)!.mask).toEqual([0, 1, 2, 3]);
  });

  it("FLUSH_NO_ASSIST only for a frame that was a page table, and only with 5b718d24e8", () => {
    const { pin } = pinnedL1();
    expect(pin!.noAssist).toBe(false);
    const { d } = pinnedL1({ noAssistForPageTables: false });
    d.put_page_type(10);
    expect(d.get_page_type(10, PGT_writable_page)!.noAssist).toBe(false);
  });

  it("refuses what Xen refuses: another type while referenced, an unbalanced put", () => {
    const { d } = pinnedL1();
    expect(() => d.get_page_type(10, PGT_writable_page)).toThrow(ParameterError);
    d.put_page_type(10);
    expect(() => d.put_page_type(10)).toThrow(/unbalanced put_page_type/);
    expect(() => d.put_page_type(-1)).toThrow(ParameterError);
  });
});
