/**
 * The bug registry: each bug's "before" kernel shows a bad read by its reader over
 * many seeds, the "after" kernel none by any reader, and the "after" kernel with the fix's step
 * removed (the mutation) shows it again. Every count is computed by running the model here.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import { commands } from "../../src/cli/commands.js";
import { PROFILES, resolveProfile } from "../../src/config/profiles.js";
import {
  BUG_READER_KINDS,
  bugByName,
  bugNames,
  BUGS,
  MAX_BUG_TRIALS,
  mutationSide,
  replayBug,
  runBug,
} from "../../src/experiments/bugs/index.js";
import { exploreBug } from "../../src/explore/bugs.js";
import { ParameterError, UnknownNameError } from "../../src/sim/errors.js";
import { captureIO } from "../support/io.js";

/** Seeds per run: enough that every bug's before run shows it (the rarest, §2, in ~13%). */
const TRIALS = 120;

describe("the registry", () => {
  it("lists the bugs of docs/bugs.md §1–§4 and §8 with their commits, readers and profile pairs", () => {
    expect(bugNames()).toEqual(
      expect.arrayContaining([
        "seed-pv-flush",
        "missing-table-invalidate",
        "mm-users-shortcut",
        "thp-collapse-gup-fast",
        "mremap-stale-tlb",
      ]),
    );
    expect(new Set(bugNames()).size).toBe(BUGS.length);
    for (const b of BUGS) {
      expect(BUG_READER_KINDS, b.name).toContain(b.reader);
      expect(b.fixed.subject.length, b.name).toBeGreaterThan(0);
      expect(b.mechanism.length, b.name).toBeGreaterThan(200);
      // both sides resolve (a combination no kernel had is refused by resolveProfile)
      for (const s of [b.before, b.after, mutationSide(b)])
        expect(() => resolveProfile(s.profile, s.backend, s.config.resolve), b.name).not.toThrow();
      expect(b.counterfactual, b.name).toBe(b.before.counterfactual);
    }
    expect(bugByName("mremap-stale-tlb").cve).toBe("CVE-2018-18281");
  });

  it("v6.0 differs from v6.1 only by khugepaged's tlb_remove_table_sync_one", () => {
    const { name: _a, title: _b, commits: _c, gather: g0, ...rest0 } = PROFILES["v6.0"];
    const { name: _d, title: _e, commits: _f, gather: g1, ...rest1 } = PROFILES["v6.1"];
    expect(rest0).toEqual(rest1);
    expect({ ...g0, collapseSyncOne: true }).toEqual(g1);
    expect(g0.collapseSyncOne).toBe(false);
  });
});

describe.each(bugNames())("%s", (name) => {
  const bug = bugByName(name);
  const v = runBug(name, { trials: TRIALS, seed: 1, mutation: true });

  it(`before (${bug.before.profile} × ${bug.before.backend}): its reader reads bad memory`, () => {
    expect(v.before.readerTrials).toBeGreaterThan(0);
    expect(v.before.verdict).toBe("bad read");
    expect(v.before.first?.reader).toBe(bug.reader);
  });

  it(`after (${bug.after.profile} × ${bug.after.backend}): no bad read by any reader`, () => {
    expect(v.after.badTrials).toBe(0);
    expect(v.after.verdict).toBe("none");
  });

  it(`mutation (no ${bug.fix.step}): the bug comes back`, () => {
    expect(v.mutation?.readerTrials).toBeGreaterThan(0);
    expect(v.mutation?.counterfactual).toBe(true);
    expect(v.reproduced).toBe(true);
  });

  it("records the backend and config each run used", () => {
    expect(v.before.profile).toBe(bug.before.profile);
    expect(v.after.backend).toBe(bug.after.backend);
    const r = resolveProfile(bug.after.profile, bug.after.backend, bug.after.config.resolve);
    expect(v.after.rcuTableFree).toBe(r.rcuTableFree);
    expect(v.after.paravirt).toBe(r.paravirt);
  });

  it("replays its first bad read with a trace", () => {
    const first = v.before.first!;
    const r = replayBug(name, "before", first.seed);
    expect(r.reports[0]?.reader).toBe(first.reader);
    expect(r.reports[0]?.t).toBe(first.t);
    expect(r.system.sim.trace.events.length).toBeGreaterThan(0);
  });
});

