import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  formatTable,
  measure,
  median,
  meetsTarget,
  mergeResults,
  parseResults,
  selectBenchmarks,
  validateBenchmarks,
} from "../../src/bench/harness.js";
import { measureInChild } from "../../src/bench/isolated.js";
import { benchMain } from "../../src/bench/main.js";
import { benchmarks as registry } from "../../src/bench/registry.js";
import type { Benchmark, BenchResult } from "../../src/bench/types.js";
import { captureIO } from "../support/io.js";

/** A benchmark returning the given values in turn (cycling). */
function scripted(name: string, values: number[], extra: Partial<Benchmark> = {}): Benchmark {
  let i = 0;
  return {
    name,
    unit: "ops/s",
    target: null,
    better: "higher",
    run: () => values[i++ % values.length] ?? 0,
    ...extra,
  };
}

describe("median", () => {
  it("takes the middle value, or the mean of the two middle values", () => {
    expect(median([3])).toBe(3);
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(RangeError);
    // fast-check's counterexample: the two middle values summed past Number.MAX_VALUE
    expect(median([4.99e292, 1.7976931348623153e308, 1.7976931348623153e308, 0])).toBe(
      1.7976931348623153e308 / 2 + 4.99e292 / 2,
    );
    expect(median([5e-324, 5e-324])).toBe(5e-324);
    expect(median([0, -0, 1])).toBe(median([1, -0, 0]));
  });

  it("lies between min and max and ignores order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1 }),
        (xs) => {
          const m = median(xs);
          expect(m).toBeGreaterThanOrEqual(Math.min(...xs));
          expect(m).toBeLessThanOrEqual(Math.max(...xs));
          expect(median([...xs].reverse())).toBe(m);
        },
      ),
    );
  });
});

describe("measure", () => {
  it("discards warm-up runs and reports the median of the measured ones", async () => {
    // Warm-up returns 1000 (discarded), then 10, 30, 20 → median 20.
    const b = scripted("x", [1000, 10, 30, 20]);
    expect(await measure(b, { runs: 3, warmup: 1 })).toBe(20);
  });

  it("lets an entry fix its own runs and warm-up, whatever the options say", async () => {
    // runs 1, warmup 0: the first value is the one reported, not the median of three
    const b = scripted("long", [5, 100, 200, 300], { runs: 1, warmup: 0 });
    expect(await measure(b, { runs: 3, warmup: 1 })).toBe(5);
    expect(() => validateBenchmarks([scripted("r", [1], { runs: 0 })])).toThrow(/runs/);
    expect(() => validateBenchmarks([scripted("w", [1], { warmup: 1.5 })])).toThrow(/warmup/);
  });

  it("accepts async benchmarks and rejects non-finite values", async () => {
    const asyncBench: Benchmark = { ...scripted("a", [1]), run: () => Promise.resolve(7) };
    expect(await measure(asyncBench, { runs: 3, warmup: 0 })).toBe(7);
    await expect(measure(scripted("nan", [NaN]), { runs: 1, warmup: 0 })).rejects.toThrow(
      /non-finite/,
    );
  });
});

describe("selectBenchmarks (--only)", () => {
  const list = [scripted("sim/event-queue", [1]), scripted("mm/free_pgtables", [1])];

  it("keeps everything without a filter and substring matches with one", () => {
    expect(selectBenchmarks(list, []).map((b) => b.name)).toEqual([
      "sim/event-queue",
      "mm/free_pgtables",
    ]);
    expect(selectBenchmarks(list, ["QUEUE"]).map((b) => b.name)).toEqual(["sim/event-queue"]);
    expect(selectBenchmarks(list, ["free", "sim/"]).map((b) => b.name)).toEqual([
      "sim/event-queue",
      "mm/free_pgtables",
    ]);
    expect(selectBenchmarks(list, ["nothing"])).toEqual([]);
  });
});

describe("validation and targets", () => {
  it("rejects duplicate names and bad fields", () => {
    expect(() => validateBenchmarks([scripted("a", [1]), scripted("a", [1])])).toThrow(/duplicate/);
    expect(() => validateBenchmarks([scripted("a", [1], { target: NaN })])).toThrow(/target/);
    expect(() => validateBenchmarks(registry)).not.toThrow();
  });

  it("meets targets in the right direction", () => {
    expect(meetsTarget(10, 5, "higher")).toBe(true);
    expect(meetsTarget(10, 5, "lower")).toBe(false);
    expect(meetsTarget(5, 5, "lower")).toBe(true);
    expect(meetsTarget(1, null, "higher")).toBeNull();
  });

  it("formats a table with the target and whether it is met", () => {
    const table = formatTable([
      { name: "fast", value: 12.3456, unit: "ops/s", target: 10, better: "higher" },
      { name: "slow", value: 3, unit: "ms", target: 2, better: "lower" },
      { name: "tracked", value: 1, unit: "ns", target: null, better: "lower" },
    ]);
    const lines = table.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^benchmark\s+median\s+unit\s+target\s+met$/);
    expect(lines[2]).toMatch(/^fast\s+12\.35\s+ops\/s\s+>= 10\s+yes$/);
    expect(lines[3]).toMatch(/^slow\s+3\s+ms\s+<= 2\s+NO$/);
    expect(lines[4]).toMatch(/^tracked\s+1\s+ns\s+-\s+-$/);
  });
});

