/**
 * Reduction of a big timeline for the notebook: the whole run summarised per time bucket (about
 * one bucket per pixel of the plot), plus the exact events of one window. A trace of 4,000 munmap
 * calls on 8 CPUs has ~100k spans; shipping each to the browser makes a 10 MB output that takes
 * tens of seconds to draw. The overview keeps, for every lane and span kind, how much of each
 * bucket was busy and how many spans started in it, and the IPI count per bucket: what the eye
 * can see at that zoom. The exact events come for the window shown first (around the first
 * use-after-free, if any) and, over the `mmulab.timeline` comm, for any window the user zooms to
 * (notebook/timeline-comm.ts answers with {@link timelineWindow}).
 */
import type {
  TimelineArrow,
  TimelineInstant,
  TimelineOverview,
  TimelineOverviewRow,
  TimelinePayload,
  TimelineSpan,
  TimelineSpanKind,
} from "../contract/mime.js";
import { MAX_OVERVIEW_BUCKETS } from "../contract/payload.js";
import { TIMELINE_WINDOW_MAX_EVENTS, type TimelineWindow } from "../contract/timeline-comm.js";
import { ParameterError } from "../sim/errors.js";

/** Timelines with more events than this (spans + instants + arrows) are published reduced. */
export const REDUCE_THRESHOLD = 20_000;
/** Buckets of a reduced payload's overview: about a wide plot's width in pixels. */
export const DEFAULT_OVERVIEW_BUCKETS = 2_000;

/** Number of events a payload carries. */
export function eventCount(p: TimelinePayload): number {
  return p.spans.length + p.instants.length + p.arrows.length;
}

/** [first, last] ns any event touches; [0, 1] for an empty timeline. */
export function timelineExtent(p: TimelinePayload): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of p.spans) {
    if (s.start < lo) lo = s.start;
    if (s.end > hi) hi = s.end;
  }
  for (const i of p.instants) {
    if (i.t < lo) lo = i.t;
    if (i.t > hi) hi = i.t;
  }
  for (const a of p.arrows) {
    lo = Math.min(lo, a.fromT, a.toT);
    hi = Math.max(hi, a.fromT, a.toT);
  }
  if (!Number.isFinite(lo)) return [0, 1];
  return [lo, hi > lo ? hi : lo + 1];
}

function checkBuckets(buckets: number, ctx: string): number {
  if (!Number.isInteger(buckets) || buckets < 1 || buckets > MAX_OVERVIEW_BUCKETS)
    throw new ParameterError(
      "buckets",
      buckets,
      `an integer from 1 to ${MAX_OVERVIEW_BUCKETS}`,
      ctx,
    );
  return buckets;
}

/**
 * The events of `p` overlapping [from, to] per bucket: busy ns per lane and kind (spans clipped
 * to the bucket; nested spans of one kind counted once per ns at most) and spans started, and
 * IPIs sent per bucket.
 */
export function overviewOf(
  p: TimelinePayload,
  from: number,
  to: number,
  buckets: number,
): TimelineOverview {
  checkBuckets(buckets, "overviewOf");
  const bucketNs = Math.max(to - from, 1) / buckets;
  const rows = new Map<
    string,
    { lane: string; kind: TimelineSpanKind; busy: Float64Array; count: Uint32Array }
  >();
  const end = from + bucketNs * buckets;
  for (const s of p.spans) {
    if (s.end < from || s.start >= end) continue;
    const key = `${s.lane}\u0000${s.kind}`;
    let row = rows.get(key);
    if (row === undefined)
      rows.set(
        key,
        (row = {
          lane: s.lane,
          kind: s.kind,
          busy: new Float64Array(buckets),
          count: new Uint32Array(buckets),
        }),
      );
    const a = Math.max(s.start, from);
    const b = Math.min(s.end, end);
    const b0 = Math.min(buckets - 1, Math.floor((a - from) / bucketNs));
    const b1 = Math.min(buckets - 1, Math.floor((b - from) / bucketNs));
    if (s.start >= from) row.count[b0]!++;
    if (b0 === b1) row.busy[b0]! += b - a;
    else {
      row.busy[b0]! += from + (b0 + 1) * bucketNs - a;
      for (let k = b0 + 1; k < b1; k++) row.busy[k]! += bucketNs;
      row.busy[b1]! += b - (from + b1 * bucketNs);
    }
  }
  const ipis = new Array<number>(buckets).fill(0);
  for (const a of p.arrows) {
    if (a.fromT < from || a.fromT >= end) continue;
    ipis[Math.min(buckets - 1, Math.floor((a.fromT - from) / bucketNs))]!++;
  }
  const laneOrder = new Map(p.lanes.map((l, i) => [l.id, i]));
  const out: TimelineOverviewRow[] = [...rows.values()]
    .sort((x, y) => (laneOrder.get(x.lane) ?? 0) - (laneOrder.get(y.lane) ?? 0))
    .map((r) => ({
      lane: r.lane,
      kind: r.kind,
      // whole ns: the overview is for the eye, and integers keep the JSON short
      busy: Array.from(r.busy, (v) => Math.round(Math.min(v, bucketNs))),
      count: Array.from(r.count),
    }));
  return {
    start: from,
    bucketNs,
    buckets,
    rows: out,
    ipis,
    totals: { spans: p.spans.length, instants: p.instants.length, arrows: p.arrows.length },
  };
}

