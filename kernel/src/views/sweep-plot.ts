/**
 * A plot payload from points a notebook computed with plain loops over the public API: one trace
 * per series, and with slider axes one frame per combination of their values.
 */
import type { PlotlyJson, PlotPayload, SweepAxis, SweepFrame } from "../contract/mime.js";
import { distinct } from "./race-matrix.js";

/** One computed point of a sweep. */
export interface SweepPoint {
  /** Trace name (one line or bar group per series). */
  readonly series: string;
  readonly x: number | string;
  readonly y: number;
  /** The slider axes' values for this point, by axis name (omit when there are no axes). */
  readonly key?: Readonly<Record<string, number | string>>;
}

export interface SweepPlotSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly xLog?: boolean;
  readonly yLog?: boolean;
  /** Default "lines+markers". */
  readonly mode?: "lines+markers" | "lines" | "markers" | "bar";
  /** Slider axes, in order; their values are taken from the points' keys (first seen first). */
  readonly axes?: readonly { readonly name: string; readonly label: string }[];
  readonly points: readonly SweepPoint[];
}

/**
 * A plot payload from computed points: one trace per series; with `axes`, one frame per
 * combination of axis values (sliders in the interactive plot, the first combination in the
 * static picture and in `data`).
 */
export function sweepPlot(spec: SweepPlotSpec): PlotPayload {
  const axes = spec.axes ?? [];
  const series = distinct(spec.points.map((p) => p.series));
  const sweepAxes: SweepAxis[] = axes.map((a) => {
    const values = distinct(
      spec.points.map((p) => {
        const v = p.key?.[a.name];
        if (v === undefined)
          throw new TypeError(`sweepPlot: a point of series "${p.series}" has no "${a.name}"`);
        return v;
      }),
    );
    return { name: a.name, label: a.label, values };
  });
  const keyOf = (p: SweepPoint) => axes.map((a) => p.key?.[a.name] ?? "");
  const same = (a: readonly (number | string)[], b: readonly (number | string)[]) =>
    a.length === b.length && a.every((v, i) => v === b[i]);
  const mode = spec.mode ?? "lines+markers";
  const tracesFor = (key: readonly (number | string)[]): PlotlyJson[] =>
    series.map((s) => {
      const pts = spec.points.filter((p) => p.series === s && same(keyOf(p), key));
      const trace: PlotlyJson = { name: s, x: pts.map((p) => p.x), y: pts.map((p) => p.y) };
      return mode === "bar" ? { type: "bar", ...trace } : { type: "scatter", mode, ...trace };
    });
  // Every combination of the axes' values, first axis slowest.
  let keys: (number | string)[][] = [[]];
  for (const a of sweepAxes) keys = keys.flatMap((k) => a.values.map((v) => [...k, v]));
  const frames: SweepFrame[] = keys.map((key) => ({ key, data: tracesFor(key) }));
  const axis = (title: string, log: boolean | undefined): PlotlyJson => ({
    title: { text: title },
    ...(log === true ? { type: "log" } : {}),
  });
  return {
    version: 1,
    title: spec.title,
    data: frames[0]?.data ?? [],
    layout: {
      xaxis: axis(spec.xLabel, spec.xLog),
      yaxis: axis(spec.yLabel, spec.yLog),
      ...(mode === "bar" ? { barmode: "group" } : {}),
    },
    ...(sweepAxes.length > 0 ? { sweep: { axes: sweepAxes, frames } } : {}),
  };
}

/** The frame of `plot` for the given axis values (by axis name), or undefined. */
export function sweepFrame(
  plot: PlotPayload,
  key: Readonly<Record<string, number | string>>,
): SweepFrame | undefined {
  const axes = plot.sweep?.axes ?? [];
  return plot.sweep?.frames.find((f) => axes.every((a, i) => f.key[i] === key[a.name]));
}
