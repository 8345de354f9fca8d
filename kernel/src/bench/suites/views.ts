/**
 * Kernel-side reduction of a big timeline (views/timeline-reduce.ts): what a cell that displays a
 * 1,000,000-span trace pays before the output leaves the kernel, and how big that output is.
 * Track only; the browser side is lab/timeline-* (lab-extension/bench/first-paint.ts).
 *
 *   views/timeline-reduce-1m          ms to reduce 1M spans (+ 50k IPIs) to the overview and the
 *                                     exact window
 *   views/timeline-reduce-1m-payload  MB of JSON the reduced payload is (the full one: ~150 MB)
 *   views/timeline-window-1m          ms to answer one zoom over the mmulab.timeline comm
 */
import { performance } from "node:perf_hooks";
import type {
  TimelineArrow,
  TimelinePayload,
  TimelineSpan,
  TimelineSpanKind,
} from "../../contract/mime.js";
import { reduceTimeline, timelineWindow } from "../../views/timeline-reduce.js";
import type { Benchmark } from "../types.js";

/** `n` spans over 8 CPU lanes, deterministic, with an IPI arrow every 20th span. Self-contained
 * (no outside names), so the browser benchmark can build it in the page from its source. */
export function syntheticTimeline(n: number): TimelinePayload {
  const KINDS: readonly TimelineSpanKind[] = ["irq-off", "gup-walk", "flush-wait", "ipi-handler"];
  const lanes = Array.from({ length: 8 }, (_, i) => ({ id: `cpu${i}`, label: `CPU ${i}` }));
  const spans: TimelineSpan[] = [];
  const arrows: TimelineArrow[] = [];
  const t = new Float64Array(8);
  for (let i = 0; i < n; i++) {
    const c = i % 8;
    const dur = 200 + ((i * 2654435761) % 3000);
    const kind = KINDS[(i >> 3) % KINDS.length]!;
    spans.push({
      lane: `cpu${c}`,
      start: t[c]!,
      end: t[c]! + dur,
      kind,
      label: kind,
      args: { n: i },
    });
    if (i % 20 === 0)
      arrows.push({
        fromLane: `cpu${c}`,
        fromT: t[c]!,
        toLane: `cpu${(c + 1) % 8}`,
        toT: t[c]! + 900,
        kind: "ipi",
        label: "IPI",
      });
    t[c]! += dur + ((i * 40503) % 500);
  }
  return { version: 1, title: `${n} spans`, unit: "ns", lanes, spans, instants: [], arrows };
}

let million: TimelinePayload | null = null;
const big = (): TimelinePayload => (million ??= syntheticTimeline(1_000_000));

export const viewsBenchmarks: readonly Benchmark[] = [
  {
    name: "views/timeline-reduce-1m",
    unit: "ms",
    target: null,
    better: "lower",
    run: () => {
      const p = big();
      const t0 = performance.now();
      reduceTimeline(p, { source: "timeline-1" });
      return performance.now() - t0;
    },
  },
  {
    name: "views/timeline-reduce-1m-payload",
    unit: "MB",
    target: null,
    better: "lower",
    run: () => JSON.stringify(reduceTimeline(big(), { source: "timeline-1" })).length / 1e6,
  },
  {
    name: "views/timeline-window-1m",
    unit: "ms",
    target: null,
    better: "lower",
    run: () => {
      const p = big();
      const end = p.spans[p.spans.length - 1]!.end;
      const t0 = performance.now();
      timelineWindow(p, "timeline-1", end * 0.4, end * 0.41, 1200);
      return performance.now() - t0;
    },
  },
];
