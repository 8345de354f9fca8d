/**
 * The hostile inputs found by review and fuzzing, one test per defect found (the distributed
 * sweep's own defects are tested in kernel/test/sweep). Each test failed before its fix; each
 * bounds its own work, so that a regression fails instead of hanging the suite. Detailed tests of
 * each area live beside it: kernel/test/cli/input-layer.test.ts,
 * kernel/test/notebook-kernel/kernelspec.test.ts, kernel/test/notebook-kernel/kernel.test.ts
 * (interrupts in a real kernel).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runInThisContext } from "node:vm";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import { commands } from "../../src/cli/commands.js";
import { displayPageTables, displayPlot, displayTimeline } from "../../src/display/display.js";
import { runWithProgress } from "../../src/display/progress.js";
import { PayloadError } from "../../src/contract/payload.js";
import { buildSystem } from "../../src/system/build.js";
import { runRaceMatrix } from "../../src/experiments/race-matrix.js";
import { runTrial } from "../../src/experiments/scenarios.js";
import { runSweep } from "../../src/sweep/local.js";
import { sweepPoints, type SweepSpec } from "../../src/sweep/space.js";
import { local_irq_disable, smp_call_function_many, type Cpu } from "../../src/hw/index.js";
import { exit_mmap, sys_mmap } from "../../src/mm/index.js";
import {
  KernelStateError,
  ParameterError,
  setUserInterruptCheck,
  Simulation,
  SimulationStopped,
  type Kfn,
} from "../../src/sim/index.js";
import { captureIO } from "../support/io.js";
import { makeKernel, runOn } from "../support/kernel.js";

const dir = mkdtempSync(join(tmpdir(), "mmulab-hostile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => setUserInterruptCheck(null));

/**
 * Runs `fn` under a vm timeout, which terminates even a synchronous endless loop: a regression of
 * a hang fix then fails this test ("Script execution timed out") instead of stalling the suite.
 */
function bounded<T>(fn: () => T, ms = 10_000): T {
  const g = globalThis as { boundedCall?: () => T };
  g.boundedCall = fn;
  try {
    return runInThisContext("boundedCall()", { timeout: ms }) as T;
  } finally {
    delete g.boundedCall;
  }
}

async function cli(...argv: string[]) {
  const io = captureIO();
  const code = await runCli(argv, io, commands);
  return { code, out: io.stdout(), err: io.stderr() };
}

describe("paths: nothing a user names reaches outside its directory", () => {
  it("`kernel uninstall --data-dir D --name ../..` deletes nothing outside D/kernels", async () => {
    const outer = join(dir, "u", "outer");
    const data = join(outer, "data");
    mkdirSync(join(data, "kernels"), { recursive: true });
    writeFileSync(join(outer, "keep"), "x");
    const r = await cli("kernel", "uninstall", "--data-dir", data, "--name", "../..");
    expect(r.code).toBe(2);
    expect(existsSync(join(outer, "keep"))).toBe(true);
    expect(existsSync(data)).toBe(true);
  });

  it("`kernel install --name ..` does not write into the data directory itself", async () => {
    const data = join(dir, "i", "data");
    mkdirSync(data, { recursive: true });
    const r = await cli("kernel", "install", "--data-dir", data, "--name", "..");
    expect(r.code).toBe(2);
    expect(existsSync(join(data, "kernel.json"))).toBe(false);
  });
});

