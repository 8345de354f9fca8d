/**
 * A simulation's trace shown as a timeline: `sim.trace` as a cell's last expression (or in
 * `display(sim.trace)`) draws the per-CPU lanes, IPI arrows and use-after-free markers. The
 * adapter lives here, in the display layer, because the trace recorder (sim/) must not know about
 * MIME bundles.
 */
import { traceToTimeline } from "../experiments/timeline.js";
import { Trace } from "../sim/trace.js";
import { registerMimeAdapter } from "./mime.js";
import { timelineBundle } from "./timeline.js";

/** Registers the Trace adapter (idempotent); runs when this module is loaded. */
export function registerTraceAdapter(): void {
  const g = globalThis as { [key: symbol]: boolean | undefined };
  const key = Symbol.for("mmulab.display.traceAdapter");
  if (g[key]) return;
  g[key] = true;
  registerMimeAdapter<Trace>({
    name: "trace",
    test: (v): v is Trace => v instanceof Trace,
    toBundle: (trace) => {
      const cpus = trace.events.reduce((m, e) => Math.max(m, e.cpu), -1) + 1;
      return timelineBundle(
        traceToTimeline(trace, {
          nrCpus: Math.max(1, cpus),
          title: `trace (${trace.events.length} events)`,
        }),
      );
    },
  });
}

registerTraceAdapter();
