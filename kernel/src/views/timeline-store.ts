/**
 * The full timelines behind the reduced payloads this process published, by `source` id, for the
 * `mmulab.timeline` comm (notebook/timeline-comm.ts) to answer zooms from. A process resource,
 * like the sweep worker pools, not simulation state: it lives on `globalThis` under a registered
 * symbol so every copy of this module shares it, and it is bounded — the oldest timelines go first
 * once the stored events pass {@link MAX_STORED_EVENTS} (a zoom on an evicted one gets a clear
 * error telling the user to run the cell again).
 */
import type { TimelinePayload } from "../contract/mime.js";
import { eventCount } from "./timeline-reduce.js";

/** Events (spans + instants + arrows) kept over all stored timelines: a few hundred MB at most. */
export const MAX_STORED_EVENTS = 4_000_000;

interface Store {
  served: number;
  readonly timelines: Map<string, TimelinePayload>;
}

const KEY = Symbol.for("mmulab.views.timelineStore");

function store(): Store {
  const g = globalThis as { [KEY]?: Store };
  return (g[KEY] ??= { served: 0, timelines: new Map() });
}

/** Keeps `p` and returns its id: a counter, so the same notebook run gives the same outputs. */
export function storeTimeline(p: TimelinePayload): string {
  const s = store();
  const id = `timeline-${++s.served}`;
  s.timelines.set(id, p);
  let total = 0;
  for (const t of s.timelines.values()) total += eventCount(t);
  for (const [old, t] of s.timelines) {
    if (total <= MAX_STORED_EVENTS || old === id) break;
    total -= eventCount(t);
    s.timelines.delete(old);
  }
  return id;
}

/** The stored timeline `id`, if this process still has it. */
export function storedTimeline(id: string): TimelinePayload | undefined {
  return store().timelines.get(id);
}

/** Drops every stored timeline (tests; a notebook's memory). */
export function clearStoredTimelines(): void {
  store().timelines.clear();
}
