import { describe, expect, it } from "vitest";
import { ParameterError } from "../../src/sim/errors.js";
import { studentQuantile, studentTwoSided, welchTest } from "../../src/experiments/significance.js";

describe("Student's t distribution", () => {
  it("gives the tabulated two-sided tails and quantiles", () => {
    // t tables: t(0.975, 10) = 2.228, t(0.975, 4) = 2.776, t(0.995, 30) = 2.750
    expect(studentTwoSided(2.228, 10)).toBeCloseTo(0.05, 3);
    expect(studentTwoSided(2.776, 4)).toBeCloseTo(0.05, 3);
    expect(studentTwoSided(2.75, 30)).toBeCloseTo(0.01, 3);
    expect(studentTwoSided(0, 7)).toBeCloseTo(1, 12);
    // df = 1 is the Cauchy distribution: P(|T| ≥ 1) = 1/2
    expect(studentTwoSided(1, 1)).toBeCloseTo(0.5, 10);
    expect(studentQuantile(0.975, 10)).toBeCloseTo(2.228, 3);
    expect(studentQuantile(0.975, 1e6)).toBeCloseTo(1.96, 2);
  });
});

describe("welchTest", () => {
  it("reproduces a hand-computed Welch test", () => {
    // a: mean 10, sd 1, n 5; b: mean 12, sd 2, n 5 → se = √(0.2 + 0.8) = 1, t = 2,
    // df = 1 / (0.04/4 + 0.64/4) = 5.882
    const r = welchTest({ mean: 10, std: 1, n: 5 }, { mean: 12, std: 2, n: 5 });
    expect(r.diff).toBe(2);
    expect(r.se).toBeCloseTo(1, 12);
    expect(r.t).toBeCloseTo(2, 12);
    expect(r.df).toBeCloseTo(5.882, 3);
    expect(r.p).toBeGreaterThan(0.08);
    expect(r.p).toBeLessThan(0.1);
    expect(r.ci95[0]).toBeLessThan(0);
    expect(r.ci95[1]).toBeGreaterThan(4);
  });

  it("calls a difference far beyond the noise significant, and one inside it not", () => {
    const a = { mean: 400.5, std: 0.18, n: 5 };
    expect(welchTest(a, { mean: 401.5, std: 0.18, n: 5 }).p).toBeLessThan(0.001);
    expect(welchTest(a, { mean: 400.4, std: 0.16, n: 5 }).p).toBeGreaterThan(0.3);
  });

  it("handles samples without spread and rejects samples it cannot test", () => {
    expect(welchTest({ mean: 1, std: 0, n: 3 }, { mean: 1, std: 0, n: 3 }).p).toBe(1);
    expect(welchTest({ mean: 1, std: 0, n: 3 }, { mean: 2, std: 0, n: 3 }).p).toBe(0);
    expect(() => welchTest({ mean: 1, std: 0.1, n: 1 }, { mean: 2, std: 0.1, n: 3 })).toThrow(
      ParameterError,
    );
    expect(() =>
      welchTest({ mean: Number.NaN, std: 0.1, n: 3 }, { mean: 2, std: 0.1, n: 3 }),
    ).toThrow(ParameterError);
  });
});
