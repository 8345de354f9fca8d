/**
 * Is a difference between two configurations larger than the run-to-run noise? Welch's t-test
 * on two samples given as mean, sample standard deviation and count (what kernbench prints and
 * `trueBlock` returns), with the Welch–Satterthwaite degrees of freedom, a two-sided p-value
 * from Student's t distribution and the 95 % confidence interval of the difference.
 */
import { ParameterError } from "../sim/errors.js";
import type { MeanStd } from "./kernbench-stats.js";

export interface WelchResult {
  /** mean(b) − mean(a) */
  readonly diff: number;
  /** Standard error of the difference. */
  readonly se: number;
  readonly t: number;
  /** Welch–Satterthwaite degrees of freedom. */
  readonly df: number;
  /** Two-sided p-value: the chance of a |t| this large if both configurations were the same. */
  readonly p: number;
  /** 95 % confidence interval of the difference. */
  readonly ci95: readonly [number, number];
}

/**
 * Welch's t-test of b against a. Each sample needs at least two runs; two samples without any
 * spread give p = 1 when their means are equal and p = 0 otherwise.
 */
export function welchTest(a: MeanStd, b: MeanStd): WelchResult {
  for (const [name, s] of [
    ["a", a],
    ["b", b],
  ] as const)
    if (!(Number.isInteger(s.n) && s.n >= 2 && Number.isFinite(s.mean) && s.std >= 0))
      throw new ParameterError(
        name,
        s,
        "a sample of at least 2 runs with a finite mean and std ≥ 0",
        "welchTest",
      );
  const va = (a.std * a.std) / a.n;
  const vb = (b.std * b.std) / b.n;
  const diff = b.mean - a.mean;
  const se = Math.sqrt(va + vb);
  if (se === 0) {
    const p = diff === 0 ? 1 : 0;
    return {
      diff,
      se,
      t: diff === 0 ? 0 : Math.sign(diff) * Infinity,
      df: a.n + b.n - 2,
      p,
      ci95: [diff, diff],
    };
  }
  const df = (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1));
  const t = diff / se;
  const p = studentTwoSided(Math.abs(t), df);
  const q = studentQuantile(0.975, df);
  return { diff, se, t, df, p, ci95: [diff - q * se, diff + q * se] };
}

/** P(|T| ≥ t) for Student's t with `df` degrees of freedom: I_{df/(df+t²)}(df/2, 1/2). */
export function studentTwoSided(t: number, df: number): number {
  if (!(df > 0)) throw new ParameterError("df", df, "a number > 0", "studentTwoSided");
  if (!Number.isFinite(t)) return 0;
  return regularizedBeta(df / (df + t * t), df / 2, 0.5);
}

/** The p-quantile (0.5 < p < 1) of Student's t, by bisection on the distribution function. */
export function studentQuantile(p: number, df: number): number {
  if (!(p > 0.5 && p < 1))
    throw new ParameterError("p", p, "a number in (0.5, 1)", "studentQuantile");
  const tail = 2 * (1 - p);
  let lo = 0;
  let hi = 1;
  while (studentTwoSided(hi, df) > tail) hi *= 2;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (studentTwoSided(mid, df) > tail) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** ln Γ(x), Lanczos approximation (g = 7, 9 terms), for x > 0. */
function lnGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const z = x - 1;
  let s = c[0]!;
  for (let i = 1; i < 9; i++) s += c[i]! / (z + i);
  const w = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(w) - w + Math.log(s);
}

/** I_x(a, b), the regularized incomplete beta function (Lentz's continued fraction). */
function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(
    lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x),
  );
  // the continued fraction converges fast for x < (a + 1) / (a + b + 2); use symmetry otherwise
  if (x > (a + 1) / (a + b + 2)) return 1 - regularizedBeta(1 - x, b, a);
  const tiny = 1e-300;
  let f = 1;
  let c = 1;
  let d = 0;
  for (let i = 0; i <= 400; i++) {
    const m = Math.floor(i / 2);
    let num: number;
    if (i === 0) num = 1;
    else if (i % 2 === 0) num = (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m));
    else num = -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    d = 1 / d;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    const cd = c * d;
    f *= cd;
    if (Math.abs(1 - cd) < 1e-14) break;
  }
  return (front * (f - 1)) / a;
}
