/**
 * The explorer agrees with the timed race matrix: for every cell of the race matrix (8 profiles × 5
 * backends, minus the unavailable ones, × the 4 scenarios with a software walker), the exhaustive
 * explorer, spin on the Promela model and the random trials of `runRaceMatrix` give the same
 * answer to "can the software walker read a freed page table?". A disagreement fails, naming the
 * cells.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  BACKEND_NAMES,
  MATRIX_PROFILES,
  resolveProfile,
  type BackendName,
  type ProfileName,
} from "../../src/config/profiles.js";
import { runRaceMatrix } from "../../src/experiments/race-matrix.js";
import { SOFTWARE_WALKER_SCENARIOS, type ScenarioName } from "../../src/experiments/scenarios.js";
import { explore, type ExploreResult } from "../../src/explore/explorer.js";
import { promelaParams } from "../../src/explore/promela.js";
import { SpinVerifier, type SpinVerdict } from "../../src/explore/spin.js";

interface Cell {
  readonly profile: ProfileName;
  readonly backend: BackendName;
  readonly scenario: ScenarioName;
}

const key = (c: Cell): string => `${c.scenario} ${c.profile} ${c.backend}`;

const cells: Cell[] = [];
for (const scenario of SOFTWARE_WALKER_SCENARIOS)
  for (const profile of MATRIX_PROFILES)
    for (const backend of BACKEND_NAMES) {
      try {
        resolveProfile(profile, backend);
      } catch {
        continue; // INVLPGB before v6.15
      }
      cells.push({ profile, backend, scenario });
    }

const trials = new Map<string, number>();
const explored = new Map<string, ExploreResult>();
const spin = new Map<string, SpinVerdict>();

beforeAll(() => {
  // the explorer's world has the software walker only: compare the trials its reads found
  const m = runRaceMatrix({
    trials: 40,
    seed: 1,
    examples: false,
    scenarios: SOFTWARE_WALKER_SCENARIOS,
  });
  for (const c of m.cells) trials.set(key(c), c.readers.software);
  for (const c of cells) explored.set(key(c), explore(c));
  const v = new SpinVerifier();
  try {
    for (const c of cells) spin.set(key(c), v.check(promelaParams(c)));
  } finally {
    v.dispose();
  }
}, 600_000);

/** The cells with a reachable use-after-free: the kernel's holes (docs/model.md). */
const EXPECTED_REACHABLE = [
  // hypercall flushes without RCU table freeing (before the seed patch)
  "walker-vs-munmap v4.13 xen-pv",
  "walker-vs-munmap v4.13 hyperv",
  "preempted-walker v4.13 xen-pv",
  "preempted-walker v4.13 hyperv",
  // KVM's PV flush skips only a descheduled vCPU
  "preempted-walker v4.13 kvm-pv",
  "batch-alloc-failure v4.13 xen-pv",
  "batch-alloc-failure v4.13 hyperv",
  "use-mm-walker v4.13 xen-pv",
  "use-mm-walker v4.13 hyperv",
  // v4.14's mm_users < 2 shortcut, wherever v4.14 frees tables through tlb_remove_table
  "use-mm-walker v4.14-posted native", // with a distribution kernel's CONFIG_PARAVIRT=y
  "use-mm-walker v4.14-posted xen-pv",
  "use-mm-walker v4.14-posted hyperv",
  "use-mm-walker v4.14-posted kvm-pv",
  "use-mm-walker v4.14 native",
  "use-mm-walker v4.14 xen-pv",
  "use-mm-walker v4.14 hyperv",
  "use-mm-walker v4.14 kvm-pv",
];

describe("explorer, spin and random trials (every race-matrix cell)", () => {
  it("covers the race matrix: 33 profile × backend cells × 4 scenarios", () => {
    // seven profiles without INVLPGB (v4.13 … v6.1) × 4 backends, and v6.15 × 5
    expect(cells).toHaveLength(132);
    expect(trials.size).toBe(132);
  });

  it("agree in every cell", () => {
    const disagreements: string[] = [];
    for (const c of cells) {
      const k = key(c);
      const e = explored.get(k)!.uafReachable;
      const s = spin.get(k)!.uafReachable;
      const t = trials.get(k)! > 0;
      if (e !== s || e !== t)
        disagreements.push(`${k}: explorer ${String(e)}, spin ${String(s)}, trials ${t}`);
    }
    expect(disagreements).toEqual([]);
  });

  it("find the use-after-free exactly in the kernel's holes", () => {
    const reachable = cells.filter((c) => explored.get(key(c))!.uafReachable).map(key);
    expect(reachable.sort()).toEqual([...EXPECTED_REACHABLE].sort());
  });

  it("every exploration reached its answer, without deadlocks, well inside the default budget", () => {
    for (const c of cells) {
      const r = explored.get(key(c))!;
      expect(r.complete, key(c)).toBe(true);
      expect(r.deadlocks, key(c)).toBe(0);
      expect(r.states, key(c)).toBeLessThan(5_000);
      expect(r.stopReason, key(c)).toBe(r.uafReachable ? "uaf-found" : "exhausted");
      expect(spin.get(key(c))!.states, key(c)).toBeGreaterThan(0);
    }
  });

  it("every counterexample is short and ends in a freed-table read by the gup_fast walker", () => {
    for (const c of cells) {
      const cx = explored.get(key(c))!.counterexample;
      if (cx === null) continue;
      expect(cx.length, key(c)).toBeLessThanOrEqual(12);
      expect(cx.uaf.walker, key(c)).toBe("__gup_fast");
      expect(cx.uaf.cpu, key(c)).toBe(1);
      expect(["pud", "pmd", "pte"], key(c)).toContain(cx.uaf.level);
    }
  });
});
