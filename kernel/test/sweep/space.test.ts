import { describe, expect, it } from "vitest";
import { ParameterError, UnknownNameError } from "../../src/sim/errors.js";
import {
  getRunFunction,
  gridValues,
  pointSeed,
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
});
