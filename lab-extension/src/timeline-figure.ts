/**
 * The timeline as the renderer holds it, and the plotly figure drawn from it. Pure functions: the
 * unit tests check the figure without a browser.
 *
 * Drawing 100,000 spans as 100,000 shapes would stall the browser, so spans of one kind form a
 * single scatter trace of line segments separated by gaps (one SVG path per kind). Each kind has
 * its own row inside a CPU's lane, so nested spans (a gup walk inside an IRQ-off section) stay
 * visible. IPI arrows are one trace of segments ending in arrow markers; use-after-free instants
 * are a red-cross trace plus a dashed vertical line each.
 */
import type {
  JsonPrimitive,
  TimelineArrow,
  TimelinePayload,
  TimelineSpan,
  TimelineSpanKind,
} from "@mmulab/kernel/contract";
import {
  checkTimelinePayload,
  Fields,
  TIMELINE_MIME,
  TIMELINE_SPAN_KINDS,
} from "@mmulab/kernel/contract";
import type * as Plotly from "plotly.js";
import { formatNs, plotlyText } from "./payload.js";

export const SPAN_KINDS = TIMELINE_SPAN_KINDS;

export const KIND_COLORS: Readonly<Record<TimelineSpanKind, string>> = {
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

export const UAF_COLOR = "#d62728";
export const UAF_TRACE_NAME = "use-after-free";
export const IPI_TRACE_NAME = "IPI";

/** Limits that keep a hostile payload from freezing the page. */
export const MAX_SPANS = 1_000_000;
export const MAX_LANES = 1024;
/** At most this many dashed vertical lines (all use-after-frees still get a cross). */
export const MAX_UAF_LINES = 100;

/**
 * Checks a timeline payload with the contract's validator (version first; throws PayloadError
 * naming the bad field), applies the renderer's drawing limits, and returns its own copy: only
 * the contract's fields, so nothing else a saved payload carries reaches plotly.
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
  };
}

/** Vertical offset of a span kind inside its lane (lane centres are at integers). */
export function kindOffset(kind: TimelineSpanKind): number {
  const i = SPAN_KINDS.indexOf(kind);
  return (i - (SPAN_KINDS.length - 1) / 2) * 0.08;
}

/** Pixel height of one lane. */
export const LANE_HEIGHT = 64;

function argsText(a: Readonly<Record<string, JsonPrimitive>> | undefined): string {
  if (a === undefined) return "";
  const parts = Object.entries(a).map(([k, v]) => `${k}=${String(v)}`);
  return parts.length === 0 ? "" : `<br>${plotlyText(parts.join(", "))}`;
}

export interface TimelineFigure {
  readonly data: Plotly.Data[];
  readonly layout: Partial<Plotly.Layout>;
}

/** The plotly figure for a checked payload. Times on the x axis are µs; hover shows exact ns. */
export function timelineFigure(t: TimelinePayload): TimelineFigure {
  const laneIndex = new Map(t.lanes.map((l, i) => [l.id, i]));
  const y = (id: string): number => laneIndex.get(id) ?? 0;
  const data: Plotly.Data[] = [];
  const width = Math.max(2, Math.floor((LANE_HEIGHT / SPAN_KINDS.length) * 0.75));

  const byKind = new Map<TimelineSpanKind, TimelineSpan[]>();
  for (const s of t.spans) {
    let list = byKind.get(s.kind);
    if (list === undefined) byKind.set(s.kind, (list = []));
    list.push(s);
  }
  for (const kind of SPAN_KINDS) {
    const list = byKind.get(kind);
    if (list === undefined) continue;
    const n = list.length;
    const xs: (number | null)[] = new Array<number | null>(3 * n);
    const ys: (number | null)[] = new Array<number | null>(3 * n);
    const text: string[] = new Array<string>(3 * n);
    const off = kindOffset(kind);
    for (let i = 0; i < n; i++) {
      const s = list[i] as TimelineSpan;
      const yy = y(s.lane) + off;
      xs[3 * i] = s.start / 1e3;
      xs[3 * i + 1] = s.end / 1e3;
      xs[3 * i + 2] = null;
      ys[3 * i] = yy;
      ys[3 * i + 1] = yy;
      ys[3 * i + 2] = null;
      const label =
        `${plotlyText(s.label)} (${kind})<br>${formatNs(s.start)} → ${formatNs(s.end)}` +
        ` · ${formatNs(s.end - s.start)}${argsText(s.args)}`;
      text[3 * i] = label;
      text[3 * i + 1] = label;
      text[3 * i + 2] = "";
    }
    data.push({
      type: "scatter",
      mode: "lines",
      name: kind,
      x: xs,
      y: ys,
      text,
      hoverinfo: "text",
      line: { color: KIND_COLORS[kind], width },
      connectgaps: false,
    });
  }

  if (t.arrows.length > 0) {
    const n = t.arrows.length;
    const xs: (number | null)[] = [];
    const ys: (number | null)[] = [];
    const text: string[] = [];
    const size: number[] = [];
    for (let i = 0; i < n; i++) {
      const a = t.arrows[i] as TimelineArrow;
      const label = `${plotlyText(a.label)}<br>sent ${formatNs(a.fromT)}, handled ${formatNs(a.toT)}`;
      xs.push(a.fromT / 1e3, a.toT / 1e3, null);
      ys.push(y(a.fromLane), y(a.toLane), null);
      text.push(label, label, "");
      size.push(0, 10, 0);
    }
    data.push({
      type: "scatter",
      mode: "lines+markers",
      name: IPI_TRACE_NAME,
      x: xs,
      y: ys,
      text,
      hoverinfo: "text",
      line: { color: "#2ca02c", width: 1, dash: "dot" },
      marker: { symbol: "arrow", size, angleref: "previous", color: "#2ca02c" },
      connectgaps: false,
    } as Plotly.Data);
  }

  const uaf = t.instants.filter((i) => i.kind === "uaf");
  const marks = t.instants.filter((i) => i.kind !== "uaf");
  if (marks.length > 0) {
    data.push({
      type: "scatter",
      mode: "markers",
      name: "marker",
      x: marks.map((m) => m.t / 1e3),
      y: marks.map((m) => y(m.lane)),
      text: marks.map((m) => `${plotlyText(m.label)}<br>${formatNs(m.t)}${argsText(m.args)}`),
      hoverinfo: "text",
      marker: { symbol: "diamond", size: 9, color: "#444" },
    });
  }
  if (uaf.length > 0) {
    data.push({
      type: "scatter",
      mode: "markers",
      name: UAF_TRACE_NAME,
      x: uaf.map((m) => m.t / 1e3),
      y: uaf.map((m) => y(m.lane)),
      text: uaf.map(
        (m) =>
          `<b>use-after-free</b><br>${plotlyText(m.label)}<br>${formatNs(m.t)}${argsText(m.args)}`,
      ),
      hoverinfo: "text",
      marker: { symbol: "x", size: 16, color: UAF_COLOR, line: { color: "#fff", width: 1 } },
    });
  }

  const shapes: Partial<Plotly.Shape>[] = uaf.slice(0, MAX_UAF_LINES).map((m) => ({
    type: "line",
    xref: "x",
    yref: "paper",
    x0: m.t / 1e3,
    x1: m.t / 1e3,
    y0: 0,
    y1: 1,
    line: { color: UAF_COLOR, width: 1, dash: "dash" },
  }));

  const layout: Partial<Plotly.Layout> = {
    height: 110 + Math.max(1, t.lanes.length) * LANE_HEIGHT,
    // The title is in the widget's header (DOM text), not in the figure.
    margin: { l: 90, r: 20, t: 30, b: 50 },
    xaxis: { title: { text: "simulated time (µs)" }, zeroline: false },
    yaxis: {
      tickvals: t.lanes.map((_, i) => i),
      ticktext: t.lanes.map((l) => plotlyText(l.label)),
      range: [Math.max(1, t.lanes.length) - 0.5, -0.5],
      fixedrange: true,
      zeroline: false,
      showgrid: false,
    },
    shapes,
    dragmode: "zoom",
    hovermode: "closest",
    showlegend: true,
    legend: { orientation: "v", x: 1.01, y: 1, yanchor: "top" },
    uirevision: "mmulab-timeline",
  };
  return { data, layout };
}
