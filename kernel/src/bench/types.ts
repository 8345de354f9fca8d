/** Shapes shared by the benchmark registry, the harness and `bench/results.json`. */

export type Better = "higher" | "lower";

export interface Benchmark {
  /** Unique, stable name; `--only` matches substrings of it. Convention: `area/what`. */
  readonly name: string;
  /** Unit of the value `run` returns, e.g. "events/s", "ns", "ms". */
  readonly unit: string;
  /** The value to reach (see `better`), or null for "track only". */
  readonly target: number | null;
  readonly better: Better;
  /** Measured runs and warm-up runs for this entry, whatever `--runs`/`--warmup` say: for entries
   * whose one run takes many seconds (the scaling table) or whose value is exact. */
  readonly runs?: number;
  readonly warmup?: number;
  /**
   * One measurement. The harness calls it once to warm up, then `runs` times, and reports the
   * median of the returned values. It may measure wall time (see `opsPerSecond`) or return a
   * simulated quantity (e.g. nanoseconds of simulated time).
   */
  run(): number | Promise<number>;
}

/** One entry of `bench/results.json`. */
export interface BenchResult {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly target: number | null;
  readonly better: Better;
}
