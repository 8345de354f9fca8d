import { describe, expect, it } from "vitest";
import { ParameterError, UnknownNameError } from "../../src/sim/errors.js";
import {
  getRunFunction,
  gridSize,
  gridValues,
  pointSeed,
  SWEEP_LIMITS,
  sweepPoints,
  sweepTasks,
  type SweepSpec,
} from "../../src/sweep/index.js";

describe("sweep designs", () => {
  it("grids every combination, fixed parameters included, in axis order", () => {
    const pts = sweepPoints({
      run: "synthetic",
      params: { x: [1, 2], y: { kind: "int", min: 0, max: 4, step: 2 } },
      fixed: { work: 10 },
    });
    expect(pts.map((p) => p.params)).toEqual([
      { work: 10, x: 1, y: 0 },
      { work: 10, x: 1, y: 2 },
      { work: 10, x: 1, y: 4 },
      { work: 10, x: 2, y: 0 },
      { work: 10, x: 2, y: 2 },
      { work: 10, x: 2, y: 4 },
    ]);
    expect(gridValues({ kind: "float", min: 1, max: 100, steps: 3, log: true })).toEqual([
      1,
      expect.closeTo(10, 9),
      expect.closeTo(100, 9),
    ]);
  });

  it("draws random designs from the sweep seed, reproducibly and inside the space", () => {
    const spec: SweepSpec = {
      run: "synthetic",
      params: { x: { kind: "float", min: 0, max: 1 }, y: { kind: "int", min: 3, max: 5 } },
      design: { kind: "random", points: 50 },
      seed: 9,
    };
    const a = sweepPoints(spec);
    expect(a).toHaveLength(50);
    expect(sweepPoints(spec)).toEqual(a);
    expect(sweepPoints({ ...spec, seed: 10 })).not.toEqual(a);
    for (const p of a) {
      expect(p.params.x).toBeGreaterThanOrEqual(0);
      expect(p.params.x).toBeLessThan(1);
      expect([3, 4, 5]).toContain(p.params.y);
    }
  });

  it("derives each seed from the sweep seed and the point, not from its position", () => {
    const t1 = sweepTasks({ run: "synthetic", params: { x: [1, 2, 3] }, seeds: 2, seed: 5 });
    const t2 = sweepTasks({ run: "synthetic", params: { x: [3, 1] }, seeds: 2, seed: 5 });
    const seedOf = (ts: typeof t1, x: number, rep: number) =>
      ts.find((t) => t.params.x === x && t.rep === rep)!.seed;
    expect(seedOf(t1, 3, 1)).toBe(seedOf(t2, 3, 1));
    expect(seedOf(t1, 1, 0)).toBe(pointSeed(5, { x: 1 }, 0));
    expect(new Set(t1.map((t) => t.seed)).size).toBe(6);
  });

  it("rejects empty and inconsistent spaces with a ParameterError naming the parameter", () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ x: [] }, "x"],
      [{ y: { kind: "int", min: 5, max: 1 } }, "y"],
      [{ z: [1, "a"] }, "z"],
      [{ w: [1, 1] }, "w"],
      [{ v: { kind: "float", min: 0, max: 1, steps: 0 } }, "v"],
      [{ u: { kind: "float", min: 0, max: 1, log: true } }, "u"],
      [{ t: { kind: "int", min: 0.5, max: 2 } }, "t"],
      [{ s: { kind: "poisson" } }, "s"],
      [{}, "params"],
    ];
    for (const [params, name] of bad) {
      const spec = { run: "synthetic", params } as unknown as SweepSpec;
      expect(() => sweepPoints(spec), name).toThrow(ParameterError);
      try {
        sweepPoints(spec);
      } catch (e) {
        expect((e as ParameterError).parameter).toBe(name);
        expect((e as Error).message).toContain(name);
      }
    }
    expect(() => sweepPoints({ run: "synthetic", params: { x: [1] }, fixed: { x: 2 } })).toThrow(
      /x = 2 is not accepted; expected a parameter either swept or fixed/,
    );
    expect(() => sweepPoints({ run: "synthetic", params: { x: [1] }, seeds: 0 })).toThrow(
      ParameterError,
    );
    expect(() => getRunFunction("nope")).toThrow(UnknownNameError);
  });

  it("bounds grids, points and tasks before expanding anything", () => {
    // Each of these used to expand first: a V8 fatal error (int range of 1e9 values), an
    // out-of-memory (float grid of 1e9 steps), a hang (three 1,000-value axes).
    const rejects = (spec: SweepSpec, parameter: string, message: RegExp) => {
      let caught: unknown;
      try {
        sweepTasks(spec);
      } catch (e) {
        caught = e;
      }
      expect(caught, parameter).toBeInstanceOf(ParameterError);
      expect((caught as ParameterError).parameter).toBe(parameter);
      expect((caught as Error).message).toMatch(message);
    };
    rejects(
      { run: "synthetic", params: { x: { kind: "int", min: 0, max: 1_000_000_000 } } },
      "x",
      /x = \{"kind":"int","min":0,"max":1000000000\} is not accepted; expected at most 10000 grid values \(this one has 1000000001; use a larger step/,
    );
    rejects(
      { run: "synthetic", params: { x: { kind: "float", min: 0, max: 1, steps: 1e9 } } },
      "x",
      /at most 10000 grid values \(this one has 1000000000;/,
    );
    const axis = { kind: "int", min: 1, max: 1000 } as const;
    rejects(
      { run: "synthetic", params: { a: axis, b: axis, c: axis } },
      "params",
      /a grid of at most 1000000 points \(this one has 1000 × 1000 × 1000 = 1000000000\)/,
    );
    rejects(
      { run: "synthetic", params: { a: axis, b: axis }, seeds: 2 },
      "seeds",
      /seeds = 2 is not accepted; expected at most 1 seeds for 1000000 points/,
    );
    rejects(
      {
        run: "synthetic",
        params: { x: [1, 2] },
        design: { kind: "random", points: 600_000 },
        seeds: 2,
      },
      "seeds",
      /at most 1000000 tasks/,
    );
    rejects(
      { run: "synthetic", params: { x: [1] }, design: { kind: "random", points: 2_000_000 } },
      "design.points",
      /an integer from 1 to 1000000/,
    );
    expect(() => gridValues({ kind: "int", min: 0, max: Number.MAX_SAFE_INTEGER })).toThrow(
      ParameterError,
    );
    // sizes are arithmetic: a random design may draw from a range far wider than a grid axis
    expect(gridSize({ kind: "int", min: 0, max: 1_000_000_000, step: 7 })).toBe(142_857_143);
    const wide = sweepTasks({
      run: "synthetic",
      params: { x: { kind: "int", min: 0, max: 1_000_000_000 } },
      design: { kind: "random", points: 3 },
    });
    expect(wide).toHaveLength(3);
    // the ceilings themselves are accepted
    const atAxisLimit = { kind: "int", min: 1, max: SWEEP_LIMITS.gridValuesPerAxis } as const;
    expect(sweepPoints({ run: "synthetic", params: { x: atAxisLimit } })).toHaveLength(10_000);
    expect(gridSize({ kind: "float", min: 0, max: 1, steps: SWEEP_LIMITS.gridValuesPerAxis })).toBe(
      10_000,
    );
  });
});
