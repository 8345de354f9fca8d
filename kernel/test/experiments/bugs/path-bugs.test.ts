/**
 * The registry's entries for the later paths (§5a, §5b, §6, §7): runBug computes, in this run,
 * a bad read of the bug's reader before the fix, none after it, and the bad read again with the
 * fix's step removed.
 */
import { describe, expect, it } from "vitest";
import { bugByName, bugNames, replayBug, runBug } from "../../../src/experiments/bugs/index.js";
import { traceToTimeline } from "../../../src/views/trace-timeline.js";

const PATH_BUGS = [
  ["retract-pte-free-defer", "software-rcu", true],
  ["mremap-move-pmd-vs-retract", "not-a-table", false],
  ["pt-reclaim-semi-rcu", "software-rcu", true],
  ["hugetlb-pmd-unshare-vs-gup", "foreign-table", false],
] as const;

describe("the later paths' bugs in the registry", () => {
  it("are registered, oldest fix first after the 2018 ones", () => {
    const names = bugNames();
    for (const [name] of PATH_BUGS) expect(names).toContain(name);
    const idx = PATH_BUGS.map(([n]) => names.indexOf(n));
    expect([...idx].sort((a, b) => a - b)).toEqual(idx);
  });

  for (const [name, reader, counterfactual] of PATH_BUGS) {
    it(`${name}: before → ${reader}, after → none, mutation → ${reader} again`, () => {
      const bug = bugByName(name);
      expect(bug.reader).toBe(reader);
      expect(bug.counterfactual).toBe(counterfactual);
      expect(bug.before.counterfactual).toBe(counterfactual);
      const v = runBug(name, { trials: 20, seed: 1, mutation: true });
      expect(v.before.readerTrials, "before").toBeGreaterThan(5);
      expect(v.before.first?.reader).toBe(reader);
      expect(v.after.badTrials, "after").toBe(0);
      expect(v.mutation?.readerTrials, "mutation").toBeGreaterThan(5);
      expect(v.reproduced).toBe(true);
    });
  }

  it("a replay of the first bad read has its trace and the mm's page tables", () => {
    const v = runBug("mremap-move-pmd-vs-retract", { trials: 3 });
    const r = replayBug("mremap-move-pmd-vs-retract", "before", v.before.first!.seed);
    expect(r.reports[0]?.reader).toBe("not-a-table");
    expect(r.reports[0]?.pfn).toBe(0);
    expect(r.system.sim.trace.events.length).toBeGreaterThan(0);
    expect(r.system.k.mms.has(r.mmId)).toBe(true);
  });
});

describe("the timeline of a bad read that is not a use-after-free", () => {
  it("names what the walker reached: a frame that is not a table, another mm's table", () => {
    const cases = [
      ["mremap-move-pmd-vs-retract", "read of a frame that is not a table"],
      ["hugetlb-pmd-unshare-vs-gup", "read of another mm's table"],
    ] as const;
    for (const [name, label] of cases) {
      const first = runBug(name, { trials: 20 }).before.first!;
      const r = replayBug(name, "before", first.seed);
      const tl = traceToTimeline(r.system.sim.trace, { nrCpus: r.system.m.nrCpus });
      const bad = tl.instants.filter((i) => i.kind === "uaf");
      expect(bad.length, name).toBeGreaterThan(0);
      expect(
        bad.some((i) => i.label.startsWith(`${label}:`)),
        name,
      ).toBe(true);
      expect(
        bad.some((i) => i.label.startsWith("use-after-free")),
        name,
      ).toBe(false);
    }
  });
});
