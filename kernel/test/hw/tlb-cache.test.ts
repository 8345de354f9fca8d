/**
 * The per-CPU translation caches against Intel SDM vol. 3A §4.10.4.1 (the invalidation table in
 * reference/hardware-and-hypervisors.md §1.3) and AMD's INVLPGB as Linux documents it.
 */
import { describe, expect, it } from "vitest";
import {
  DEFAULT_TLB_PARAMS,
  INVPCID_TYPE,
  resolveTlbParams,
  TranslationCaches,
} from "../../src/hw/tlb-cache.js";
import { Machine } from "../../src/hw/machine.js";
import { Rng } from "../../src/sim/rng.js";
import { ParameterError, Simulation, UnknownNameError } from "../../src/sim/index.js";

const PDE_ORDER = ["pde", "pdpte", "pml4e"] as const;
const VA = 0x7f00_0000_0000;

function caches(params: Partial<typeof DEFAULT_TLB_PARAMS> = {}): TranslationCaches {
  return new TranslationCaches(0, resolveTlbParams(params, "test"), new Rng(1), { now: 0 });
}

/** Two PCIDs, each with a TLB entry for VA and a full set of PSC entries, and one global page. */
function filled(): TranslationCaches {
  const c = caches();
  for (const pcid of [1, 2]) {
    c.fillTlb(pcid, VA, 100 + pcid, 1, true, false);
    c.fillTlb(pcid, VA + 4096, 200 + pcid, 1, true, false);
    c.fillPsc(pcid, "pml4e", VA, 10 + pcid, 1);
    c.fillPsc(pcid, "pdpte", VA, 20 + pcid, 1);
    c.fillPsc(pcid, "pde", VA, 30 + pcid, 1);
  }
  c.fillTlb(1, 0xffff_8000_0000_0000 - 2 ** 20, 7, 1, true, true);
  return c;
}

describe("TLB and paging-structure-cache lookups", () => {
  it("a walk starts at the deepest cached entry of its PCID, and a global page is used under every PCID", () => {
    const c = filled();
    expect(c.lookupPsc(1, VA + 5 * 4096, PDE_ORDER)?.level).toBe("pde");
    expect(c.lookupPsc(1, VA + 2 ** 21, PDE_ORDER)?.level).toBe("pdpte");
    expect(c.lookupPsc(1, VA + 2 ** 30, PDE_ORDER)?.level).toBe("pml4e");
    expect(c.lookupPsc(3, VA, PDE_ORDER)).toBeUndefined();
    expect(c.lookupTlb(2, VA)?.pfn).toBe(102);
    expect(c.lookupTlb(3, VA)).toBeUndefined();
    expect(c.lookupTlb(3, 0xffff_8000_0000_0000 - 2 ** 20)?.pfn).toBe(7);
  });
});