describe("sizes: bounded before any work starts", () => {
  it("`sweep --param x=int:0..1000000000` is a usage error, not a V8 fatal", async () => {
    const r = await cli("sweep", "--run", "synthetic", "--param", "x=int:0..1000000000");
    expect(r.code).toBe(2);
    expect(r.err).toContain("--param");
  });

  it("a float grid of 1e9 steps and three 1,000-value axes are refused from the CLI", async () => {
    expect(
      (await cli("sweep", "--run", "synthetic", "--param", "x=float:0..1:1000000000")).code,
    ).toBe(2);
    const three = ["a", "b", "c"].flatMap((n) => ["--param", `${n}=int:1..1000`]);
    expect((await cli("sweep", "--run", "synthetic", ...three)).code).toBe(2);
  });

  it("the same grids from a notebook (the library's sweep) are ParameterErrors, not a crash", async () => {
    const grids: SweepSpec["params"][] = [
      { x: { kind: "int", min: 0, max: 1_000_000_000 } },
      { x: { kind: "float", min: 0, max: 1, steps: 1_000_000_000 } },
      Object.fromEntries(["a", "b", "c"].map((n) => [n, { kind: "int", min: 1, max: 1000 }])),
    ];
    for (const params of grids) {
      const spec: SweepSpec = { run: "synthetic", params };
      expect(() => bounded(() => sweepPoints(spec))).toThrow(ParameterError);
      expect(() => bounded(() => sweepPoints(spec))).toThrow(
        /at most (10000 grid values|1000000 points)/,
      );
      await expect(runSweep(spec, { workers: 0 })).rejects.toThrow(ParameterError);
    }
    // points × seeds is bounded too: 1,000 points of 100,000 seeds each were 10^8 tasks
    const many: SweepSpec = {
      run: "synthetic",
      params: { x: { kind: "int", min: 1, max: 1000 } },
      seeds: 100_000,
    };
    expect(() => bounded(() => sweepPoints(many))).toThrow(
      /seeds = 100000 .*at most 1000 seeds for/,
    );
  });

  it("`runTrial({ stallNs: 1e15 })` is a ParameterError naming the ceiling, not a hang", () => {
    const trial = { scenario: "walker-vs-munmap", profile: "v4.13", backend: "xen-pv", seed: 1 };
    expect(() => bounded(() => runTrial({ ...trial, stallNs: 1e15 }))).toThrow(ParameterError);
    expect(() => bounded(() => runTrial({ ...trial, stallNs: 1e15 }))).toThrow(
      /stallNs = 1000000000000000 .*50000000/,
    );
    // the ceiling itself runs, and quickly (a 50 ms stall is ~2,000 user-mode slices)
    expect(runTrial({ ...trial, stallNs: 50_000_000, trace: false }).stallNs).toBe(50_000_000);
  });
});

describe("library inputs: typed errors naming the option", () => {
  it('`sys_mmap(…, { pageSize: "toString" })` is refused, and exit_mmap then finishes', () => {
    const t = makeKernel({ nrCpus: 1 });
    const mm = t.k.mm_alloc();
    t.x86.switch_mm(t.m.cpu(0), mm);
    for (const pageSize of ["toString", "constructor", "__proto__", "hasOwnProperty"])
      expect(() =>
        runOn(t, 0, sys_mmap(t.k, t.m.cpu(0), mm, { length: 4096, pageSize } as never)),
      ).toThrow(/pageSize = .* "4K", "2M" or "1G"/);
    expect(mm.vmas).toHaveLength(0);
    runOn(t, 0, exit_mmap(t.k, t.m.cpu(0), mm));
    expect(mm.exited).toBe(true);
  });

  it("`buildSystem(null)` and other mistyped options are ParameterErrors", () => {
    const ok = { profile: "v4.13", backend: "native" };
    for (const bad of [
      null,
      undefined,
      "v4.13",
      [],
      { ...ok, host: null },
      { ...ok, resolve: null },
      { ...ok, resolve: { paravirt: "yes" } },
      { ...ok, costs: 5 },
      { ...ok, trace: "yes" },
      { ...ok, nrCpus: "4" },
      { ...ok, profile: 5 },
      { ...ok, nrCPUs: 4 },
    ])
      expect(() => buildSystem(bad as never), JSON.stringify(bad)).toThrow(ParameterError);
    expect(() => buildSystem({ ...ok, nrCPUs: 4 } as never)).toThrow(/nrCPUs.*nrCpus/);
  });

  it('`runRaceMatrix({ profiles: "v4.13" })` is a ParameterError naming profiles', () => {
    expect(() => runRaceMatrix({ profiles: "v4.13" as never })).toThrow(ParameterError);
    expect(() => runRaceMatrix({ profiles: "v4.13" as never })).toThrow(/profiles = "v4.13"/);
    expect(() => runRaceMatrix({ profiles: [] })).toThrow(/profiles = \[\]/);
    expect(() => runRaceMatrix({ profiles: ["v4.13", "v4.13"] })).toThrow(ParameterError);
    expect(() => runRaceMatrix({ trails: 5 } as never)).toThrow(/trails/);
    expect(() => runRaceMatrix(null as never)).toThrow(ParameterError);
  });

  it("a sweep spec or a progress run of null is a ParameterError, not a TypeError", async () => {
    await expect(runSweep(null as never, { workers: 0 })).rejects.toThrow(ParameterError);
    expect(() => sweepPoints({ run: "synthetic", params: "x" as never })).toThrow(ParameterError);
    const sim = new Simulation({ trace: false });
    expect(() => runWithProgress(sim, null as never)).toThrow(ParameterError);
    expect(() => runWithProgress(sim, undefined as never)).toThrow(/options = undefined/);
  });
});

