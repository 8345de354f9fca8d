/**
 * A sweep's result as a view: per-point summaries of a metric (mean, sample standard deviation,
 * 95 % confidence interval) and the plot of one metric against one parameter, the other swept
 * parameters as slider axes. sweep/ returns rows; this builds what is shown from them. The
 * result's shape is declared here structurally, as views sit below sweep/ (sweep/results.ts
 * `SweepResult` satisfies it).
 */
import type { JsonObject, PlotPayload, PlotlyJson, SweepFrame } from "../contract/mime.js";
import { ParameterError } from "../sim/errors.js";

type ParamValue = number | string | boolean;
type Params = Readonly<Record<string, ParamValue>>;

/** The part of a sweep result (sweep/results.ts `SweepResult`) a summary and a plot read. */
export interface SweepResultData {
  readonly spec: { readonly run: string; readonly params: Readonly<Record<string, unknown>> };
  /** Sorted by point, then seed repetition. */
  readonly rows: readonly SweepRowData[];
}

/** The part of a row (sweep/task.ts `SweepRow`) a summary reads. */
export interface SweepRowData {
  readonly point: number;
  readonly params: Params;
  readonly status: "ok" | "failed";
  readonly metrics: Readonly<Record<string, number>>;
}

export interface PointSummary {
  readonly point: number;
  readonly params: Params;
  /** Successful seeds. */
  readonly n: number;
  readonly failed: number;
  readonly mean: number;
  /** Sample standard deviation (n − 1); NaN for n < 2. */
  readonly std: number;
  /** 95 % confidence interval of the mean (Student's t); [mean, mean] for n < 2. */
  readonly ci95: readonly [number, number];
}

// two-sided 97.5 % quantiles of Student's t, df 1 … 30
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145,
  2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048,
  2.045, 2.042,
];

export function tQuantile975(df: number): number {
  return df >= 1 && df <= 30 ? T975[df - 1]! : 1.96;
}

export function meanStdCi(xs: readonly number[]): {
  mean: number;
  std: number;
  ci95: [number, number];
} {
  const n = xs.length;
  if (n === 0) return { mean: NaN, std: NaN, ci95: [NaN, NaN] };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, std: NaN, ci95: [mean, mean] };
  const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const h = (tQuantile975(n - 1) * std) / Math.sqrt(n);
  return { mean, std, ci95: [mean - h, mean + h] };
}

/** Mean, std and 95 % CI of one metric at every point. */
export function summarize(r: SweepResultData, metric: string): PointSummary[] {
  const byPoint = new Map<number, SweepRowData[]>();
  for (const x of r.rows) {
    const l = byPoint.get(x.point) ?? [];
    l.push(x);
    byPoint.set(x.point, l);
  }
  const known = r.rows.some((x) => metric in x.metrics);
  if (!known && r.rows.some((x) => x.status === "ok"))
    throw new ParameterError(
      "metric",
      metric,
      `one of ${[...new Set(r.rows.flatMap((x) => Object.keys(x.metrics)))].join(", ")}`,
      "summarize",
    );
  return [...byPoint.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([point, rows]) => {
      const xs = rows.filter((x) => x.status === "ok").map((x) => x.metrics[metric]!);
      return {
        point,
        params: rows[0]!.params,
        n: xs.length,
        failed: rows.length - xs.length,
        ...meanStdCi(xs),
      };
    });
}

export interface SweepPlotOptions {
  readonly metric: string;
  /** The parameter on the x axis (default: the first swept one). */
  readonly x?: string;
  readonly title?: string;
  /** With slider axes: "fixed" holds one y range over every frame so frames compare by eye;
   * "auto" (the renderer's default) fits each. */
  readonly yRange?: "auto" | "fixed";
}

/**
 * A plot of a metric's mean with 95 % CI error bars against one parameter. With 2+ swept
 * parameters the others become slider axes with one precomputed frame per combination.
 */
export function sweepResultPlot(r: SweepResultData, o: SweepPlotOptions): PlotPayload {
  const swept = Object.keys(r.spec.params);
  const x = o.x ?? swept[0]!;
  if (!swept.includes(x))
    throw new ParameterError("x", x, `one of ${swept.join(", ")}`, "sweepResultPlot");
  const others = swept.filter((p) => p !== x);
  const sums = summarize(r, o.metric);
  const axisValues = (name: string) =>
    [...new Set(sums.map((s) => s.params[name]!))].map((v) =>
      typeof v === "boolean" ? String(v) : v,
    );
  const keyOf = (p: Params) =>
    others.map((n) => (typeof p[n] === "boolean" ? String(p[n]) : (p[n] as number | string)));
  const trace = (subset: readonly PointSummary[]): PlotlyJson => {
    const sorted = [...subset].sort((a, b) => {
      const va = a.params[x];
      const vb = b.params[x];
      return typeof va === "number" && typeof vb === "number" ? va - vb : 0;
    });
    const fin = (v: number) => (Number.isFinite(v) ? v : 0);
    return {
      type: "scatter",
      mode: "lines+markers",
      name: o.metric,
      x: sorted.map((s) => (typeof s.params[x] === "boolean" ? String(s.params[x]) : s.params[x]!)),
      y: sorted.map((s) => (Number.isFinite(s.mean) ? s.mean : null)),
      error_y: {
        type: "data",
        symmetric: false,
        array: sorted.map((s) => fin(s.ci95[1] - s.mean)),
        arrayminus: sorted.map((s) => fin(s.mean - s.ci95[0])),
      },
    } satisfies JsonObject;
  };
  const layout: PlotlyJson = {
    xaxis: { title: { text: x } },
    yaxis: { title: { text: `${o.metric} (mean, 95 % CI)` } },
  };
  const title = o.title ?? `${r.spec.run}: ${o.metric}`;
  if (others.length === 0) return { version: 1, title, data: [trace(sums)], layout };
  const groups = new Map<string, { key: (number | string)[]; sums: PointSummary[] }>();
  for (const s of sums) {
    const key = keyOf(s.params);
    const k = JSON.stringify(key);
    const g = groups.get(k) ?? { key, sums: [] };
    g.sums.push(s);
    groups.set(k, g);
  }
  const frames: SweepFrame[] = [...groups.values()].map((g) => ({
    key: g.key,
    data: [trace(g.sums)],
  }));
  return {
    version: 1,
    title,
    data: frames[0]!.data,
    layout,
    sweep: {
      axes: others.map((n) => ({ name: n, label: n, values: axisValues(n) })),
      frames,
      ...(o.yRange === undefined ? {} : { yRange: o.yRange }),
    },
  };
}