describe("invalidation as SDM §4.10.4.1 has it", () => {
  it("INVLPG drops the page's entries of its PCID, the global one, and every PSC entry of that PCID — no other PCID's", () => {
    const c = filled();
    const r = c.invlpg(1, VA);
    expect(r).toEqual({ tlb: 1, psc: 3 });
    expect(c.lookupTlb(1, VA)).toBeUndefined();
    // the other page of PCID 1 keeps its translation: only the paging-structure caches go whole
    expect(c.lookupTlb(1, VA + 4096)?.pfn).toBe(201);
    expect(c.pscEntries(1)).toHaveLength(0);
    expect(c.pscEntries(2)).toHaveLength(3);
    expect(c.lookupTlb(2, VA)?.pfn).toBe(102);
    // a global page goes under any PCID
    expect(c.invlpg(2, 0xffff_8000_0000_0000 - 2 ** 20).tlb).toBe(1);
    expect(c.lookupTlb(1, 0xffff_8000_0000_0000 - 2 ** 20)).toBeUndefined();
  });

  it("MOV to CR3: without PCIDE everything non-global; with PCIDE the new PCID's; with the no-flush bit nothing", () => {
    const a = filled();
    expect(a.movCr3(1, true, true)).toEqual({ tlb: 0, psc: 0 });
    expect(a.movCr3(1, true, false)).toEqual({ tlb: 2, psc: 3 });
    expect(a.pscEntries(2)).toHaveLength(3);
    const b = filled();
    expect(b.movCr3(0, false, false)).toEqual({ tlb: 4, psc: 6 });
    expect(b.tlbSize).toBe(1); // the global page survives
  });

  it("INVPCID types 0–3", () => {
    const c = filled();
    expect(c.invpcid(INVPCID_TYPE.INDIV_ADDR, 2, VA + 4096)).toEqual({ tlb: 1, psc: 3 });
    expect(c.lookupTlb(2, VA)?.pfn).toBe(102);
    expect(c.invpcid(INVPCID_TYPE.SINGLE_CTXT, 2)).toEqual({ tlb: 1, psc: 0 });
    expect(c.invpcid(INVPCID_TYPE.ALL_NON_GLOBAL, 0)).toEqual({ tlb: 2, psc: 3 });
    expect(c.tlbSize).toBe(1);
    expect(c.invpcid(INVPCID_TYPE.ALL_INCL_GLOBAL, 0)).toEqual({ tlb: 1, psc: 0 });
    expect(c.tlbSize).toBe(0);
  });

  it("INVLPGB of a PCID's range drops its pages and, without FINAL_ONLY, its PSC entries; FINAL_ONLY keeps them", () => {
    const c = filled();
    expect(c.invlpgbLocal(1, VA, 2, 4096, false, true)).toEqual({ tlb: 2, psc: 0 });
    expect(c.pscEntries(1)).toHaveLength(3);
    expect(c.invlpgbLocal(1, VA, 1, 4096, false, false).psc).toBe(3);
    expect(c.invlpgbLocal(2, null, 0, 4096, false, false)).toEqual({ tlb: 2, psc: 3 });
  });

  it("a range invalidation walks the cached entries when the range is larger than the cache", () => {
    const c = filled();
    expect(c.invalidateRange(1, VA - 2 ** 30, VA + 2 ** 30)).toEqual({ tlb: 2, psc: 3 });
    expect(c.lookupTlb(2, VA + 4096)?.pfn).toBe(202);
  });
});

describe("capacity and replacement", () => {
  it("a full cache gives up its least recently used entry", () => {
    const c = caches({ tlbEntries: 2, pscEntries: 2 });
    c.fillTlb(0, VA, 1, 1, true, false);
    c.fillTlb(0, VA + 4096, 2, 1, true, false);
    c.lookupTlb(0, VA); // VA is now the most recent
    c.fillTlb(0, VA + 8192, 3, 1, true, false);
    expect(c.lookupTlb(0, VA)?.pfn).toBe(1);
    expect(c.lookupTlb(0, VA + 4096)).toBeUndefined();
    expect(c.tlbSize).toBe(2);
    c.fillPsc(0, "pde", VA, 5, 1);
    c.fillPsc(0, "pdpte", VA, 6, 1);
    c.fillPsc(1, "pde", VA, 7, 1);
    expect(c.pscSize).toBe(2);
    expect(c.lookupPsc(0, VA, PDE_ORDER)?.pfn).toBe(6);
    expect(c.stats.evictions).toBe(2);
  });

  it("random replacement keeps the size bound and is seeded", () => {
    const run = () => {
      const c = new TranslationCaches(
        0,
        resolveTlbParams({ tlbEntries: 8, replacement: "random" }, "t"),
        new Rng(5),
        { now: 0 },
      );
      for (let i = 0; i < 64; i++) c.fillTlb(0, VA + i * 4096, i, 1, true, false);
      expect(c.tlbSize).toBe(8);
      return c.tlbEntries(0).map((e) => e.pfn);
    };
    expect(run()).toEqual(run());
  });

  it("defaults come from named parts, and bad sizes are refused with the parameter named", () => {
    expect(DEFAULT_TLB_PARAMS).toEqual({ tlbEntries: 1536, pscEntries: 16, replacement: "lru" });
    expect(() => resolveTlbParams({ tlbEntries: 0 }, "t")).toThrow(/tlb\.tlbEntries/);
    expect(() => resolveTlbParams({ replacement: "fifo" as "lru" }, "t")).toThrow(ParameterError);
    expect(() => new Machine(new Simulation(), { nrCpus: 2, tlb: { ways: 4 } as never })).toThrow(
      UnknownNameError,
    );
    expect(
      new Machine(new Simulation(), { nrCpus: 2, tlb: { pscEntries: 4 } }).cpus[1]!.tlb.params
        .pscEntries,
    ).toBe(4);
  });
});
