/**
 * The benchmark harness: selection, measurement (median of several runs after warm-up), target
 * checks, the printed table and the `bench/results.json` records. Everything here is pure or takes
 * its inputs as arguments, so the tests drive it with fake benchmarks.
 */
import { performance } from "node:perf_hooks";
import type { Benchmark, BenchResult, Better } from "./types.js";

export interface MeasureOptions {
  /** Measured runs; the reported value is their median. */
  readonly runs: number;
  /** Unmeasured runs before them. */
  readonly warmup: number;
}

export const DEFAULT_RUNS = 5;
export const DEFAULT_WARMUP = 1;

/** Median of a non-empty list (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("median of an empty list");
  // −0 before 0, so that the order of the input cannot change the result's sign
  const sorted = [...values].sort(
    (a, b) => a - b || (Object.is(a, -0) ? -1 : 0) + (Object.is(b, -0) ? 1 : 0),
  );
  const mid = Math.floor(sorted.length / 2);
  const hi = sorted[mid] as number;
  if (sorted.length % 2 === 1) return hi;
  const lo = sorted[mid - 1] as number;
  // (a + b) / 2 overflows to Infinity near Number.MAX_VALUE; a / 2 + b / 2 loses subnormals
  const sum = lo + hi;
  return Number.isFinite(sum) ? sum / 2 : lo / 2 + hi / 2;
}

/**
 * The benchmarks whose name contains any of `only` (case-insensitive); all of them when `only` is
 * empty. Registry order is kept.
 */
export function selectBenchmarks<B extends { readonly name: string }>(
  list: readonly B[],
  only: readonly string[],
): B[] {
  if (only.length === 0) return [...list];
  const needles = only.map((s) => s.toLowerCase());
  return list.filter((b) => needles.some((n) => b.name.toLowerCase().includes(n)));
}

/** Throws on duplicate names or malformed fields, so a bad registration fails loudly. */
export function validateBenchmarks(list: readonly Benchmark[]): void {
  const seen = new Set<string>();
  for (const b of list) {
    if (b.name.trim() === "") throw new Error("benchmark with an empty name");
    if (seen.has(b.name)) throw new Error(`duplicate benchmark name '${b.name}'`);
    seen.add(b.name);
    if (b.better !== "higher" && b.better !== "lower") {
      throw new Error(`benchmark '${b.name}': better must be "higher" or "lower"`);
    }
    if (b.target !== null && !Number.isFinite(b.target)) {
      throw new Error(`benchmark '${b.name}': target must be a finite number or null`);
    }
    if (b.runs !== undefined && !(Number.isInteger(b.runs) && b.runs >= 1))
      throw new Error(`benchmark '${b.name}': runs must be a positive integer`);
    if (b.warmup !== undefined && !(Number.isInteger(b.warmup) && b.warmup >= 0))
      throw new Error(`benchmark '${b.name}': warmup must be a non-negative integer`);
  }
}

/** Runs one benchmark `warmup + runs` times and returns the median of the measured runs. */
export async function measure(bench: Benchmark, options: MeasureOptions): Promise<number> {
  if (!Number.isInteger(options.runs) || options.runs < 1) {
    throw new RangeError("runs must be a positive integer");
  }
  const runs = bench.runs ?? options.runs;
  const warmup = bench.warmup ?? options.warmup;
  for (let i = 0; i < warmup; i++) await bench.run();
  const values: number[] = [];
  for (let i = 0; i < runs; i++) {
    const value = await bench.run();
    if (!Number.isFinite(value)) {
      throw new Error(`benchmark '${bench.name}' returned a non-finite value (${value})`);
    }
    values.push(value);
  }
  return median(values);
}

/** Runs the given benchmarks in order (each with `measureOne`, by default in this process);
 * `onResult` sees each result as soon as it is measured. */
export async function runBenchmarks(
  list: readonly Benchmark[],
  options: MeasureOptions,
  onResult?: (result: BenchResult) => void,
  measureOne: (bench: Benchmark, options: MeasureOptions) => Promise<number> = measure,
): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const bench of list) {
    const value = await measureOne(bench, options);
    const result: BenchResult = {
      name: bench.name,
      value,
      unit: bench.unit,
      target: bench.target,
      better: bench.better,
    };
    onResult?.(result);
    results.push(result);
  }
  return results;
}

/** Whether `value` meets `target` in the `better` direction; null when there is no target. */
export function meetsTarget(value: number, target: number | null, better: Better): boolean | null {
  if (target === null) return null;
  return better === "higher" ? value >= target : value <= target;
}

/**
 * The new contents of results.json: `fresh` results replace same-named `existing` ones; entries of
 * benchmarks that were not run (e.g. under `--only`) are kept; the order follows `order` (the
 * registry), with unknown names last.
 */
export function mergeResults(
  existing: readonly BenchResult[],
  fresh: readonly BenchResult[],
  order: readonly string[],
): BenchResult[] {
  const byName = new Map<string, BenchResult>();
  for (const r of existing) byName.set(r.name, r);
  for (const r of fresh) byName.set(r.name, r);
  const rank = new Map(order.map((name, i) => [name, i]));
  return [...byName.values()].sort(
    (a, b) => (rank.get(a.name) ?? Infinity) - (rank.get(b.name) ?? Infinity),
  );
}

/** Checks that `data` has the shape of results.json and returns it typed. */
export function parseResults(data: unknown): BenchResult[] {
  if (!Array.isArray(data)) throw new Error("results.json must hold an array");
  return data.map((entry: unknown, i) => {
    const e = entry as Partial<Record<keyof BenchResult, unknown>> | null;
    const ok =
      typeof e === "object" &&
      e !== null &&
      typeof e.name === "string" &&
      typeof e.value === "number" &&
      typeof e.unit === "string" &&
      (e.target === null || typeof e.target === "number") &&
      (e.better === "higher" || e.better === "lower");
    if (!ok) throw new Error(`results.json entry ${i} is malformed: ${JSON.stringify(entry)}`);
    return {
      name: e.name as string,
      value: e.value as number,
      unit: e.unit as string,
      target: e.target as number | null,
      better: e.better as Better,
    };
  });
}

/** A number for the table: integers as is, others to 4 significant digits. */
function formatValue(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

/** The printed table: benchmark, median, unit, target (with direction) and whether it is met. */
export function formatTable(results: readonly BenchResult[]): string {
  const header = ["benchmark", "median", "unit", "target", "met"];
  const rows = results.map((r) => {
    const met = meetsTarget(r.value, r.target, r.better);
    return [
      r.name,
      formatValue(r.value),
      r.unit,
      r.target === null ? "-" : `${r.better === "higher" ? ">=" : "<="} ${formatValue(r.target)}`,
      met === null ? "-" : met ? "yes" : "NO",
    ];
  });
  const widths = header.map((h, c) =>
    Math.max(h.length, ...rows.map((row) => row[c]?.length ?? 0)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) => (c === 1 ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0)))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(header), rule, ...rows.map(line)].join("\n") + "\n";
}

/**
 * Wall-clock throughput helper for benchmarks: calls `fn` in batches until `minTimeMs` has passed
 * and returns calls per second.
 */
export function opsPerSecond(fn: () => void, minTimeMs = 200): number {
  let calls = 0;
  let batch = 1;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minTimeMs) {
    for (let i = 0; i < batch; i++) fn();
    calls += batch;
    batch *= 2;
    elapsed = performance.now() - start;
  }
  return (calls * 1000) / elapsed;
}
