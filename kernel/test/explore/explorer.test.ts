/**
 * The explorer itself: the reduction is sound (same states with and without sleep sets; every
 * pair of steps it calls independent commutes), counterexamples are shortest and replay, the
 * state budget stops a search and says so, the CLI's output and bad input, and the Promela
 * parameters' sources.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exploreCommand, type ExploreOutput } from "../../src/cli/commands/explore.js";
import { BACKEND_NAMES, PROFILE_NAMES, resolveProfile } from "../../src/config/profiles.js";
import { buildSystem } from "../../src/system/build.js";
import {
  changedKeys,
  explore,
  hashDigest,
  independent,
  replay,
  replayCounterexample,
  search,
} from "../../src/explore/explorer.js";
import { resolveExploreOptions, type ExploreOptions } from "../../src/explore/options.js";
import {
  flushSemantics,
  probeFlush,
  promelaParams,
  type PromelaParams,
} from "../../src/explore/promela.js";
import { parsePan, SpinVerifier } from "../../src/explore/spin.js";
import { counterexampleViews } from "../../src/views/counterexample.js";
import { ParameterError, UnknownNameError } from "../../src/sim/errors.js";
import { captureIO } from "../support/io.js";

const tmp = mkdtempSync(join(tmpdir(), "mmulab-explore-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function stateSet(opts: ExploreOptions): { hashes: Set<string>; transitions: number } {
  const hashes = new Set<string>();
  const r = search(resolveExploreOptions(opts), { onState: (h) => hashes.add(h) });
  return { hashes, transitions: r.transitions };
}

describe("partial-order reduction (sleep sets)", () => {
  it("visits exactly the states of the unreduced search, with fewer transitions", () => {
    for (const cell of [
      // 3 CPUs: IPIs to two targets, a third thread — where sleep sets prune most
      { profile: "v4.14", backend: "xen-pv", scenario: "batch-alloc-failure", cpus: 3 },
      // every state, the use-after-free ones included (--all)
      { profile: "v4.13", backend: "kvm-pv", scenario: "preempted-walker", stopAtFirstUaf: false },
      // page walks on both CPUs; KVM's flush of a descheduled vCPU at its next entry
      { profile: "v4.19", backend: "kvm-pv", scenario: "batch-alloc-failure", hardware: true },
    ] satisfies ExploreOptions[]) {
      const por = stateSet({ ...cell, por: true });
      const full = stateSet({ ...cell, por: false });
      expect(por.hashes.size, JSON.stringify(cell)).toBe(full.hashes.size);
      expect([...full.hashes].filter((h) => !por.hashes.has(h))).toEqual([]);
      expect(por.transitions).toBeLessThan(full.transitions);
    }
  }, 120_000);

  it.each([
    // unified RCU (grace periods can end during the munmap), a descheduled vCPU, 3 CPUs
    { profile: "v6.15", backend: "kvm-pv", scenario: "preempted-walker", cpus: 3 },
    // tlb_remove_table_one's IPI broadcast, RCU-sched, a third thread
    { profile: "v4.14", backend: "xen-pv", scenario: "batch-alloc-failure", cpus: 3 },
    // the use_mm kernel thread joining mm_cpumask, IPIs and TLB state
    { profile: "v4.19", backend: "native", scenario: "use-mm-walker", cpus: 3 },
    // page walks on every CPU against flushes by IPI and a freed table read through a PDE
    { profile: "v4.14", backend: "native", scenario: "batch-alloc-failure", hardware: true },
  ] satisfies ExploreOptions[])(
    "calls two steps independent only when both orders reach the same state ($scenario)",
    (opts) => {
      // random walks through a 3-CPU cell; at each state, every pair the footprints call
      // independent is executed in both orders and the two digests compared
      const spec = resolveExploreOptions(opts);
      let seed = 12345;
      const rand = (n: number): number => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % n;
      };
      let pairs = 0;
      for (let walk = 0; walk < 20; walk++) {
        const path: string[] = [];
        for (let depth = 0; depth < 40; depth++) {
          const w = replay(spec, path);
          const acts = w.actions();
          if (acts.length === 0) break;
          const before = w.digest();
          const fps = acts.map((a) => {
            const x = replay(spec, path);
            const b = x.action(a.label);
            const reads = x.readSet(b);
            x.execute(b);
            return { label: a.label, fp: { writes: changedKeys(before, x.digest()), reads } };
          });
          for (let i = 0; i < fps.length; i++)
            for (let j = i + 1; j < fps.length; j++) {
              const a = fps[i]!;
              const b = fps[j]!;
              if (!independent(a.fp, b.fp)) continue;
              const ab = replay(spec, [...path, a.label, b.label]).digest();
              const ba = replay(spec, [...path, b.label, a.label]).digest();
              expect(hashDigest(ab), `${path.join(" ")} | ${a.label} ⇄ ${b.label}`).toBe(
                hashDigest(ba),
              );
              pairs++;
            }
          path.push(acts[rand(acts.length)]!.label);
        }
      }
      expect(pairs).toBeGreaterThan(100);
    },
    120_000,
  );
});

describe("state hashing", () => {
  it.each([
    { profile: "v6.15", backend: "native", scenario: "batch-alloc-failure" },
    { profile: "v4.14", backend: "kvm-pv", scenario: "preempted-walker", cpus: 3 },
  ] satisfies ExploreOptions[])(
    "merges only states with the same future: two paths to one hash continue alike ($scenario)",
    (opts) => {
      // A process's position is hashed as its step count and what it yielded, not its generator
      // (which cannot be read). Check that stands in for it: for sampled pairs of paths the
      // search merged, every action — and then a few random steps further — leads to equal
      // digests from both.
      const spec = resolveExploreOptions(opts);
      const first = new Map<string, readonly string[]>();
      const pairs: [readonly string[], readonly string[]][] = [];
      search(spec, {
        onState: (h, p) => first.set(h, p),
        onRevisit: (h, p) => {
          const f = first.get(h);
          if (f !== undefined) pairs.push([f, p]);
        },
      });
      expect(pairs.length).toBeGreaterThan(100);
      let seed = 7;
      const rand = (n: number): number => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % n;
      };
      // 100 pairs spread over the whole search
      const step = Math.max(1, Math.floor(pairs.length / 100));
      for (const [a, b] of pairs.filter((_, i) => i % step === 0)) {
        let pa = [...a];
        let pb = [...b];
        for (let depth = 0; depth < 4; depth++) {
          const wa = replay(spec, pa);
          const wb = replay(spec, pb);
          // the stall budget is not hashed (a state with more stalls left stands for the same
          // state with fewer): only the stall itself may be offered on one side alone
          const moves = (w: typeof wa): string[] =>
            w
              .actions()
              .map((x) => x.label)
              .filter((l) => !l.startsWith("stall"));
          const la = moves(wa);
          expect(moves(wb)).toEqual(la);
          if (la.length === 0) break;
          for (const l of la) {
            const xa = replay(spec, [...pa, l]);
            const xb = replay(spec, [...pb, l]);
            expect(hashDigest(xb.digest()), `${l} after ${pb.join(" ")}`).toBe(
              hashDigest(xa.digest()),
            );
          }
          const next = la[rand(la.length)]!;
          pa = [...pa, next];
          pb = [...pb, next];
        }
      }
    },
    120_000,
  );
});

describe("counterexamples", () => {
  const cell = { profile: "v4.13", backend: "kvm-pv", scenario: "preempted-walker" } as const;
  const r = explore(cell);

  it("are shortest: the unreduced breadth-first search finds none shorter", () => {
    const full = explore({ ...cell, por: false });
    expect(r.counterexample).not.toBeNull();
    expect(full.counterexample!.length).toBe(r.counterexample!.length);
    // the walker's vCPU is descheduled inside its walk, so KVM's PV flush skips it
    const actions = r.counterexample!.steps.map((s) => s.action);
    expect(actions).toContain("stall cpu1");
    expect(actions.indexOf("stall cpu1")).toBeLessThan(actions.lastIndexOf("cpu1/dio-thread"));
  });

  it("replay from their literal to the same use-after-free", () => {
    const w = replayCounterexample(r.counterexample!.replay);
    expect(w.uaf).toBe(1);
    const rep = w.sys.k.oracle.reports[0]!;
    expect({ level: rep.level, pfn: rep.pfn, kind: rep.kind }).toEqual({
      level: r.counterexample!.uaf.level,
      pfn: r.counterexample!.uaf.pfn,
      kind: r.counterexample!.uaf.kind,
    });
  });

  it("render as a timeline payload and a Chrome trace", () => {
    const v = counterexampleViews(r.counterexample!.replay);
    expect(v.timeline.version).toBe(1);
    expect(v.timeline.instants.filter((i) => i.kind === "uaf").length).toBeGreaterThanOrEqual(1);
    expect(v.timeline.instants.filter((i) => i.kind === "marker")).toHaveLength(
      r.counterexample!.length,
    );
    const kinds = new Set(v.timeline.spans.map((s) => s.kind));
    for (const k of ["gup-walk", "irq-off", "preempted", "flush-wait"] as const)
      expect(kinds, k).toContain(k);
    for (const s of v.timeline.spans) expect(s.end).toBeGreaterThanOrEqual(s.start);
    const names = new Set(v.chromeTrace.traceEvents.map((e) => e.name));
    expect(names).toContain("mmulab:use_after_free");
    expect(names).toContain("mmulab:explore_step");
    expect(v.chromeTrace.otherData.scenario).toBe("preempted-walker");
  });

  it("the same backend code decides: INVLPGB without RCU table freeing is safe on 2 CPUs (IPIs) and not on 4 (broadcast)", () => {
    const cf = { profile: "v6.15", backend: "invlpgb", scenario: "walker-vs-munmap" } as const;
    const resolve = { rcuTableFree: false };
    expect(explore({ ...cf, resolve }).uafReachable).toBe(false);
    expect(explore({ ...cf, resolve, cpus: 4 }).uafReachable).toBe(true);
    expect(explore({ ...cf, cpus: 4 }).uafReachable).toBe(false);
  }, 60_000);

  it("the verdicts hold with a third CPU and more pages", () => {
    for (const [c, reachable] of [
      [{ profile: "v4.13", backend: "xen-pv", scenario: "walker-vs-munmap" }, true],
      [{ profile: "v4.14", backend: "native", scenario: "use-mm-walker" }, true],
      [{ profile: "v4.14", backend: "kvm-pv", scenario: "walker-vs-munmap" }, false],
    ] as const) {
      expect(explore({ ...c, cpus: 3 }).uafReachable, JSON.stringify(c)).toBe(reachable);
      expect(explore({ ...c, pages: 4 }).uafReachable, JSON.stringify(c)).toBe(reachable);
    }
  }, 60_000);
});

describe("state budget", () => {
  it("stops at the budget and says so: complete false, no verdict, the states explored", () => {
    const r = explore({
      profile: "v4.19",
      backend: "kvm-pv",
      scenario: "preempted-walker",
      cpus: 3,
      maxStates: 200,
    });
    expect(r).toMatchObject({
      complete: false,
      uafReachable: null,
      stopReason: "max-states",
      states: 200,
      maxStates: 200,
      counterexample: null,
    });
  });

  it("a use-after-free found before the budget is still an answer", () => {
    const r = explore({
      profile: "v4.14",
      backend: "native",
      scenario: "use-mm-walker",
      maxStates: 100,
    });
    expect(r.complete).toBe(true);
    expect(r.uafReachable).toBe(true);
  });

  it("refuses bad options before running, naming option, value and range", () => {
    const base = { profile: "v4.14", backend: "native", scenario: "walker-vs-munmap" };
    expect(() => explore({ ...base, cpus: 1 })).toThrow(/cpus = 1 .* from 2 to 4/);
    expect(() => explore({ ...base, pages: 9 })).toThrow(ParameterError);
    expect(() => explore({ ...base, maxStates: 0 })).toThrow(/maxStates/);
    expect(() => explore({ ...base, scenario: "nope" })).toThrow(UnknownNameError);
    expect(() => explore({ ...base, profile: "v4.13", backend: "invlpgb" })).toThrow(/INVLPGB/);
  });
});

describe("mmulab explore", () => {
  const run = async (argv: string[]) => {
    const io = captureIO();
    const code = await exploreCommand.run(argv, io);
    return { code, out: io.stdout(), err: io.stderr() };
  };
  const cell = ["--profile", "v4.14", "--backend", "native", "--scenario"];

  it("prints {states, uafReachable, counterexample} and writes the trace and timeline", async () => {
    const trace = join(tmp, "cx.trace.json");
    const timeline = join(tmp, "cx.timeline.json");
    const r = await run([
      ...cell,
      "use-mm-walker",
      "--json",
      "--trace-out",
      trace,
      "--timeline-out",
      timeline,
    ]);
    expect(r.code).toBe(1); // a reachable use-after-free is a failure, as in a model checker
    const o = JSON.parse(r.out) as ExploreOutput;
    expect(o.uafReachable).toBe(true);
    expect(o.complete).toBe(true);
    expect(o.states).toBeGreaterThan(0);
    expect(o.counterexample!.steps.length).toBe(o.counterexample!.length);
    expect(o.counterexample!.traceFile).toBe(trace);
    expect(existsSync(trace) && existsSync(timeline)).toBe(true);
    const t = JSON.parse(readFileSync(timeline, "utf8")) as { instants: { kind: string }[] };
    expect(t.instants.some((i) => i.kind === "uaf")).toBe(true);
  });

  it("a safe cell: no counterexample; text output says every interleaving was explored", async () => {
    const j = await run([...cell, "walker-vs-munmap", "--json"]);
    expect(JSON.parse(j.out)).toMatchObject({ uafReachable: false, counterexample: null });
    expect(j.code).toBe(0);
    const t = await run([...cell, "walker-vs-munmap"]);
    expect(t.out).toMatch(/not reachable \(every interleaving explored\)/);
  });

  it("over budget: exit 1, complete false, and a message on stderr", async () => {
    const r = await run([...cell, "batch-alloc-failure", "--max-states", "20", "--json"]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ complete: false, uafReachable: null, states: 20 });
    expect(r.err).toMatch(/state budget \(20 states\)/);
  });

  it("bad input is a usage error", async () => {
    await expect(run(["--profile", "v4.14", "--backend", "native"])).rejects.toThrow(
      /'--scenario' is required/,
    );
    await expect(run([...cell, "nope"])).rejects.toThrow(/'--scenario' = "nope"/);
    await expect(run([...cell, "walker-vs-munmap", "--pages", "9"])).rejects.toThrow(/from 1 to 8/);
  });
});

describe("Promela parameters and spin", () => {
  it("the flush semantics the model assumes are what the simulator's backends do", () => {
    for (const backend of BACKEND_NAMES)
      for (const cpus of [2, 4])
        expect(probeFlush({ profile: "v6.15", backend }, cpus), `${backend} ${cpus}`).toEqual(
          flushSemantics(backend, cpus),
        );
  });

  it("TABLE_VIA_RCU is what ___pXd_free_tlb picks with the cell's backend", () => {
    for (const profile of PROFILE_NAMES)
      for (const backend of BACKEND_NAMES) {
        try {
          resolveProfile(profile, backend);
        } catch {
          continue;
        }
        const sys = buildSystem({ profile, backend, nrCpus: 2, trace: false });
        const via = sys.x86.behaviour.tableFreeVia;
        const viaTable =
          via === "tlb_remove_table" || (via === "paravirt" && sys.x86.backend.paravirtRemoveTable);
        const p = promelaParams({ profile, backend, scenario: "walker-vs-munmap" });
        expect(p.TABLE_VIA_RCU, `${profile} ${backend}`).toBe(viaTable ? 1 : 0);
        expect(p.MM_USERS_SHORTCUT).toBe(sys.resolved.gather.mmUsersShortcut ? 1 : 0);
      }
  });

  it("the model's plain form (-D parameters) gives the same verdicts", () => {
    const v = new SpinVerifier();
    try {
      const unsafe: PromelaParams = promelaParams({
        profile: "v4.14",
        backend: "native",
        scenario: "use-mm-walker",
      });
      expect(v.checkFixed(unsafe).uafReachable).toBe(true);
      expect(v.check(unsafe).uafReachable).toBe(true);
    } finally {
      v.dispose();
    }
  }, 60_000);

  it("reads pan's verdict, and refuses a result that is neither", () => {
    expect(parsePan("pan:1: assertion violated (tbl[2]!=0)\n  228 states, stored\n")).toMatchObject(
      { uafReachable: true, states: 228 },
    );
    expect(parsePan("State-vector 100 byte, errors: 0\n 1355 states, stored\n")).toMatchObject({
      uafReachable: false,
      states: 1355,
    });
    expect(() => parsePan("pan: invalid end state (at depth 12)\nerrors: 1\n")).toThrow(
      /unexpected verifier result/,
    );
  });
});
