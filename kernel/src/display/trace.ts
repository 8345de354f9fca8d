/**
 * A simulation's trace shown as a timeline: `sim.trace` as a cell's last expression (or in
 * `display(sim.trace)`) draws the per-CPU lanes, IPI arrows and use-after-free markers. It lives
 * here, in the display layer, because the trace recorder (sim/) must not know about MIME bundles.
 */
import type { Trace } from "../sim/trace.js";
import { traceToTimeline } from "../views/trace-timeline.js";
import type { MimeBundle } from "./runtime.js";
import { timelineBundle } from "./timeline.js";

/** The bundle of a whole trace: every CPU that appears in it, every event. */
export function traceBundle(trace: Trace): MimeBundle {
  const cpus = trace.events.reduce((m, e) => Math.max(m, e.cpu), -1) + 1;
  return timelineBundle(
    traceToTimeline(trace, {
      nrCpus: Math.max(1, cpus),
      title: `trace (${trace.events.length} events)`,
    }),
  );
}
