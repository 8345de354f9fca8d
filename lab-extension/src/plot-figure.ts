/**
 * The plot payload as the renderer holds it: a plotly figure (traces and layout as plain JSON)
 * and an optional precomputed sweep, one slider per axis, whose frames replace the traces.
 */
import type { PlotlyJson, PlotPayload } from "@mmulab/kernel/contract";
import { checkPlotPayload, Fields, PLOT_MIME } from "@mmulab/kernel/contract";

/** More frames than this is a payload mistake (each one is a full set of traces). */
export const MAX_FRAMES = 100_000;

/**
 * Checks a plot payload with the contract's validator (version first; throws PayloadError naming
 * the bad field) and returns the renderer's own copy of its arrays, so drawing never reorders or
 * extends the saved payload's.
 */
export function parsePlot(data: unknown): PlotPayload {
  checkPlotPayload(data);
  const s = data.sweep;
  if (s !== undefined && s.frames.length > MAX_FRAMES)
    new Fields(PLOT_MIME).fail("sweep.frames", `at most ${MAX_FRAMES} frames`, s.frames.length);
  const traces = (t: readonly PlotlyJson[]): PlotlyJson[] => [...t];
  return {
    version: 1,
    ...(data.title === undefined ? {} : { title: data.title }),
    data: traces(data.data),
    layout: data.layout,
    ...(s === undefined
      ? {}
      : {
          sweep: {
            axes: s.axes.map((a) => ({ name: a.name, label: a.label, values: [...a.values] })),
            frames: s.frames.map((f) => ({ key: [...f.key], data: traces(f.data) })),
            ...(s.id === undefined ? {} : { id: s.id }),
          },
        }),
  };
}

/** Map key of a sweep point. */
export function frameKey(key: readonly (string | number)[]): string {
  return JSON.stringify(key);
}
