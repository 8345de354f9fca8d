/**
 * sweep/jobs.ts without Redis: what a worker accepts as a job and what a client accepts as the
 * result of the job it sent.
 */
import { describe, expect, it } from "vitest";
import { checkJobData, checkJobReturn, jobReturn } from "../../src/sweep/jobs.js";
import {
  registerRunFunction,
  runFunctionMetrics,
  runFunctionNames,
} from "../../src/sweep/run-functions.js";
import { sweepTasks } from "../../src/sweep/space.js";
import { runTask } from "../../src/sweep/task.js";

const [task] = sweepTasks({ run: "synthetic", params: { x: [2] }, fixed: { y: 3 }, seed: 4 });
const t = task!;
const honest = () =>
  JSON.parse(JSON.stringify(jobReturn(t, runTask(t)))) as Record<string, unknown>;

describe("sweep jobs", () => {
  it("accepts the honest result of the job, after a trip through JSON", () => {
    expect(checkJobReturn(t, honest())).toEqual(runTask(t));
    const failed = { point: t.point, rep: t.rep, seed: t.seed, status: "failed", metrics: {} };
    expect(checkJobReturn(t, { ...failed, error: "RangeError: no" })).toEqual({
      status: "failed",
      metrics: {},
      error: "RangeError: no",
    });
    // a metric that was not finite arrives as null
    expect(checkJobReturn(t, { ...honest(), metrics: { f: null, h: 1 } })).toEqual({
      status: "ok",
      metrics: { f: NaN, h: 1 },
    });
  });

  it("rejects a result for another task, or one that is not a well-formed outcome", () => {
    const bad: [unknown, RegExp][] = [
      [null, /result is null/],
      [[1], /result is object, not an object/],
      [{ ...honest(), point: t.point + 1 }, /result is for point 1 rep 0 seed \d+, not the job's/],
      [{ ...honest(), seed: t.seed ^ 1 }, /not the job's point 0 rep 0 seed/],
      [{ ...honest(), rep: "0" }, /result is for point 0 rep 0 seed/],
      [{ ...honest(), metrics: [1, 2] }, /no metrics object/],
      [{ ...honest(), metrics: { f: "1", h: 2 } }, /metric "f" is not a number/],
      [{ ...honest(), metrics: { f: 1 } }, /result has metrics f, not synthetic's f, h/],
      [{ ...honest(), metrics: { f: 1, h: 2, uaf: 0 } }, /metrics f, h, uaf, not/],
      [{ ...honest(), metrics: { f: 1, g: 2 } }, /result has metrics f, g, not synthetic's f, h/],
      [{ ...honest(), status: "maybe" }, /neither "ok" nor "failed"/],
      [{ ...honest(), error: "x" }, /an ok result carries an error/],
      [{ ...honest(), status: "failed" }, /a failed result has no error text/],
      [{ ...honest(), status: "failed", error: "x" }, /a failed result carries metrics/],
      [
        { ...honest(), status: "failed", metrics: {}, error: "x".repeat(5000) },
        /error is longer than 4096/,
      ],
      [{ ...honest(), metrics: { ["m".repeat(201)]: 1 } }, /metric name is longer than 200/],
    ];
    for (const [v, why] of bad) expect(checkJobReturn(t, v), JSON.stringify(v)).toMatch(why);
    // "__proto__" as a metric name is an own property, never the prototype
    const proto = JSON.parse(
      `{"point":0,"rep":0,"seed":${t.seed},"status":"ok","metrics":{"__proto__":1,"f":2}}`,
    ) as unknown;
    expect(checkJobReturn(t, proto)).toMatch(/result has metrics __proto__, f, not/);
  });

  it("checks the metric names only of run functions that declare them", () => {
    for (const name of runFunctionNames()) expect(runFunctionMetrics(name), name).toBeDefined();
    registerRunFunction("jobs-test-free", () => ({ anything: 1 }));
    registerRunFunction("jobs-test-fixed", () => ({ a: 1, b: 2 }), ["a", "b"]);
    const free = { ...t, run: "jobs-test-free" };
    const fixed = { ...t, run: "jobs-test-fixed" };
    const ret = (metrics: object) => ({ ...honest(), metrics });
    expect(checkJobReturn(free, ret({ z: 1 }))).toEqual({ status: "ok", metrics: { z: 1 } });
    expect(checkJobReturn(fixed, ret({ b: 2, a: 1 }))).toEqual({
      status: "ok",
      metrics: { b: 2, a: 1 },
    });
    expect(checkJobReturn(fixed, ret({ a: 1 }))).toMatch(/not jobs-test-fixed's a, b/);
    registerRunFunction("jobs-test-fixed", () => ({ c: 1 }));
    expect(runFunctionMetrics("jobs-test-fixed")).toBeUndefined();
  });

  it("the built-in run functions return exactly the metrics they declare", () => {
    const params: Record<string, Record<string, string | number>> = {
      "race-trial": { profile: "v4.14", backend: "xen-pv" },
      "kernbench-build": { host: "6cpu", jobs: 3, scale: 0.02 },
      "ipi-shootdown": {},
      workload: { workload: "madvise-storm", profile: "v6.1", durationMs: 1 },
      synthetic: { x: 1 },
    };
    for (const [run, p] of Object.entries(params)) {
      const o = runTask({ run, point: 0, rep: 0, seed: 9, params: p });
      expect(o.status, `${run}: ${o.error}`).toBe("ok");
      expect(Object.keys(o.metrics).sort(), run).toEqual([...runFunctionMetrics(run)!].sort());
    }
  });

  it("takes a job's data only when it is a sweep task", () => {
    const data = { ...t, sweep: "abc", timeoutMs: 1000 };
    expect(checkJobData(data)).toEqual(t);
    const bad: [unknown, RegExp][] = [
      [null, /not an object/],
      [{ ...data, sweep: 1 }, /no sweep id/],
      [{ ...data, run: 7 }, /no run function name/],
      [{ ...data, point: -1 }, /integers ≥ 0/],
      [{ ...data, seed: 2 ** 32 }, /uint32/],
      [{ ...data, params: [] }, /params is not an object/],
      [{ ...data, params: { x: {} } }, /params.x is not a finite number/],
      [{ ...data, timeoutMs: 0 }, /timeoutMs must be an integer ≥ 1/],
    ];
    for (const [v, why] of bad) expect(checkJobData(v), JSON.stringify(v)).toMatch(why);
  });
});