describe("results.json", () => {
  const r = (name: string, value: number): BenchResult => ({
    name,
    value,
    unit: "u",
    target: null,
    better: "lower",
  });

  it("merges fresh results over old ones in registry order", () => {
    const merged = mergeResults([r("b", 1), r("gone", 9), r("a", 1)], [r("b", 2)], ["a", "b"]);
    expect(merged).toEqual([r("a", 1), r("b", 2), r("gone", 9)]);
  });

  it("rejects malformed files", () => {
    expect(() => parseResults({})).toThrow(/array/);
    expect(() => parseResults([{ name: "x", value: "1" }])).toThrow(/entry 0/);
    expect(parseResults([r("x", 1)])).toEqual([r("x", 1)]);
  });

  describe("benchMain", () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), "mmulab-bench-"));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    const fakes = [
      scripted("alpha/one", [5, 1, 3], { target: 2, better: "higher", unit: "ops/s" }),
      scripted("beta/two", [10], { target: 20, better: "lower", unit: "ms" }),
    ];

    it("writes results.json with the documented shape", async () => {
      const out = join(dir, "results.json");
      const io = captureIO();
      const code = await benchMain(["--runs", "3", "--warmup", "0", "--out", out], io, fakes);
      expect(code).toBe(0);
      const data = JSON.parse(await readFile(out, "utf8")) as unknown;
      expect(parseResults(data)).toEqual(data);
      expect(data).toEqual([
        { name: "alpha/one", value: 3, unit: "ops/s", target: 2, better: "higher" },
        { name: "beta/two", value: 10, unit: "ms", target: 20, better: "lower" },
      ]);
      expect(io.stdout()).toMatch(/alpha\/one\s+3\s+ops\/s\s+>= 2\s+yes/);
    });

    it("--only runs the matching benchmarks and keeps the other results", async () => {
      const out = join(dir, "results.json");
      await writeFile(out, JSON.stringify([r("alpha/one", 99), r("beta/two", 99)]));
      const io = captureIO();
      const code = await benchMain(["--only", "beta", "--runs", "1", "--out", out], io, fakes);
      expect(code).toBe(0);
      const data = parseResults(JSON.parse(await readFile(out, "utf8")));
      expect(data.map((x) => [x.name, x.value])).toEqual([
        ["alpha/one", 99],
        ["beta/two", 10],
      ]);
      expect(io.stdout()).not.toContain("alpha/one");
    });

    it("--only with no match runs nothing, writes nothing and exits 0", async () => {
      const out = join(dir, "results.json");
      const io = captureIO();
      expect(await benchMain(["--only", "nothing", "--out", out], io, fakes)).toBe(0);
      expect(io.stderr()).toContain("no benchmarks matched 'nothing'");
      await expect(readFile(out, "utf8")).rejects.toThrow(/ENOENT/);
    });

    it("--json prints the results; --strict fails on a missed target; bad flags exit 2", async () => {
      const io = captureIO();
      const missed = [scripted("m", [1], { target: 5, better: "higher" })];
      expect(await benchMain(["--json", "--no-write", "--runs", "1"], io, missed)).toBe(0);
      expect(JSON.parse(io.stdout())).toEqual([
        { name: "m", value: 1, unit: "ops/s", target: 5, better: "higher" },
      ]);
      expect(await benchMain(["--strict", "--no-write", "--runs", "1"], captureIO(), missed)).toBe(
        1,
      );
      const bad = captureIO();
      expect(await benchMain(["--runs", "0"], bad, missed)).toBe(2);
      expect(bad.stderr()).toContain("--runs");
      expect(await benchMain(["--bogus"], captureIO(), missed)).toBe(2);
    });
  });

  describe("measureInChild", () => {
    // a stand-in for bench/run.mjs: prints, as --json does, one result per --exact name, its
    // value the process id (so two measurements show two processes) or fails on request
    const fake = `
      const a = process.argv.slice(2);
      const name = a[a.indexOf("--exact") + 1];
      if (name === "fails") { console.error("boom"); process.exit(3); }
      if (name === "garbled") { console.log("not json"); process.exit(0); }
      if (!a.includes("--in-process") || !a.includes("--no-write")) process.exit(4);
      const runs = Number(a[a.indexOf("--runs") + 1]);
      console.log(JSON.stringify([{ name, value: process.pid * 100 + runs, unit: "x", target: null, better: "higher" }]));
    `;
    let dir: string;
    let script: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), "mmulab-bench-child-"));
      script = join(dir, "fake-run.mjs");
      await writeFile(script, fake);
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("measures each benchmark in a fresh process, passing the runs and warm-ups", async () => {
      const one = measureInChild([process.execPath, script]);
      const a = await one(scripted("x/a", [0]), { runs: 3, warmup: 0 });
      const b = await one(scripted("x/a", [0]), { runs: 3, warmup: 0 });
      expect(a % 100).toBe(3);
      expect(Math.floor(a / 100)).not.toBe(process.pid);
      expect(Math.floor(a / 100)).not.toBe(Math.floor(b / 100));
    });

    it("reports a child that fails or prints no result, naming the benchmark", async () => {
      const one = measureInChild([process.execPath, script]);
      await expect(one(scripted("fails", [0]), { runs: 1, warmup: 0 })).rejects.toThrow(
        /'fails' in its own process: exit 3\n.*boom/s,
      );
      await expect(one(scripted("garbled", [0]), { runs: 1, warmup: 0 })).rejects.toThrow(
        /'garbled'.*unreadable output/,
      );
    });
  });

  it("--exact names one benchmark; an unknown name matches nothing", async () => {
    const fakes = [scripted("a/one", [1]), scripted("a/one-more", [2])];
    const io = captureIO();
    expect(
      await benchMain(["--exact", "a/one", "--json", "--no-write", "--runs", "1"], io, fakes),
    ).toBe(0);
    expect((JSON.parse(io.stdout()) as BenchResult[]).map((x) => x.name)).toEqual(["a/one"]);
    const none = captureIO();
    expect(await benchMain(["--exact", "a/on", "--no-write"], none, fakes)).toBe(0);
    expect(none.stderr()).toContain("no benchmarks matched 'a/on'");
  });
});
