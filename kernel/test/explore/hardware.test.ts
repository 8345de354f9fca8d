/**
 * The explorer and its Promela twin with the CPUs' page walkers and paging-structure caches
 * (explore's `hardware`, mmu_race.pml's HW): in batch-alloc-failure, v4.14 frees the pte table in
 * tlb_remove_table_one before any TLB flush, so a walk through a cached PDE reads it (Jann Horn's
 * "missing required TLB invalidates", fixed by d86564a2f085 in v4.19); v4.19 and later flush
 * first. Both checkers must give the same verdict for every cell, the mutation that takes
 * tlb_table_invalidate out included.
 */
import { afterAll, describe, expect, it } from "vitest";
import { explore, replayCounterexample, type ExploreResult } from "../../src/explore/explorer.js";
import type { ExploreOptions } from "../../src/explore/options.js";
import { promelaParams } from "../../src/explore/promela.js";
import { SpinVerifier } from "../../src/explore/spin.js";

const verifier = new SpinVerifier();
afterAll(() => verifier.dispose());

interface Case {
  readonly opts: ExploreOptions;
  readonly reachable: boolean;
}

const cell = (
  profile: string,
  backend: string,
  reachable: boolean,
  extra: Partial<ExploreOptions> = {},
): Case => ({
  opts: { profile, backend, scenario: "batch-alloc-failure", hardware: true, ...extra },
  reachable,
});

const CASES: readonly Case[] = [
  // no RCU table freeing: tables go after the flush with the pages; the hypercall cells' race is
  // the software walker's (unchanged by the hardware)
  cell("v4.13", "native", false),
  cell("v4.13", "xen-pv", true),
  // the missing invalidate, with every backend (the IPI broadcast of tlb_remove_table_one
  // flushes nothing)
  cell("v4.14", "native", true),
  cell("v4.14", "xen-pv", true),
  cell("v4.14", "kvm-pv", true),
  // d86564a2f085: flush before tlb_remove_table_one and before the batch goes to RCU
  cell("v4.19", "xen-pv", false),
  cell("v4.19", "kvm-pv", false),
  cell("v6.1", "hyperv", false),
  cell("v6.15", "xen-pv", false),
  // the mutation brings it back wherever tables go through tlb_remove_table (v4.19 natively
  // keeps them on tlb_remove_page: the paravirt hook, so no change there)
  cell("v4.19", "xen-pv", true, { tableInvalidate: false }),
  cell("v4.19", "native", false, { tableInvalidate: false }),
  cell("v6.15", "kvm-pv", true, { tableInvalidate: false }),
];

describe("explorer and spin with the paging-structure caches (batch-alloc-failure)", () => {
  const results = new Map<Case, ExploreResult>();
  const res = (c: Case): ExploreResult => {
    let r = results.get(c);
    if (r === undefined) {
      r = explore(c.opts);
      results.set(c, r);
    }
    return r;
  };

  it.each(CASES.map((c) => [JSON.stringify(c.opts), c] as const))(
    "agree: %s",
    (_name, c) => {
      const r = res(c);
      expect(r.complete).toBe(true);
      expect(r.hardware).toBe(true);
      const s = verifier.check(promelaParams(c.opts));
      expect({ explorer: r.uafReachable, spin: s.uafReachable }).toEqual({
        explorer: c.reachable,
        spin: c.reachable,
      });
    },
    60_000,
  );

  it("v4.14's counterexample is a page walk through a cached PDE into the freed pte table, and replays", () => {
    const r = res(CASES.find((c) => c.opts.profile === "v4.14" && c.opts.backend === "native")!);
    const cx = r.counterexample!;
    expect(cx.replay.hardware).toBe(true);
    expect(cx.replay.path.at(-1)).toMatch(/^hw cpu\d$/);
    const w = replayCounterexample(cx.replay);
    const rep = w.sys.k.oracle.reports[0]!;
    expect(rep.reader).toBe("hw-walker");
    expect(rep.level).toBe("pte");
    expect(rep.via?.cache).toBe("pde");
    // read before the gather's first TLB flush: tlb_remove_table_one freed it unflushed
    expect(w.sys.k.stats.tlbFlushes).toBe(0);
    expect(w.sys.k.alloc.stats.nowaitFailures).toBe(1);
  }, 60_000);

  it("without the hardware the same cells are safe for v4.14 (the software walker alone)", () => {
    const r = explore({ profile: "v4.14", backend: "native", scenario: "batch-alloc-failure" });
    expect(r.uafReachable).toBe(false);
    expect(r.hardware).toBe(false);
    expect(
      promelaParams({ profile: "v4.14", backend: "native", scenario: "batch-alloc-failure" }).HW,
    ).toBe(0);
  }, 60_000);
});
