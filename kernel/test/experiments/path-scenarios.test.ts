/**
 * The later table-freeing paths (docs/bugs.md §5a, §5b, §6, §7), each run over many seeds:
 * the "before" profile shows the bug's bad read from the modelled mechanism, the "after" profile
 * none, and the "after" profile without the fix's step (resolve.without) brings it back.
 */
import { describe, expect, it } from "vitest";
import { PROFILES, resolveProfile } from "../../src/config/profiles.js";
import {
  FILE_ADDR,
  runPathTrial,
  type PathTrialOptions,
} from "../../src/experiments/path-scenarios.js";
import { accessFaults } from "../../src/mm/memory.js";
import { PAGE_SIZE } from "../../src/mm/pgtable.js";
import type { UafReport } from "../../src/mm/oracle.js";
import { pteWalkStats } from "../../src/mm/pte-map.js";
import { ParameterError, UnknownNameError } from "../../src/sim/errors.js";

const SEEDS = 30;

interface Tally {
  /** Trials with a bad read of the expected reader and kind. */
  readonly hits: number;
  /** Trials with any bad read. */
  readonly bad: number;
  readonly first?: UafReport;
}

function tally(
  opts: Omit<PathTrialOptions, "seed">,
  want: { reader: string; kinds: readonly string[] },
): Tally {
  let hits = 0;
  let bad = 0;
  let first: UafReport | undefined;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = runPathTrial({ ...opts, seed, trace: false });
    if (r.bad > 0) bad++;
    const hit = r.reports.find((x) => x.reader === want.reader && want.kinds.includes(x.kind));
    if (hit !== undefined) {
      hits++;
      first ??= hit;
    }
  }
  return { hits, bad, ...(first ? { first } : {}) };
}

const UAF = ["freed", "reused"] as const;

describe("§5a retract_page_tables without the mmap lock: pte_free_defer", () => {
  const scenario = "retract-vs-rcu-walker";
  for (const backend of ["native", "kvm-pv"]) {
    it(`${backend}: freeing by IPI lets the RCU fault walker read the freed table; pte_free_defer does not`, () => {
      const before = tally(
        { scenario, profile: "v6.6-retract-ipi", backend },
        { reader: "software-rcu", kinds: UAF },
      );
      expect(before.hits).toBeGreaterThan(SEEDS / 2);
      expect(before.first?.level).toBe("pte");
      expect(before.first?.walker).toBe("handle_pte_fault");
      const after = tally(
        { scenario, profile: "v6.6", backend },
        { reader: "software-rcu", kinds: UAF },
      );
      expect(after.bad).toBe(0);
    });
  }

  it("mutation: v6.6 without pte_free_defer brings the bad read back", () => {
    const m = tally(
      { scenario, profile: "v6.6", backend: "native", resolve: { without: ["pte_free_defer"] } },
      { reader: "software-rcu", kinds: UAF },
    );
    expect(m.hits).toBeGreaterThan(SEEDS / 2);
  });

  it("the before profile is marked counterfactual, the after one is not", () => {
    expect(PROFILES["v6.6-retract-ipi"].counterfactual).toMatch(/No released kernel/);
    expect(PROFILES["v6.6"].counterfactual).toBeUndefined();
  });

  it("after the fix the table waits for the reader's grace period, and the fault maps its page", () => {
    const r = runPathTrial({ scenario, profile: "v6.6", backend: "native", seed: 3 });
    expect(r.tablesFreedRcu).toBe(1);
    expect(r.tablesFreedDirect).toBe(0);
    const { k } = r.system;
    // the fault found its pmd gone after the read, allocated a new table and mapped the page
    expect(accessFaults(k, k.mm(1), FILE_ADDR + 5 * PAGE_SIZE, true)).toBe(false);
    expect(pteWalkStats(k).retries).toBe(0);
  });
});

