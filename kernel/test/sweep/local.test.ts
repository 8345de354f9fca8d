import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sweepCommand } from "../../src/cli/commands/sweep.js";
import { ParameterError } from "../../src/sim/errors.js";
import {
  runDistributedSweep,
  runSweep,
  SweepCancelled,
  SweepTimeout,
  taskTimeoutText,
  toCSV,
  toJSON,
  type SweepSpec,
} from "../../src/sweep/index.js";
import { meanStdCi, summarize, sweepResultPlot } from "../../src/views/sweep-result.js";
import { captureIO } from "../support/io.js";

const spec: SweepSpec = {
  run: "synthetic",
  params: { x: [1, 2, 3], y: { kind: "int", min: 1, max: 2 } },
  fixed: { work: 20_000, failWhen: 2 },
  seeds: 3,
  seed: 7,
};

describe("local sweeps", () => {
  it("gives identical rows inline, on 1 and on 2 worker threads, and reports failed points", async () => {
    const seen: number[] = [];
    const r0 = await runSweep(spec, { workers: 0 });
    const r1 = await runSweep(spec, { workers: 1 });
    const r2 = await runSweep(spec, { workers: 2, onProgress: (d) => seen.push(d) });
    expect(r0.rows).toHaveLength(18);
    expect(r1.rows).toEqual(r0.rows);
    expect(r2.rows).toEqual(r0.rows);
    expect(seen).toEqual(Array.from({ length: 18 }, (_, i) => i + 1));
    const failed = r2.rows.filter((r) => r.status === "failed");
    expect(failed).toHaveLength(6);
    for (const f of failed) {
      expect(f.params.x).toBe(2);
      expect(f.error).toBe("RangeError: synthetic: x = 2 fails on purpose");
    }
    expect(r2.rows.filter((r) => r.status === "ok")).toHaveLength(12);
  });

  it("exports CSV and JSON and summarizes per point with a 95 % CI", async () => {
    const r = await runSweep(spec, { workers: 0 });
    const csv = toCSV(r).trimEnd().split("\n");
    expect(csv[0]).toBe("point,rep,seed,work,failWhen,x,y,status,f,h,error");
    expect(csv).toHaveLength(19);
    expect(csv.find((l) => l.includes(",failed,"))).toMatch(/"?RangeError: synthetic: x = 2/);
    expect(JSON.parse(toJSON(r))).toEqual({ spec, rows: r.rows });
    const s = summarize(r, "f");
    expect(s).toHaveLength(6);
    const p = s.find((q) => q.params.x === 3 && q.params.y === 2)!;
    expect(p.n).toBe(3);
    expect(p.mean).toBeGreaterThanOrEqual(6);
    expect(p.mean).toBeLessThan(7);
    expect(p.ci95[0]).toBeLessThanOrEqual(p.mean);
    expect(s.find((q) => q.params.x === 2)!).toMatchObject({ n: 0, failed: 3 });
    const m = meanStdCi([1, 2, 3, 4]);
    expect(m.mean).toBe(2.5);
    expect(m.std).toBeCloseTo(1.290994, 5);
    expect(m.ci95[1] - m.mean).toBeCloseTo((3.182 * 1.290994) / 2, 4);
  });

  it("converts to a plot payload with slider axes for the other parameters", async () => {
    const r = await runSweep(spec, { workers: 0 });
    const plot = sweepResultPlot(r, { metric: "f" });
    expect(plot.sweep?.axes).toEqual([{ name: "y", label: "y", values: [1, 2] }]);
    expect(plot.sweep?.frames.map((f) => f.key)).toEqual([[1], [2]]);
    expect(plot.sweep?.frames[1]!.data[0]!.x).toEqual([1, 2, 3]);
    const one = await runSweep({ ...spec, params: { x: [1, 3] } }, { workers: 0 });
    expect(sweepResultPlot(one, { metric: "f" }).sweep).toBeUndefined();
  });

  it("cancels outstanding work on abort, keeping the finished rows", async () => {
    const ctl = new AbortController();
    const big: SweepSpec = {
      run: "synthetic",
      params: { x: { kind: "int", min: 1, max: 40 } },
      fixed: { sleepMs: 20 },
    };
    const p = runSweep(big, {
      workers: 2,
      signal: ctl.signal,
      onProgress: (d) => {
        if (d === 4) ctl.abort();
      },
    });
    const e: unknown = await p.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SweepCancelled);
    const partial = (e as SweepCancelled).partial.rows.length;
    expect(partial).toBeGreaterThanOrEqual(4);
    expect(partial).toBeLessThan(40);
    const inline = new AbortController();
    inline.abort();
    await expect(runSweep(big, { workers: 0, signal: inline.signal })).rejects.toThrow(
      /sweep cancelled after 0 of 40/,
    );
    // the cancelled sweep's threads are gone; the next sweep gets a working pool
    const after = await runSweep(spec, { workers: 2 });
    expect(after.rows).toEqual((await runSweep(spec, { workers: 0 })).rows);
  });

  it("cancelling one sweep leaves another sweep on the same pool to finish", async () => {
    const slow: SweepSpec = {
      run: "synthetic",
      params: { x: { kind: "int", min: 1, max: 30 } },
      fixed: { sleepMs: 20 },
    };
    const other: SweepSpec = { ...slow, params: { x: { kind: "int", min: 1, max: 12 } } };
    const ctl = new AbortController();
    const cancelled = runSweep(slow, {
      workers: 2,
      signal: ctl.signal,
      onProgress: (d) => {
        if (d === 3) ctl.abort();
      },
    });
    const finished = runSweep(other, { workers: 2 });
    await expect(cancelled).rejects.toBeInstanceOf(SweepCancelled);
    const rows = (await finished).rows;
    expect(rows).toHaveLength(12);
    expect(rows.every((r) => r.status === "ok")).toBe(true);
  });

  it("ends a runaway task's thread at its deadline, and other sweeps on the pool go on", async () => {
    // before: a task that never ends kept runSweep waiting forever
    const runaway: SweepSpec = {
      run: "synthetic",
      params: { x: [1, 2, 3], sleepMs: [0, 1e12] },
      fixed: { work: 1000 },
      seeds: 2,
      seed: 3,
    };
    const beside: SweepSpec = { ...spec, fixed: { work: 200_000, failWhen: 2 }, seeds: 8 };
    const [r, other] = await Promise.all([
      runSweep(runaway, { workers: 2, taskTimeoutMs: 300 }),
      runSweep(beside, { workers: 2 }),
    ]);
    expect(r.rows).toHaveLength(12);
    const hung = r.rows.filter((x) => x.params.sleepMs === 1e12);
    expect(hung.map((x) => x.status)).toEqual(Array(6).fill("failed"));
    for (const x of hung) expect(x.error).toBe(taskTimeoutText(300));
    // the tasks that shared a chunk or a thread with a runaway one were run again, same rows
    const finite = await runSweep(
      { ...runaway, params: { ...runaway.params, sleepMs: [0] } },
      {
        workers: 0,
      },
    );
    const strip = (rows: typeof r.rows) => rows.map(({ point: _p, ...rest }) => rest);
    expect(strip(r.rows.filter((x) => x.params.sleepMs === 0))).toEqual(strip(finite.rows));
    expect(other.rows).toEqual((await runSweep(beside, { workers: 0 })).rows);
    // the pool is whole afterwards
    expect((await runSweep(spec, { workers: 2 })).rows).toEqual(
      (await runSweep(spec, { workers: 0 })).rows,
    );
  }, 20_000);

  it("stops a sweep at its deadline with the rows finished so far", async () => {
    const slow: SweepSpec = {
      run: "synthetic",
      params: { x: { kind: "int", min: 1, max: 40 } },
      fixed: { sleepMs: 25 },
    };
    const e: unknown = await runSweep(slow, { workers: 2, deadlineMs: 150 }).catch(
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(SweepTimeout);
    const t = e as SweepTimeout;
    expect(t.reason).toBe("deadline");
    expect(t.partial.rows.length).toBeLessThan(40);
    const all = (await runSweep(slow, { workers: 2 })).rows;
    for (const row of t.partial.rows) expect(row).toEqual(all[row.point]);
  });

  it("refuses a sweep past the ceilings before any task runs, called as a notebook calls it", async () => {
    // before f85012b each of these expanded first: a V8 fatal error, an out-of-memory, a hang
    const axis = { kind: "int", min: 1, max: 1000 } as const;
    const huge: SweepSpec[] = [
      { run: "synthetic", params: { x: { kind: "int", min: 0, max: 1e9 } } },
      { run: "synthetic", params: { x: { kind: "float", min: 0, max: 1, steps: 1e9 } } },
      { run: "synthetic", params: { a: axis, b: axis, c: axis } },
      { run: "synthetic", params: { a: axis, b: axis }, seeds: 2 },
    ];
    for (const s of huge) {
      let calls = 0;
      await expect(runSweep(s, { workers: 2, onProgress: () => calls++ })).rejects.toThrow(
        ParameterError,
      );
      expect(calls).toBe(0);
      // the distributed engine checks before it contacts Redis: port 1 is unreachable, yet the
      // error is the spec's
      await expect(
        runDistributedSweep(s, { redis: "redis://127.0.0.1:1", connectTimeoutMs: 100 }),
      ).rejects.toThrow(ParameterError);
    }
  });

  it("writes the rows a sweep cut short has to the CLI's --csv", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mmulab-sweep-"));
    try {
      const csv = join(dir, "rows.csv");
      const io = captureIO();
      const run = sweepCommand.run(
        ["--run", "synthetic", "--param", "x=int:1..60", "--fixed", "sleepMs=50"].concat([
          "--workers",
          "2",
          "--deadline-ms",
          "700",
          "--csv",
          csv,
        ]),
        io,
      );
      await expect(run).rejects.toThrow(SweepTimeout);
      const lines = readFileSync(csv, "utf8").trim().split("\n");
      const rows = lines.length - 1;
      expect(rows).toBeGreaterThan(0);
      expect(rows).toBeLessThan(60);
      expect(io.stderr()).toContain(`${rows} finished rows written to ${csv}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs from the CLI and writes CSV", async () => {
    const io = captureIO();
    const code = await sweepCommand.run(
      ["--run", "synthetic", "--param", "x=int:1..3", "--seeds", "2", "--workers", "0", "--json"],
      io,
    );
    expect(code).toBe(0);
    const parsed = JSON.parse(io.stdout()) as { rows: unknown[] };
    expect(parsed.rows).toHaveLength(6);
  });
});

describe("registered run functions", () => {
  it("sweeps the simulator's experiments by name", async () => {
    const ipi = await runSweep(
      { run: "ipi-shootdown", params: { irqOffNs: [5_000, 40_000] }, seeds: 2 },
      { workers: 0 },
    );
    expect(ipi.rows.every((r) => r.status === "ok")).toBe(true);
    const [short, long] = summarize(ipi, "flushWaitNs");
    expect(long!.mean).toBeGreaterThan(short!.mean);
    const race = await runSweep(
      { run: "race-trial", params: { profile: ["v4.14", "v4.19"] }, fixed: { backend: "xen-pv" } },
      { workers: 0 },
    );
    expect(race.rows.map((r) => r.status)).toEqual(["ok", "ok"]);
    expect(race.rows[0]!.metrics).toHaveProperty("uaf");
    const bad = await runSweep(
      { run: "race-trial", params: { profile: ["v9.99"] } },
      { workers: 0 },
    );
    expect(bad.rows[0]!.error).toMatch(/^UnknownNameError: .*profile/);
  });
});
