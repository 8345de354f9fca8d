/** Runs one sweep task; failures of the run function become a failed row, never a throw. */
import { getRunFunction, type Metrics } from "./run-functions.js";
import type { Params, SweepTask } from "./space.js";

export interface SweepRow {
  readonly point: number;
  readonly rep: number;
  readonly seed: number;
  readonly params: Params;
  readonly status: "ok" | "failed";
  readonly metrics: Metrics;
  /** "ErrorName: message" of a failed row. */
  readonly error?: string;
}

export function executeTask(t: SweepTask): SweepRow {
  const base = { point: t.point, rep: t.rep, seed: t.seed, params: t.params };
  try {
    const metrics = getRunFunction(t.run)(t.params, t.seed);
    return { ...base, status: "ok", metrics };
  } catch (e) {
    const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return { ...base, status: "failed", metrics: {}, error };
  }
}

/** The idempotency key of a task or row: a point and one of its seeds. */
export function taskKey(t: { readonly point: number; readonly rep: number }): string {
  return `${t.point}:${t.rep}`;
}
