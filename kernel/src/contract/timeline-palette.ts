/**
 * The timeline's colours, one palette for both pictures: the interactive renderer
 * (lab-extension/src/timeline-canvas.ts) and the static SVG fallback (display/timeline.ts), so a
 * span kind reads the same in JupyterLab, in a saved notebook and in an HTML report. A new span
 * kind must be given a colour here (the record is keyed by the kind union).
 */
import type { TimelineSpanKind } from "./mime.js";

export const TIMELINE_KIND_COLOURS: Readonly<Record<TimelineSpanKind, string>> = {
  "irq-off": "#9467bd",
  preempted: "#7f7f7f",
  "gup-walk": "#1f77b4",
  "flush-wait": "#ff7f0e",
  "ipi-handler": "#2ca02c",
  hypercall: "#8c564b",
  "grace-period": "#17becf",
  "rcu-callback": "#bcbd22",
  other: "#c7c7c7",
};

/** Use-after-free crosses and lines. */
export const TIMELINE_UAF_COLOUR = "#d62728";
/** IPI arrows. */
export const TIMELINE_IPI_COLOUR = "#2ca02c";
/** Other instants (markers). */
export const TIMELINE_MARKER_COLOUR = "#444444";
