/**
 * Live interactive sweeps: the kernel side of the `mmulab.sweep` comm (see
 * contract/comm.ts; handlers are registered through the notebook seam, notebook/comm.ts).
 * {@link liveSweepHandler} answers a request `{sweep, key: [v1, …]}` — one value
 * per slider axis of a {@link sweepResultPlot} — by running that slice of the sweep (every value of
 * the x parameter, the slider values fixed) and returning `{key, data}`: the traces to re-plot.
 * Values outside the precomputed grid are accepted when the parameter's space allows them (a
 * value inside an int or float range, or one of a list's values).
 */
import type { JsonObject, JsonValue, PlotPayload } from "../contract/mime.js";
import { nextSweepId, registerSweepHandler, type SweepHandler } from "../notebook/comm.js";
import { ParameterError } from "../sim/errors.js";
import { runSweep } from "./local.js";
import { sweepResultPlot, type SweepPlotOptions } from "../views/sweep-result.js";
import type { SweepResult } from "./results.js";
import type { ParamSpace, ParamValue, SweepSpec } from "./space.js";

function accepts(space: ParamSpace, v: ParamValue): boolean {
  if (Array.isArray(space)) return (space as readonly ParamValue[]).includes(v);
  const r = space as Exclude<ParamSpace, readonly ParamValue[]>;
  if (typeof v !== "number" || v < r.min || v > r.max) return false;
  return r.kind === "float" || Number.isInteger(v);
}

/** A slider value as the front end sends it back: the plot contract carries boolean axis values
 * as "true"/"false" (sweepResultPlot), so they are mapped back when the space holds booleans. */
function decodeAxisValue(space: ParamSpace, v: unknown): unknown {
  if (!Array.isArray(space) || (v !== "true" && v !== "false")) return v;
  const values = space as readonly ParamValue[];
  return values.includes(v) ? v : values.includes(v === "true") ? v === "true" : v;
}

/** A handler for the `mmulab.sweep` comm serving slices of `spec`. */
export function liveSweepHandler(spec: SweepSpec, o: SweepPlotOptions): SweepHandler {
  const swept = Object.keys(spec.params);
  const x = o.x ?? swept[0]!;
  const others = swept.filter((p) => p !== x);
  return async (request: JsonObject): Promise<JsonValue> => {
    const key = request.key;
    if (!Array.isArray(key) || key.length !== others.length)
      throw new ParameterError("key", key, `an array of ${others.length} value(s)`, "live sweep");
    const fixed: Record<string, ParamValue> = { ...(spec.fixed ?? {}) };
    others.forEach((name, i) => {
      const v = decodeAxisValue(spec.params[name]!, key[i]);
      if (
        !(typeof v === "number" || typeof v === "string" || typeof v === "boolean") ||
        !accepts(spec.params[name]!, v)
      )
        throw new ParameterError(name, v, "a value inside the sweep's space", "live sweep");
      fixed[name] = v;
    });
    const slice: SweepSpec = { ...spec, params: { [x]: spec.params[x]! }, fixed };
    const r = await runSweep(slice, { workers: 0, progress: false });
    const plot = sweepResultPlot(r, { ...o, x });
    return { key: key, data: plot.data as JsonValue[] };
  };
}

/**
 * Plots a finished sweep with precomputed slider frames (works without a kernel) and installs its
 * live handler under an id the plot carries, so a front end with a kernel can ask for slices not
 * in the frames, each live plot from its own sweep (and only a plot with an id asks at all).
 */
export function serveLiveSweep(r: SweepResult, o: SweepPlotOptions): PlotPayload {
  const handler = liveSweepHandler(r.spec, o);
  const plot = sweepResultPlot(r, o);
  if (plot.sweep === undefined) return plot;
  const id = nextSweepId();
  registerSweepHandler(id, handler);
  return { ...plot, sweep: { ...plot.sweep, id } };
}