describe("payloads: a PayloadError, never a hang, a RangeError or a silent null", () => {
  const node = (level: string, frame: number) => ({
    level,
    index: 0,
    frame,
    va: 0,
    state: "live",
    entries: 1,
  });

  it("a deep page-table payload is a PayloadError, not a RangeError", () => {
    let deep: Record<string, unknown> = node("page", 1);
    for (let i = 0; i < 100_000; i++) deep = { ...node("pte", i + 2), children: [deep] };
    const payload = { version: 1, mm: 1, levels: 4, root: deep };
    expect(() => bounded(() => displayPageTables(payload as never))).toThrow(PayloadError);
    expect(() => bounded(() => displayPageTables(payload as never))).toThrow(
      /nested more than 64 deep/,
    );
  });

  it("`displayPageTables` on a cyclic tree is a PayloadError, not a hang", () => {
    const root: Record<string, unknown> = { ...node("pgd", 1) };
    root["children"] = [root];
    expect(() =>
      bounded(() => displayPageTables({ version: 1, mm: 1, levels: 4, root } as never)),
    ).toThrow(/root\.children\[0\] contains itself/);
  });

  it("found by fuzzing: a field a renderer reads, missing, is a PayloadError not a TypeError", () => {
    const timeline = {
      version: 1,
      unit: "ns",
      lanes: [{ id: "cpu0", label: "cpu0" }],
      spans: [{ lane: "cpu0", start: 0, end: 5, label: "no kind" }],
      instants: [],
      arrows: [],
    };
    expect(() => displayTimeline(timeline as never)).toThrow(/spans\[0\]\.kind: expected one of/);
    const cyclicVersion: Record<string, unknown> = { mm: 1, levels: 4, root: node("pgd", 1) };
    cyclicVersion["version"] = cyclicVersion;
    expect(() => displayPageTables(cyclicVersion as never)).toThrow(PayloadError);
  });

  it("NaN and Infinity in a timeline or a plot are PayloadErrors", () => {
    const timeline = {
      version: 1,
      unit: "ns",
      lanes: [{ id: "cpu0", label: "cpu0" }],
      spans: [{ lane: "cpu0", start: 0, end: NaN, kind: "irq-off", label: "x" }],
      instants: [],
      arrows: [],
    };
    expect(() => displayTimeline(timeline as never)).toThrow(/spans\[0\]\.end is NaN/);
    const plot = { version: 1, data: [{ type: "scatter", x: [1], y: [Infinity] }], layout: {} };
    expect(() => displayPlot(plot as never)).toThrow(/data\[0\]\.y\[0\] is Infinity/);
  });
});

