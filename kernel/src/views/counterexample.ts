/**
 * A counterexample as the views every use-after-free report gets: the timeline payload
 * (`application/vnd.mmulab.timeline+json`, trace-timeline.ts) and a Chrome trace. The path
 * is replayed with tracing on; each explored step is drawn 1 µs after the previous one, with a
 * marker naming the step, and after the use-after-free the run is finished (first enabled action
 * each time) so that spans still open at the read — the walk, the flush wait — are closed.
 */
import type { TimelineInstant, TimelinePayload } from "../contract/mime.js";
import { replaySpec, type ExploreReplay } from "../explore/explorer.js";
import { World } from "../explore/world.js";
import type { ChromeTrace } from "../sim/trace.js";
import { traceToTimeline } from "./trace-timeline.js";

/** Steps run after the use-after-free, at most. */
const FINISH_STEPS = 500;

export interface CounterexampleViews {
  readonly timeline: TimelinePayload;
  readonly chromeTrace: ChromeTrace;
}

/** Replays `replay` (from `Counterexample.replay`) and renders it. */
export function counterexampleViews(replay: ExploreReplay): CounterexampleViews {
  const spec = replaySpec(replay);
  const w = new World(spec, { trace: true });
  const markers: TimelineInstant[] = [];
  const sim = w.sys.sim;
  for (const label of replay.path) {
    const a = w.action(label);
    w.execute(a);
    markers.push({
      lane: a.cpu < 0 ? "rcu" : `cpu${a.cpu}`,
      t: sim.now,
      kind: "marker",
      label: `${w.stepNo}. ${label}`,
    });
  }
  const uafAt = sim.now;
  for (let i = 0; i < FINISH_STEPS; i++) {
    // the processes run on to the end; no further stalls or page walks
    const next = w.actions().filter((a) => a.kind === "step" || a.kind === "ipi");
    if (next.length === 0) break;
    w.execute(next[0]!);
  }
  const title =
    `${replay.scenario} on ${replay.profile} with ${replay.backend}: shortest interleaving to a ` +
    `use-after-free (${replay.path.length} steps)`;
  const base = traceToTimeline(sim.trace, {
    nrCpus: spec.cpus,
    from: w.t0,
    to: Math.max(uafAt, sim.now),
    title,
  });
  const timeline: TimelinePayload = { ...base, instants: [...base.instants, ...markers] };
  const chromeTrace = sim.trace.toChrome({
    profile: replay.profile,
    backend: replay.backend,
    scenario: replay.scenario,
    cpus: replay.cpus,
    pages: replay.pages,
    steps: replay.path.length,
    path: replay.path.join(" | "),
  });
  return { timeline, chromeTrace };
}