describe("§6 PT_RECLAIM: from semi-RCU to call_rcu", () => {
  const scenario = "pt-reclaim-vs-fault";
  it("native: tlb_remove_page frees after the flush IPI, which the RCU walker answers at once", () => {
    const before = tally(
      { scenario, profile: "v6.14-semi-rcu", backend: "native" },
      { reader: "software-rcu", kinds: UAF },
    );
    expect(before.hits).toBeGreaterThan(SEEDS / 3);
    const after = tally(
      { scenario, profile: "v6.14", backend: "native" },
      { reader: "software-rcu", kinds: UAF },
    );
    expect(after.bad).toBe(0);
  });

  it("paravirt with a failing batch allocation: tlb_remove_table_one's IPI, then call_rcu", () => {
    const before = tally(
      { scenario, profile: "v6.14-semi-rcu", backend: "xen-pv", batchAllocFailure: true },
      { reader: "software-rcu", kinds: UAF },
    );
    expect(before.hits).toBeGreaterThan(SEEDS / 3);
    const after = tally(
      { scenario, profile: "v6.14", backend: "xen-pv", batchAllocFailure: true },
      { reader: "software-rcu", kinds: UAF },
    );
    expect(after.bad).toBe(0);
    // semi-RCU is RCU for a batched table: without the allocation failure there is no bad read
    const batched = tally(
      { scenario, profile: "v6.14-semi-rcu", backend: "xen-pv" },
      { reader: "software-rcu", kinds: UAF },
    );
    expect(batched.bad).toBe(0);
  });

  it("mincore's pte_offset_map_lock takes the freed table's ptl before the pmd_same re-check", () => {
    const before = tally(
      { scenario, profile: "v6.14-semi-rcu", backend: "native", walker: "mincore" },
      { reader: "software-rcu", kinds: UAF },
    );
    expect(before.hits).toBeGreaterThan(SEEDS / 3);
    expect(before.first?.walker).toBe("mincore_pte_range spin_lock(ptl)");
    const after = tally(
      { scenario, profile: "v6.14", backend: "native", walker: "mincore" },
      { reader: "software-rcu", kinds: UAF },
    );
    expect(after.bad).toBe(0);
  });

  it("after the fix mincore's pmd_same re-check fails, and the walk goes back to the pmd", () => {
    let retried = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const r = runPathTrial({
        scenario,
        profile: "v6.14",
        backend: "native",
        walker: "mincore",
        seed,
      });
      expect(r.bad).toBe(0);
      retried += pteWalkStats(r.system.k).retries;
    }
    expect(retried).toBeGreaterThan(0);
  });

  it("mutation: v6.14 without its RCU free brings the bad read back on both arms", () => {
    for (const extra of [
      { backend: "native" },
      { backend: "xen-pv", batchAllocFailure: true },
    ] as const) {
      const m = tally(
        { scenario, profile: "v6.14", ...extra, resolve: { without: ["pt_reclaim-rcu"] } },
        { reader: "software-rcu", kinds: UAF },
      );
      expect(m.hits, extra.backend).toBeGreaterThan(SEEDS / 3);
    }
  });

  it("madvise reclaims the emptied table only where PT_RECLAIM is built", () => {
    const on = runPathTrial({ scenario, profile: "v6.14", backend: "native", seed: 2 });
    expect(on.system.k.stats.pgtablesFreed.pte).toBe(1);
    const off = runPathTrial({ scenario, profile: "v6.15", backend: "native", seed: 2 });
    expect(off.system.k.stats.pgtablesFreed.pte).toBe(0);
    expect(off.bad).toBe(0);
  });
});

