/**
 * Version switches: each is declared once (MmuGatherBehaviour in mm/, X86Behaviour in
 * arch/x86/, a profile only gives their values), and checkTlbConfig is the one place that refuses
 * the combinations no kernel had. One test per refused combination, and every real one accepted.
 */
import { describe, expect, it } from "vitest";
import { installX86, type X86Behaviour } from "../../src/arch/x86/index.js";
import {
  BACKEND_NAMES,
  PROFILE_NAMES,
  PROFILES,
  resolveProfile,
} from "../../src/config/profiles.js";
import { Machine } from "../../src/hw/index.js";
import { checkTlbConfig, Kernel, type MmuGatherBehaviour } from "../../src/mm/index.js";
import { ParameterError, Simulation } from "../../src/sim/index.js";

/** v4.19's generic switches with RCU table free built in: a valid base to break one switch of. */
const V4_19: MmuGatherBehaviour = {
  rcuTableFree: true,
  mmUsersShortcut: false,
  tableInvalidate: true,
  tableFlushIn: "free",
  freedTables: false,
  ptReclaimFallback: false,
};
const NATIVE_X86: X86Behaviour = {
  tableFreeVia: "tlb_remove_page",
  skipLazyUnlessFreedTables: false,
};

function kernel(behaviour: MmuGatherBehaviour): Kernel {
  return new Kernel(new Machine(new Simulation(), { nrCpus: 2 }), { behaviour });
}

describe("combinations no kernel had are refused where the kernel is built", () => {
  it("tableInvalidate with tlb_table_flush still in tlb_flush_mmu_tlbonly", () => {
    expect(() => kernel({ ...V4_19, tableFlushIn: "tlbonly" })).toThrow(ParameterError);
    expect(() => kernel({ ...V4_19, tableFlushIn: "tlbonly" })).toThrow(
      /behaviour\.tableInvalidate = true .*tlbonly/,
    );
  });

  it("each part of HAVE_RCU_TABLE_FREE without it", () => {
    const off = { ...V4_19, rcuTableFree: false, tableInvalidate: false };
    expect(() => kernel(off)).not.toThrow();
    for (const part of ["mmUsersShortcut", "tableInvalidate", "ptReclaimFallback"] as const)
      expect(() => kernel({ ...off, [part]: true }), part).toThrow(
        new RegExp(`rcuTableFree = false .*${part}`),
      );
  });

  it("x86 freeing tables with tlb_remove_table (or the paravirt hook) without the table batch", () => {
    for (const tableFreeVia of ["tlb_remove_table", "paravirt"] as const) {
      const k = kernel({ ...V4_19, rcuTableFree: false, tableInvalidate: false });
      expect(() => installX86(k, { ...NATIVE_X86, tableFreeVia }), tableFreeVia).toThrow(
        /rcuTableFree = false .*tlb_remove_table/,
      );
      // refused before anything was wired in
      expect(k.arch).toBeNull();
    }
  });

  it("x86 skipping lazy CPUs unless tables were freed, without tlb->freed_tables", () => {
    const k = kernel(V4_19);
    expect(() => installX86(k, { ...NATIVE_X86, skipLazyUnlessFreedTables: true })).toThrow(
      /behaviour\.freedTables = false .*freed_tables/,
    );
    expect(k.arch).toBeNull();
    const withField = kernel({ ...V4_19, freedTables: true });
    expect(() =>
      installX86(withField, { ...NATIVE_X86, skipLazyUnlessFreedTables: true }),
    ).not.toThrow();
  });
});

describe("every profile × backend the kernel had passes the check", () => {
  it("resolved switches pass checkTlbConfig, with RCU table free forced either way", () => {
    let checked = 0;
    for (const profile of PROFILE_NAMES)
      for (const backend of BACKEND_NAMES) {
        if (PROFILES[profile].unavailable[backend] !== undefined) continue;
        for (const rcuTableFree of [undefined, true, false]) {
          const r = resolveProfile(
            profile,
            backend,
            rcuTableFree === undefined ? {} : { rcuTableFree },
          );
          const k = kernel(r.gather);
          expect(() => installX86(k, r.x86), `${profile} ${backend} ${rcuTableFree}`).not.toThrow();
          checked++;
        }
      }
    const unavailable = PROFILE_NAMES.reduce(
      (n, p) => n + Object.keys(PROFILES[p].unavailable).length,
      0,
    );
    // INVLPGB is missing before v6.15: in every profile but v6.15 and v6.16
    expect(unavailable).toBe(PROFILE_NAMES.length - 2);
    expect(checked).toBe(3 * (PROFILE_NAMES.length * BACKEND_NAMES.length - unavailable));
  });

  it("a profile gives values only: the switches it sets are the ones mm/ and arch/x86 declare", () => {
    const r = resolveProfile("v6.1", "xen-pv");
    expect(Object.keys(r.gather).sort()).toEqual(
      ["rcuTableFree", ...Object.keys(PROFILES["v6.1"].gather)].sort(),
    );
    expect(Object.keys(r.x86).sort()).toEqual(Object.keys(PROFILES["v6.1"].x86).sort());
    expect(checkTlbConfig(r.gather)).toEqual(r.gather);
  });
});