describe("what the fixes depend on", () => {
  it("the seed race and THP collapse need a hypercall flush: native is clean before the fix too", () => {
    for (const name of ["seed-pv-flush", "thp-collapse-gup-fast"]) {
      const bug = bugByName(name);
      let bad = 0;
      for (let seed = 1; seed <= 60; seed++)
        bad += bug.trial({
          profile: bug.before.profile,
          backend: "native",
          config: {},
          seed,
          trace: false,
        }).reports.length;
      expect(bad, name).toBe(0);
    }
  });

  it("§2 and §3 hold with RCU table freeing on in the after run (the fix, not tlb_remove_page, closes them)", () => {
    for (const name of ["missing-table-invalidate", "mm-users-shortcut"]) {
      const v = runBug(name, { trials: 20 });
      expect(v.after.rcuTableFree, name).toBe(true);
    }
  });

  it("is a function of the seed", () => {
    const a = runBug("thp-collapse-gup-fast", { trials: 30, seed: 7 });
    const b = runBug("thp-collapse-gup-fast", { trials: 30, seed: 7 });
    expect(a).toEqual(b);
  });
});

describe("bad input", () => {
  it("refuses unknown names and out-of-range numbers with typed errors naming the parameter", () => {
    expect(() => runBug("no-such-bug")).toThrow(UnknownNameError);
    expect(() => runBug("no-such-bug")).toThrow(/seed-pv-flush/);
    expect(() => runBug("seed-pv-flush", { trials: 0 })).toThrow(ParameterError);
    expect(() => runBug("seed-pv-flush", { trials: MAX_BUG_TRIALS + 1 })).toThrow(/trials/);
    expect(() => runBug("seed-pv-flush", { seed: -1 })).toThrow(/seed/);
    expect(() => runBug("seed-pv-flush", { trials: 1.5 })).toThrow(/trials/);
    expect(() => runBug("seed-pv-flush", { extra: 1 } as never)).toThrow(ParameterError);
    expect(() => replayBug("seed-pv-flush", "sideways" as never, 1)).toThrow(UnknownNameError);
  });
});

describe("the explorer on the registry", () => {
  it("gives the seed race's shortest interleaving before the fix and proves none after", () => {
    const x = exploreBug("seed-pv-flush")!;
    expect(x.before.uafReachable).toBe(true);
    expect(x.before.shortest!.length).toBeGreaterThan(2);
    expect(x.after.uafReachable).toBe(false);
    expect(x.after.complete).toBe(true);
  });

  it("explores a bug read by the hardware with the CPUs' page walkers and caches", () => {
    const x = exploreBug("missing-table-invalidate")!;
    expect(x.before.uafReachable).toBe(true);
    expect(x.before.shortest!.uaf).toMatch(/walker|walk/);
    expect(x.after.uafReachable).toBe(false);
    expect(x.after.complete).toBe(true);
  });

  it("has nothing to say about a bug whose scenario the explorer does not know", () => {
    expect(exploreBug("pt-reclaim-semi-rcu")).toBeNull();
  });
});

describe("mmulab bugs", () => {
  it("--json lists the bug with both verdicts computed in this run", async () => {
    const io = captureIO();
    const code = await runCli(
      ["bugs", "--bug", "seed-pv-flush", "--trials", "60", "--no-explore", "--json"],
      io,
      commands,
    );
    expect(io.stderr()).toBe("");
    expect(code).toBe(0);
    const out = JSON.parse(io.stdout()) as {
      name: string;
      before: { readerTrials: number; backend: string };
      after: { badTrials: number };
      mutation: { readerTrials: number };
    }[];
    expect(out).toHaveLength(1);
    expect(out[0]!.name).toBe("seed-pv-flush");
    expect(out[0]!.before.readerTrials).toBeGreaterThan(0);
    expect(out[0]!.before.backend).toBe("xen-pv");
    expect(out[0]!.after.badTrials).toBe(0);
    expect(out[0]!.mutation.readerTrials).toBeGreaterThan(0);
  });

  it("exits 2 on usage errors, as JSON under --json", async () => {
    for (const argv of [
      ["bugs", "--trials", "0"],
      ["bugs", "--trials", String(MAX_BUG_TRIALS + 1)],
      ["bugs", "--bug", "nope"],
      ["bugs", "--seed", "-1"],
    ]) {
      const io = captureIO();
      expect(await runCli([...argv, "--json"], io, commands), argv.join(" ")).toBe(2);
      expect(io.stderr()).not.toMatch(/\n\s+at /);
      expect(() => JSON.parse(io.stderr() || io.stdout()) as unknown).not.toThrow();
    }
  });
});
