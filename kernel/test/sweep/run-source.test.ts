import { afterAll, describe, expect, it } from "vitest";
import { ParameterError } from "../../src/sim/errors.js";
import {
  closeSweepPools,
  defineRunFunction,
  runSweep,
  type SweepSpec,
} from "../../src/sweep/index.js";

afterAll(() => closeSweepPools());

describe("run functions defined in a notebook, on worker threads", () => {
  it("reach the workers as source and give the same rows on any number of threads", async () => {
    defineRunFunction("nb-trial", (p, seed, { runTrial }) => {
      const r = runTrial({
        scenario: "walker-vs-munmap",
        profile: String(p["profile"]),
        backend: String(p["backend"]),
        seed,
        trace: false,
        history: false,
      });
      return { uaf: r.uaf, munmapUs: r.munmapNs / Number(p["unit"]) };
    });
    const spec: SweepSpec = {
      run: "nb-trial",
      params: { profile: ["v4.13", "v4.14"], backend: ["native", "xen-pv"] },
      fixed: { unit: 1000 },
      seeds: 3,
    };
    const inline = await runSweep(spec, { workers: 0, progress: false });
    const threads = await runSweep(spec, { workers: 2, progress: false });
    expect(threads.rows).toEqual(inline.rows);
    expect(inline.rows.every((r) => r.status === "ok")).toBe(true);
    // the mechanism: v4.13 with a paravirt flush frees tables under a walker, v4.14 does not
    const uaf = (profile: string) =>
      inline.rows
        .filter((r) => r.params["profile"] === profile && r.params["backend"] === "xen-pv")
        .reduce((n, r) => n + r.metrics["uaf"]!, 0);
    expect(uaf("v4.14")).toBe(0);
  });

  it("fail a row, saying why, when they use a notebook variable", async () => {
    const k = 3;
    defineRunFunction("nb-closure", (p) => ({ v: Number(p["x"]) * k }));
    const spec: SweepSpec = { run: "nb-closure", params: { x: [1, 2] } };
    for (const workers of [0, 2]) {
      const r = await runSweep(spec, { workers, progress: false });
      expect(r.rows.map((x) => x.status)).toEqual(["failed", "failed"]);
      expect(r.rows[0]!.error).toMatch(
        /^ReferenceError: k is not defined \(a run function sent to worker threads has only/,
      );
    }
  });

  it("accept methods, and refuse functions without source", () => {
    const o = {
      twice(this: void, p: Record<string, unknown>) {
        return { y: 2 * Number(p["x"]) };
      },
    };
    expect(defineRunFunction("nb-method", o.twice)).toBe("nb-method");
    const bound = ((p: Record<string, unknown>) => ({ y: Number(p["x"]) })).bind(null);
    expect(() => defineRunFunction("nb-bound", bound)).toThrow(ParameterError);
    expect(() => defineRunFunction("nb-bound", bound)).toThrow(/compiles on its own/);
    expect(() => defineRunFunction("../x", o.twice)).toThrow(/name = "..\/x"/);
  });
});