describe("§5b mremap move_normal_pmd vs lockless retract (CVE-2024-50066)", () => {
  const scenario = "mremap-vs-retract";
  it("v6.6 installs a pmd made from the empty one: the fault walks a frame that is not a pte table", () => {
    const before = tally(
      { scenario, profile: "v6.6", backend: "native" },
      { reader: "software-rcu", kinds: ["not-a-table"] },
    );
    expect(before.hits).toBeGreaterThan(SEEDS / 2);
    expect(before.first?.pfn).toBe(0);
    const after = tally(
      { scenario, profile: "v6.12", backend: "native" },
      { reader: "software-rcu", kinds: ["not-a-table"] },
    );
    expect(after.bad).toBe(0);
  });

  it("with the hardware model on, the mremapping CPU's own page walker reads page 0 as a pte table", () => {
    const before = tally(
      { scenario, profile: "v6.6", backend: "native", hardware: true },
      { reader: "hw-walker", kinds: ["not-a-table"] },
    );
    expect(before.hits).toBeGreaterThan(SEEDS / 2);
    expect(before.first?.via).toBeDefined();
    const after = tally(
      { scenario, profile: "v6.12", backend: "native", hardware: true },
      { reader: "hw-walker", kinds: ["not-a-table"] },
    );
    expect(after.bad).toBe(0);
  });

  it("the later profiles keep the re-check", () => {
    for (const profile of ["v6.14", "v6.15", "v6.16"])
      expect(
        tally(
          { scenario, profile, backend: "native" },
          { reader: "software-rcu", kinds: ["not-a-table"] },
        ).bad,
        profile,
      ).toBe(0);
  });

  it("mutation: v6.12 without the pmd re-check brings it back", () => {
    const m = tally(
      {
        scenario,
        profile: "v6.12",
        backend: "native",
        resolve: { without: ["move_normal_pmd-recheck"] },
      },
      { reader: "software-rcu", kinds: ["not-a-table"] },
    );
    expect(m.hits).toBeGreaterThan(SEEDS / 2);
  });
});

describe("§7 hugetlb PMD unsharing vs gup_fast (CVE-2025-38085)", () => {
  const scenario = "hugetlb-unshare-vs-gup";
  for (const backend of ["hyperv", "xen-pv"]) {
    it(`${backend}: the unsharing process's IRQ-off walker reads the other process's table; v6.16's sync IPI waits for it`, () => {
      const before = tally(
        { scenario, profile: "v6.15", backend },
        { reader: "software", kinds: ["foreign-table"] },
      );
      expect(before.hits).toBeGreaterThan(SEEDS / 2);
      expect(before.first?.level).toBe("pmd");
      const after = tally(
        { scenario, profile: "v6.16", backend },
        { reader: "software", kinds: ["foreign-table"] },
      );
      expect(after.bad).toBe(0);
    });
  }

  it("native: the forced flush before i_mmap is dropped is an IPI, which waits for the walker", () => {
    const native = tally(
      { scenario, profile: "v6.15", backend: "native" },
      { reader: "software", kinds: ["foreign-table"] },
    );
    expect(native.bad).toBe(0);
  });

  it("mutation: v6.16 without the sync in huge_pmd_unshare brings it back", () => {
    const m = tally(
      {
        scenario,
        profile: "v6.16",
        backend: "hyperv",
        resolve: { without: ["huge_pmd_unshare-sync"] },
      },
      { reader: "software", kinds: ["foreign-table"] },
    );
    expect(m.hits).toBeGreaterThan(SEEDS / 2);
  });
});

describe("determinism and bad input", () => {
  it("the same options and seed give the same trial", () => {
    const o = {
      scenario: "pt-reclaim-vs-fault",
      profile: "v6.14-semi-rcu",
      backend: "native",
      seed: 7,
    };
    const a = runPathTrial(o);
    const b = runPathTrial(o);
    expect(a.reports.map((r) => [r.t, r.pfn, r.kind])).toEqual(
      b.reports.map((r) => [r.t, r.pfn, r.kind]),
    );
    expect(a.holdNs).toBe(b.holdNs);
  });

  it("refuses unknown scenarios, walkers, holds and fix steps with typed errors", () => {
    const base = { profile: "v6.14", backend: "native", seed: 1 };
    expect(() => runPathTrial({ ...base, scenario: "nope" })).toThrow(UnknownNameError);
    expect(() =>
      runPathTrial({ ...base, scenario: "pt-reclaim-vs-fault", walker: "smaps" as "fault" }),
    ).toThrow(ParameterError);
    expect(() => runPathTrial({ ...base, scenario: "pt-reclaim-vs-fault", holdNs: 0 })).toThrow(
      /holdNs/,
    );
    // a fix step the profile does not have
    expect(() => resolveProfile("v6.6", "native", { without: ["pt_reclaim-rcu"] })).toThrow(
      /resolve.without/,
    );
    expect(() =>
      resolveProfile("v6.14", "native", { without: ["oops" as "pt_reclaim-rcu"] }),
    ).toThrow(UnknownNameError);
  });
});
