/** Tidy sweep results: one row per point and seed; CSV/JSON export. Per-point summaries and the
 * plot of a result are views (views/sweep-result.ts). */
import type { ParamValue, SweepSpec } from "./space.js";
import type { SweepRow } from "./task.js";

export interface SweepResult {
  readonly spec: SweepSpec;
  /** Sorted by point, then seed repetition. */
  readonly rows: readonly SweepRow[];
}

export function sortRows(rows: Iterable<SweepRow>): SweepRow[] {
  return [...rows].sort((a, b) => a.point - b.point || a.rep - b.rep);
}

/** The rows whose task failed (an error or a deadline), for a notebook to show why. */
export function failedRows(r: SweepResult): SweepRow[] {
  return r.rows.filter((x) => x.status === "failed");
}

function csvCell(v: ParamValue | undefined): string {
  if (v === undefined) return "";
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV with columns point, rep, seed, each parameter, status, each metric, error. */
export function toCSV(r: SweepResult): string {
  const params = [...new Set(r.rows.flatMap((x) => Object.keys(x.params)))];
  const metrics = [...new Set(r.rows.flatMap((x) => Object.keys(x.metrics)))];
  const head = ["point", "rep", "seed", ...params, "status", ...metrics, "error"];
  const lines = r.rows.map((x) =>
    [
      x.point,
      x.rep,
      x.seed,
      ...params.map((p) => x.params[p]),
      x.status,
      ...metrics.map((m) => x.metrics[m]),
      x.error,
    ]
      .map(csvCell)
      .join(","),
  );
  return `${[head.map(csvCell).join(","), ...lines].join("\n")}\n`;
}

/** JSON: {spec, rows}. */
export function toJSON(r: SweepResult): string {
  return JSON.stringify({ spec: r.spec, rows: r.rows }, null, 2);
}
