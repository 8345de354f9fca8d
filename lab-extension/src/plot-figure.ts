/**
 * The plot payload as the renderer holds it: a plotly figure (traces and layout as plain JSON)
 * and an optional precomputed sweep, one slider per axis, whose frames replace the traces.
 */
import type { PlotlyJson, PlotPayload, SweepAxis, SweepFrame } from "@mmulab/kernel/contract";
import { checkVersion, PLOT_MIME, PLOT_VERSIONS, Reader } from "./payload.js";

/** More frames than this is a payload mistake (each one is a full set of traces). */
export const MAX_FRAMES = 100_000;

/** Checks a plot payload, version first; throws PayloadError naming the bad field. */
export function parsePlot(data: unknown): PlotPayload {
  const record = checkVersion(PLOT_MIME, data, PLOT_VERSIONS);
  const r = new Reader(PLOT_MIME);
  const title = r.optionalString(record["title"], "title");
  const traces = (v: unknown, path: string): PlotlyJson[] =>
    r.array(v, path).map((t, i) => r.object(t, `${path}[${i}]`) as PlotlyJson);
  const figureData = traces(record["data"], "data");
  // required, as checkPlotPayload has it: what one side refuses, the other does not draw
  const layout = r.object(record["layout"], "layout") as PlotlyJson;
  let sweep: PlotPayload["sweep"];
  if (record["sweep"] !== undefined) {
    const s = r.object(record["sweep"], "sweep");
    const axes: SweepAxis[] = r.array(s["axes"], "sweep.axes").map((a, i) => {
      const p = `sweep.axes[${i}]`;
      const o = r.object(a, p);
      const values = r.array(o["values"], `${p}.values`).map((v, j) => {
        if (typeof v === "string") return v;
        return r.number(v, `${p}.values[${j}]`);
      });
      if (values.length === 0) r.fail(`${p}.values`, "at least one value", values);
      return {
        name: r.string(o["name"], `${p}.name`),
        label: r.string(o["label"], `${p}.label`),
        values,
      };
    });
    if (axes.length === 0) r.fail("sweep.axes", "at least one axis", s["axes"]);
    const rawFrames = r.array(s["frames"], "sweep.frames");
    if (rawFrames.length > MAX_FRAMES)
      r.fail("sweep.frames", `at most ${MAX_FRAMES} frames`, rawFrames.length);
    const frames: SweepFrame[] = rawFrames.map((f, i) => {
      const p = `sweep.frames[${i}]`;
      const o = r.object(f, p);
      const key = r.array(o["key"], `${p}.key`).map((k, j) => {
        const axis = axes[j];
        if (axis === undefined) {
          return r.fail(`${p}.key`, `${axes.length} values, one per axis`, o["key"]);
        }
        if (!axis.values.includes(k as string | number)) {
          r.fail(`${p}.key[${j}]`, `a value of axis '${axis.name}'`, k);
        }
        return k as string | number;
      });
      if (key.length !== axes.length)
        r.fail(`${p}.key`, `${axes.length} values, one per axis`, o["key"]);
      return { key, data: traces(o["data"], `${p}.data`) };
    });
    const rawId = s["id"];
    let id: string | undefined;
    if (rawId !== undefined) {
      if (typeof rawId !== "string" || rawId.length === 0 || rawId.length > 200)
        return r.fail("sweep.id", "a non-empty string of at most 200 characters", rawId);
      id = rawId;
    }
    sweep = { axes, frames, ...(id === undefined ? {} : { id }) };
  }
  return {
    version: 1,
    ...(title === undefined ? {} : { title }),
    data: figureData,
    layout,
    ...(sweep === undefined ? {} : { sweep }),
  };
}

/** Map key of a sweep point. */
export function frameKey(key: readonly (string | number)[]): string {
  return JSON.stringify(key);
}