/** Two processes ticking at different rates; returns their tick counts. */
function tickers(sim: Simulation): { a: number; b: number } {
  const n = { a: 0, b: 0 };
  sim.process(
    "a",
    (function* (): Kfn<void> {
      for (let i = 0; i < 50_000; i++, n.a++) yield 7;
    })(),
  );
  sim.process(
    "b",
    (function* (): Kfn<void> {
      for (let i = 0; i < 20_000; i++, n.b++) yield 13;
    })(),
  );
  return n;
}

describe("engine: a stopped or failed run leaves the objects usable", () => {
  it("interrupting a plain sim.run() loses no process: the next run() finishes the same", () => {
    const whole = new Simulation({ trace: false });
    const all = tickers(whole);
    whole.run();

    const sim = new Simulation({ trace: false });
    const n = tickers(sim);
    let polls = 0;
    setUserInterruptCheck(() => ++polls === 40); // the user presses stop once, mid-run
    expect(() => sim.run()).toThrow(SimulationStopped);
    expect(n.a + n.b).toBeGreaterThan(0);
    expect(n.a + n.b).toBeLessThan(all.a + all.b);
    const r = sim.run();
    expect(r.reason).toBe("idle");
    expect(n).toEqual(all);
    expect(sim.now).toBe(whole.now);
    expect(sim.eventsFired).toBe(whole.eventsFired);
  });

  it("a run cut inside a step (SIGINT's way: no finally) makes the next run() refuse", () => {
    const sim = new Simulation({ trace: false });
    const p = sim.process(
      "spinner",
      (function* (): Kfn<void> {
        yield 5;
        for (;;); // a step that never returns: only a terminated run gets out of it
      })(),
    );
    (globalThis as { hostileRun?: () => void }).hostileRun = () => sim.run();
    // a vm timeout terminates V8 as breakOnSigint does, skipping catch and finally blocks
    expect(() => {
      runInThisContext("hostileRun()", { timeout: 200 });
    }).toThrow(/timed out/);
    delete (globalThis as { hostileRun?: () => void }).hostileRun;
    expect(p.status).toBe("scheduled"); // what the old engine saw, and silently never resumed
    expect(() => sim.run()).toThrow(KernelStateError);
    expect(() => sim.run()).toThrow(/cut off in a step of process "spinner"/);
  });

  it("a run() that throws leaves the fast path off: an explorer still sees every step", () => {
    const sim = new Simulation({ trace: false });
    sim.process(
      "boom",
      (function* (): Kfn<void> {
        yield 10; // fast steps: nothing else is queued
        yield 10;
        throw new Error("boom");
      })(),
    );
    expect(() => sim.run()).toThrow("boom");
    expect(sim.fastUntil).toBe(-1);
    sim.beginExploration();
    let steps = 0;
    sim.process(
      "stepper",
      (function* (): Kfn<void> {
        for (let i = 0; i < 3; i++, steps++) yield 1;
      })(),
    );
    sim.fire(sim.pendingEvents()[0]!);
    expect(steps).toBe(0); // one fire, one step: the first yield
    sim.fire(sim.pendingEvents()[0]!);
    expect(steps).toBe(1);
  });

  it("a task that throws with IRQs off does not leave its CPU deaf: a later cross-call completes", () => {
    const sys = buildSystem({ profile: "v4.13", backend: "native", nrCpus: 2, trace: false });
    const { sim, m } = sys;
    m.cpu(1).run(
      "oops",
      (function* (): Kfn<void> {
        local_irq_disable(m.cpu(1));
        m.cpu(1).preemptCount++;
        yield 1_000;
        throw new Error("oops with IRQs off");
      })(),
    );
    expect(() => sim.run({ until: 10_000 })).toThrow("oops with IRQs off");
    expect(m.cpu(1).irqsEnabled).toBe(true);
    expect(m.cpu(1).preemptCount).toBe(0);
    let done = false;
    m.cpu(0).run(
      "sender",
      (function* (): Kfn<void> {
        yield* smp_call_function_many(m.cpu(0), [1], function* (_c: Cpu): Kfn<void> {}, true);
        done = true;
      })(),
    );
    sim.run({ until: sim.now + 1_000_000 });
    expect(done).toBe(true);
  });

  it("an interrupt handler that throws releases the task it interrupted", () => {
    const sys = buildSystem({ profile: "v4.13", backend: "native", nrCpus: 2, trace: false });
    const { sim, m } = sys;
    let finished = false;
    m.cpu(1).run(
      "task",
      (function* (): Kfn<void> {
        for (let i = 0; i < 100; i++) yield 100;
        finished = true;
      })(),
    );
    m.cpu(0).run(
      "sender",
      (function* (): Kfn<void> {
        yield 500;
        yield* smp_call_function_many(
          m.cpu(0),
          [1],
          function* (): Kfn<void> {
            yield 10;
            throw new Error("handler oops");
          },
          false,
        );
      })(),
    );
    expect(() => sim.run()).toThrow("handler oops");
    sim.run({ until: sim.now + 1_000_000 });
    expect(finished).toBe(true);
  });
});