interface Events {
  readonly spans: TimelineSpan[];
  readonly instants: TimelineInstant[];
  readonly arrows: TimelineArrow[];
}

/** The events overlapping [from, to]; use-after-free instants always (they are few and the
 * point of the picture). */
function eventsIn(p: TimelinePayload, from: number, to: number): Events {
  return {
    spans: p.spans.filter((s) => s.end >= from && s.start <= to),
    instants: p.instants.filter((i) => i.kind === "uaf" || (i.t >= from && i.t <= to)),
    arrows: p.arrows.filter(
      (a) => Math.max(a.fromT, a.toT) >= from && Math.min(a.fromT, a.toT) <= to,
    ),
  };
}

function countIn(p: TimelinePayload, from: number, to: number): number {
  let n = 0;
  for (const s of p.spans) if (s.end >= from && s.start <= to) n++;
  for (const i of p.instants) if (i.t >= from && i.t <= to) n++;
  for (const a of p.arrows)
    if (Math.max(a.fromT, a.toT) >= from && Math.min(a.fromT, a.toT) <= to) n++;
  return n;
}

/**
 * The window shown exactly at first: about `maxEvents` events in time order, centred on the first
 * use-after-free when there is one, else from the start.
 */
export function defaultDetail(p: TimelinePayload, maxEvents: number): { from: number; to: number } {
  const n = eventCount(p);
  const times = new Float64Array(n);
  let k = 0;
  for (const s of p.spans) times[k++] = s.start;
  for (const i of p.instants) times[k++] = i.t;
  for (const a of p.arrows) times[k++] = a.fromT;
  times.sort();
  if (n === 0) return { from: 0, to: 1 };
  let centre = 0;
  const uaf = p.instants.filter((i) => i.kind === "uaf");
  if (uaf.length > 0) {
    const t = Math.min(...uaf.map((u) => u.t));
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (times[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    centre = Math.max(0, lo - Math.floor(maxEvents / 2));
  }
  const first = Math.min(centre, Math.max(0, n - maxEvents));
  const last = Math.min(n - 1, first + Math.max(1, maxEvents) - 1);
  return { from: times[first]!, to: Math.max(times[last]!, times[first]! + 1) };
}

export interface ReduceOptions {
  /** Overview resolution (default {@link DEFAULT_OVERVIEW_BUCKETS}). */
  readonly buckets?: number;
  /** Events kept exactly (default {@link REDUCE_THRESHOLD}). */
  readonly maxExact?: number;
  /** The window kept exactly (default: {@link defaultDetail}). */
  readonly detail?: { readonly from: number; readonly to: number };
  /** The id under which the kernel serves windows of the full timeline. */
  readonly source?: string;
}

/**
 * A payload of at most about `maxExact` exact events: `p` itself when it is that small, else its
 * overview, the exact events of the detail window, and `source`.
 */
export function reduceTimeline(p: TimelinePayload, opts: ReduceOptions = {}): TimelinePayload {
  const maxExact = opts.maxExact ?? REDUCE_THRESHOLD;
  if (!Number.isInteger(maxExact) || maxExact < 1)
    throw new ParameterError("maxExact", maxExact, "a positive integer", "reduceTimeline");
  if (opts.detail === undefined && eventCount(p) <= maxExact) return p;
  const buckets = checkBuckets(opts.buckets ?? DEFAULT_OVERVIEW_BUCKETS, "reduceTimeline");
  const [lo, hi] = timelineExtent(p);
  const detail = opts.detail ?? defaultDetail(p, maxExact);
  const ev = eventsIn(p, detail.from, detail.to);
  return {
    version: 1,
    ...(p.title === undefined ? {} : { title: p.title }),
    unit: "ns",
    lanes: p.lanes,
    ...ev,
    overview: overviewOf(p, lo, hi, buckets),
    detail: { from: detail.from, to: detail.to },
    ...(opts.source === undefined ? {} : { source: opts.source }),
  };
}

/**
 * One `mmulab.timeline` answer: the exact events of [from, to] when there are at most
 * `maxEvents`, else an overview of the window at `buckets` resolution (plus the use-after-frees).
 */
export function timelineWindow(
  p: TimelinePayload,
  source: string,
  from: number,
  to: number,
  buckets: number,
  maxEvents: number = TIMELINE_WINDOW_MAX_EVENTS,
): TimelineWindow {
  const ctx = "timelineWindow";
  if (!Number.isFinite(from)) throw new ParameterError("from", from, "a finite time in ns", ctx);
  if (!Number.isFinite(to) || to <= from)
    throw new ParameterError("to", to, `a finite time in ns after from (${from})`, ctx);
  checkBuckets(buckets, ctx);
  if (countIn(p, from, to) <= maxEvents)
    return { source, from, to, exact: true, ...eventsIn(p, from, to) };
  return {
    source,
    from,
    to,
    exact: false,
    spans: [],
    instants: p.instants.filter((i) => i.kind === "uaf"),
    arrows: [],
    overview: overviewOf(p, from, to, buckets),
  };
}
