/**
 * The timeline as the renderer holds it: the payload checked with the contract's validator, the
 * renderer's drawing limits applied, and copied field by field, so nothing else a saved payload
 * carries reaches the drawing code. Pure: the unit tests use it without a browser.
 */
import type {
  JsonPrimitive,
  TimelineOverview,
  TimelinePayload,
  TimelineSpan,
  TimelineSpanKind,
} from "@mmulab/kernel/contract";
import {
  checkTimelinePayload,
  Fields,
  TIMELINE_IPI_COLOUR,
  TIMELINE_KIND_COLOURS,
  TIMELINE_MIME,
  TIMELINE_SPAN_KINDS,
  TIMELINE_UAF_COLOUR,
} from "@mmulab/kernel/contract";

export const SPAN_KINDS = TIMELINE_SPAN_KINDS;
/** The contract's palette (the static SVG uses the same). */
export const KIND_COLORS: Readonly<Record<TimelineSpanKind, string>> = TIMELINE_KIND_COLOURS;
export const UAF_COLOR = TIMELINE_UAF_COLOUR;
export const IPI_COLOR = TIMELINE_IPI_COLOUR;
export const UAF_TRACE_NAME = "use-after-free";
export const IPI_TRACE_NAME = "IPI";

/** Limits that keep a hostile payload from freezing the page. */
export const MAX_SPANS = 2_000_000;
export const MAX_LANES = 1024;

function copyOverview(o: TimelineOverview): TimelineOverview {
  return {
    start: o.start,
    bucketNs: o.bucketNs,
    buckets: o.buckets,
    rows: o.rows.map((r) => ({ lane: r.lane, kind: r.kind, busy: r.busy, count: r.count })),
    ipis: o.ipis,
    totals: { spans: o.totals.spans, instants: o.totals.instants, arrows: o.totals.arrows },
  };
}

/**
 * Checks a timeline payload with the contract's validator (version first; throws PayloadError
 * naming the bad field), applies the renderer's drawing limits, and returns its own copy: only
 * the contract's fields.
 */
export function parseTimeline(data: unknown): TimelinePayload {
  checkTimelinePayload(data);
  const r = new Fields(TIMELINE_MIME);
  if (data.lanes.length > MAX_LANES)
    r.fail("lanes", `at most ${MAX_LANES} lanes`, data.lanes.length);
  if (data.spans.length > MAX_SPANS)
    r.fail("spans", `at most ${MAX_SPANS} spans`, data.spans.length);
  const args = (a: Readonly<Record<string, JsonPrimitive>> | undefined) =>
    a === undefined ? {} : { args: { ...a } };
  return {
    version: 1,
    ...(data.title === undefined ? {} : { title: data.title }),
    unit: "ns",
    lanes: data.lanes.map((l) => ({ id: l.id, label: l.label })),
    spans: data.spans.map((s): TimelineSpan => ({
      lane: s.lane,
      start: s.start,
      end: s.end,
      kind: s.kind,
      label: s.label,
      ...args(s.args),
    })),
    instants: data.instants.map((i) => ({
      lane: i.lane,
      t: i.t,
      kind: i.kind,
      label: i.label,
      ...args(i.args),
    })),
    arrows: data.arrows.map((a) => ({
      fromLane: a.fromLane,
      fromT: a.fromT,
      toLane: a.toLane,
      toT: a.toT,
      kind: a.kind,
      label: a.label,
    })),
    ...(data.overview === undefined ? {} : { overview: copyOverview(data.overview) }),
    ...(data.detail === undefined
      ? {}
      : { detail: { from: data.detail.from, to: data.detail.to } }),
    ...(data.source === undefined ? {} : { source: data.source }),
  };
}