describe("the CLI: usage errors, not stack traces", () => {
  it.each([
    ["unknown profile", ["race-matrix", "--profiles", "v9"]],
    ["unknown host", ["kernbench", "--host", "8cpu"]],
    ["unknown workload", ["workload", "--name", "x", "--profile", "v4.13", "--backend", "native"]],
    ["unknown backend", ["explore", "--profile", "v4.13", "--backend", "vmw", "--scenario", "x"]],
    [
      "unknown metric",
      ["sweep", "--run", "synthetic", "--param", "x=1", "--workers", "0", "--metric", "m"],
    ],
    ["a sweep-spec error", ["sweep", "--run", "synthetic", "--param", "x=int:5..1"]],
    ["a bad Redis URL", ["sweep-worker", "--redis", "redis://h:0x10"]],
    ["an unwritable output path", ["demo", "--trace-out", join(dir, "nope", "t.json")]],
  ])("%s: exit 2 naming it, no stack trace", async (_what, argv) => {
    const r = await cli(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/is not accepted|is required/);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it("`--seed -1` is out of range, not 'argument is ambiguous'", async () => {
    const r = await cli("demo", "--seed", "-1");
    expect(r.code).toBe(2);
    expect(r.err).toContain('"-1" is not accepted');
  });

  it("with --json, an error is JSON on stdout and the exit code is non-zero", async () => {
    const r = await cli("race-matrix", "--trials", "0x10", "--json");
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out)).toMatchObject({
      error: { type: "UsageError", parameter: "--trials" },
    });
  });

  it("`explore` exits 1 when a use-after-free is reachable", async () => {
    const r = await cli(
      ...["explore", "--profile", "v4.13", "--backend", "xen-pv", "--scenario", "walker-vs-munmap"],
      ...["--cpus", "2", "--pages", "1", "--stalls", "1"],
    );
    expect(r.out).toContain("use-after-free: REACHABLE");
    expect(r.code).toBe(1);
  });

  it.each([
    ["an empty list item", ["race-matrix", "--backends", "native,"]],
    ["a repeated list item", ["race-matrix", "--backends", "native,native"]],
    ["an undocumented alias", ["kernbench", "--host", "6cpu", "--rcu-table-free", "rcu"]],
    ["0x10 as an integer", ["race-matrix", "--trials", "0x10"]],
    ["1e3 as an integer", ["race-matrix", "--trials", "1e3"]],
    ['" 7 " as an integer', ["race-matrix", "--trials", " 7 "]],
    ["a flag the mode ignores", ["kernbench", "--seed-table", "--host", "6cpu"]],
  ])("%s is refused, not silently accepted", async (_what, argv) => {
    expect((await cli(...argv)).code).toBe(2);
  });
});
