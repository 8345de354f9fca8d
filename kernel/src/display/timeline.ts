/**
 * `application/vnd.mmulab.timeline+json` → text and a static SVG of per-lane spans, instants
 * (use-after-free marked in red) and IPI arrows on one time axis.
 *
 * At most {@link MAX_SVG_SPANS} spans are drawn (the longest ones when there are more), so a
 * 100 000-span trace still gives a small notebook; the caption says what was left out.
 */
import {
  TIMELINE_MIME,
  type TimelinePayload,
  type TimelineSpan,
  type TimelineSpanKind,
} from "../contract/mime.js";
import type { MimeBundle } from "./runtime.js";
import { esc, formatNs, htmlFigure, px, SPAN_COLOURS, svgOpen } from "./svg.js";
import { checkTimelinePayload, TIMELINE_SPAN_KINDS } from "../contract/payload.js";
import {
  TIMELINE_IPI_COLOUR,
  TIMELINE_MARKER_COLOUR,
  TIMELINE_UAF_COLOUR,
} from "../contract/timeline-palette.js";
import {
  eventCount,
  REDUCE_THRESHOLD,
  reduceTimeline,
  timelineExtent as extent,
} from "../views/timeline-reduce.js";
import { storeTimeline } from "../views/timeline-store.js";
import { notebookRuntime } from "./runtime.js";

export const MAX_SVG_SPANS = 4000;
export const MAX_SVG_MARKS = 1000;

/** Smallest lane height, px; a lane with several span kinds has one row of SLOT px per kind. */
const LANE = 26;
const SLOT = 7;
const LANE_PAD = 4;
const PLOT_WIDTH = 860;
const MARGIN = { top: 30, right: 20 };
/** Widest lane label, px; longer ones are cut with an ellipsis (the full text is a tooltip). */
const MAX_LANE_LABEL = 220;

/** The `text/plain` rendering. */
export function timelineText(p: TimelinePayload): string {
  const kinds = new Map<TimelineSpanKind, number>();
  for (const s of p.spans) kinds.set(s.kind, (kinds.get(s.kind) ?? 0) + 1);
  const uaf = p.instants.filter((i) => i.kind === "uaf");
  const [lo, hi] = extent(p);
  const lines = [
    `${p.title !== undefined ? `${p.title}: ` : ""}timeline of ${p.lanes.length} lanes ` +
      `(${p.lanes.map((l) => l.label).join(", ")}), ${formatNs(lo)} … ${formatNs(hi)}`,
    `${p.spans.length} spans` +
      (kinds.size > 0 ? ` (${[...kinds.entries()].map(([k, n]) => `${k} ${n}`).join(", ")})` : "") +
      `, ${p.instants.length} instants, ${p.arrows.length} IPI arrows`,
  ];
  for (const u of uaf.slice(0, 10)) {
    lines.push(`use-after-free at ${formatNs(u.t)} on ${u.lane}: ${u.label}`);
  }
  if (uaf.length > 10) lines.push(`… ${uaf.length - 10} more use-after-free reports`);
  return lines.join("\n");
}

/** Approximate width of `text` at the SVG's 11 px sans-serif (no layout engine here). */
function textWidth(text: string): number {
  return text.length * 6.2;
}

/** `text` cut to about `width` pixels, with an ellipsis when cut. */
function fit(text: string, width: number): string {
  const max = Math.max(4, Math.floor(width / 6.2));
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The static SVG, in the interactive renderer's colours; every label inside the picture. */
export function timelineSvg(p: TimelinePayload): string {
  const [lo, hi] = extent(p);
  const laneIndex = new Map(p.lanes.map((l, i) => [l.id, i] as const));
  const labelWidth = Math.min(
    MAX_LANE_LABEL,
    Math.max(60, ...p.lanes.map((l) => textWidth(l.label))),
  );
  const left = labelWidth + 14;
  const width = left + PLOT_WIDTH + MARGIN.right;
  const present = TIMELINE_SPAN_KINDS.filter((k) => p.spans.some((s) => s.kind === k));
  const legend: [string, string, "box" | "uaf" | "ipi"][] = present.map((k) => [
    k,
    SPAN_COLOURS[k],
    "box",
  ]);
  if (p.arrows.length > 0) legend.push(["IPI", TIMELINE_IPI_COLOUR, "ipi"]);
  if (p.instants.some((i) => i.kind === "uaf"))
    legend.push(["use-after-free", TIMELINE_UAF_COLOUR, "uaf"]);
  // legend entries flow onto as many rows as the width needs
  const legendPos: [number, number][] = [];
  let lx = left;
  let row = 0;
  for (const [name] of legend) {
    const w = 18 + textWidth(name) + 12;
    if (lx + w > width - MARGIN.right && lx > left) {
      row++;
      lx = left;
    }
    legendPos.push([lx, row]);
    lx += w;
  }
  // Each kind present in a lane gets its own row in it, as in the interactive renderer, so a
  // gup walk inside an IRQ-off section inside a preemption stays visible.
  const laneKinds = p.lanes.map(() => new Set<TimelineSpanKind>());
  for (const s of p.spans) laneKinds[laneIndex.get(s.lane) ?? -1]?.add(s.kind);
  const slots = laneKinds.map(
    (set) => new Map(TIMELINE_SPAN_KINDS.filter((k) => set.has(k)).map((k, j) => [k, j])),
  );
  const tops: number[] = [];
  const heights: number[] = [];
  let laneTop = MARGIN.top;
  for (const sl of slots) {
    const h = Math.max(LANE, 2 * LANE_PAD + sl.size * SLOT);
    tops.push(laneTop);
    heights.push(h);
    laneTop += h;
  }
  const axisY = laneTop;
  const height = axisY + 34 + (row + 1) * 16 + 6;
  const X = (t: number) => left + ((t - lo) / (hi - lo)) * PLOT_WIDTH;
  const laneY = (id: string) => {
    const i = laneIndex.get(id);
    return i === undefined ? null : tops[i]!;
  };
  const laneMid = (id: string) => {
    const i = laneIndex.get(id);
    return i === undefined ? null : tops[i]! + heights[i]! / 2;
  };
  const title = p.title ?? "timeline";
  const parts: string[] = [svgOpen(width, height, title)];
  parts.push(`<text x="${left}" y="16" font-weight="bold">${esc(fit(title, width - left))}</text>`);
  p.lanes.forEach((l, i) => {
    const y = tops[i]!;
    const h = heights[i]!;
    parts.push(
      `<rect x="${left}" y="${px(y)}" width="${PLOT_WIDTH}" height="${px(h)}" fill="${i % 2 === 0 ? "#f7f7f7" : "#ffffff"}"/>` +
        `<text x="${left - 6}" y="${px(y + h / 2 + 4)}" text-anchor="end">${esc(fit(l.label, labelWidth))}<title>${esc(l.label)}</title></text>`,
    );
  });
  let spans: readonly TimelineSpan[] = p.spans;
  if (spans.length > MAX_SVG_SPANS) {
    spans = [...spans].sort((a, b) => b.end - b.start - (a.end - a.start)).slice(0, MAX_SVG_SPANS);
  }
  for (const s of spans) {
    const li = laneIndex.get(s.lane);
    if (li === undefined) continue;
    const sl = slots[li]!;
    const one = sl.size <= 1;
    const y = one ? tops[li]! + LANE_PAD : tops[li]! + LANE_PAD + (sl.get(s.kind) ?? 0) * SLOT;
    const hh = one ? heights[li]! - 2 * LANE_PAD : SLOT - 1;
    const x0 = X(s.start);
    const w = Math.max(X(s.end) - x0, 0.8);
    parts.push(
      `<rect x="${px(x0)}" y="${px(y)}" width="${px(w)}" height="${px(hh)}" ` +
        `fill="${SPAN_COLOURS[s.kind] ?? SPAN_COLOURS.other}" fill-opacity="0.85">` +
        `<title>${esc(
          `${s.label} (${s.kind}) ${formatNs(s.start)} … ${formatNs(s.end)}, ` +
            `${formatNs(s.end - s.start)}`,
        )}</title></rect>`,
    );
  }
  parts.push(
    `<defs><marker id="mmulab-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" ` +
      `markerHeight="6" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="${TIMELINE_IPI_COLOUR}"/></marker></defs>`,
  );
  for (const a of p.arrows.slice(0, MAX_SVG_MARKS)) {
    const y0 = laneMid(a.fromLane);
    const y1 = laneMid(a.toLane);
    if (y0 === null || y1 === null) continue;
    parts.push(
      `<line x1="${px(X(a.fromT))}" y1="${px(y0)}" x2="${px(X(a.toT))}" ` +
        `y2="${px(y1)}" stroke="${TIMELINE_IPI_COLOUR}" stroke-width="0.8" stroke-dasharray="2,2" marker-end="url(#mmulab-arrow)">` +
        `<title>${esc(`${a.label}: ${formatNs(a.fromT)} → ${formatNs(a.toT)}`)}</title></line>`,
    );
  }
  for (const i of p.instants.slice(0, MAX_SVG_MARKS)) {
    const y = laneY(i.lane);
    if (y === null) continue;
    const x = X(i.t);
    const uaf = i.kind === "uaf";
    const colour = uaf ? TIMELINE_UAF_COLOUR : TIMELINE_MARKER_COLOUR;
    const size = uaf ? 6 : 4;
    let label = "";
    if (uaf) {
      // the label goes on the side of the cross that has room for it
      const text = fit(i.label, Math.max(x - left, left + PLOT_WIDTH - x) - 10);
      const right = x + 7 + textWidth(text) <= left + PLOT_WIDTH;
      label =
        `<line x1="${px(x)}" y1="${MARGIN.top}" x2="${px(x)}" y2="${px(axisY)}" stroke="${colour}" stroke-width="1" stroke-dasharray="4,3"/>` +
        `<text x="${px(right ? x + 7 : x - 7)}" y="${px(y + 11)}" fill="${colour}" font-weight="bold" stroke="#fff" stroke-width="3" paint-order="stroke"${right ? "" : ' text-anchor="end"'}>${esc(text)}</text>`;
    }
    parts.push(
      `<g><title>${esc(`${i.label} at ${formatNs(i.t)}`)}</title>` +
        label +
        `<path d="M${px(x - size)},${px(y + 2)}L${px(x + size)},${px(y + 2)}L${px(x)},${px(y + 2 + size * 1.6)}z" fill="${colour}"/>` +
        `</g>`,
    );
  }
  // Time axis; the end labels are anchored inwards so they are never cut.
  parts.push(
    `<line x1="${left}" y1="${px(axisY)}" x2="${left + PLOT_WIDTH}" y2="${px(axisY)}" stroke="#333"/>`,
  );
  for (let k = 0; k <= 5; k++) {
    const t = lo + ((hi - lo) * k) / 5;
    const x = X(t);
    const anchor = k === 0 ? "start" : k === 5 ? "end" : "middle";
    parts.push(
      `<line x1="${px(x)}" y1="${px(axisY)}" x2="${px(x)}" y2="${px(axisY + 4)}" stroke="#333"/>` +
        `<text x="${px(x)}" y="${px(axisY + 16)}" text-anchor="${anchor}">${esc(formatNs(t))}</text>`,
    );
  }
  parts.push(
    `<text x="${px(left + PLOT_WIDTH / 2)}" y="${px(axisY + 30)}" text-anchor="middle" fill="#555">simulated time</text>`,
  );
  legend.forEach(([name, colour, shape], k) => {
    const [x, r] = legendPos[k]!;
    const y = axisY + 34 + r * 16 + 10;
    const mark =
      shape === "box"
        ? `<rect x="${px(x)}" y="${px(y - 9)}" width="12" height="10" fill="${colour}"/>`
        : shape === "ipi"
          ? `<line x1="${px(x)}" y1="${px(y - 4)}" x2="${px(x + 12)}" y2="${px(y - 4)}" stroke="${colour}" stroke-dasharray="2,2" marker-end="url(#mmulab-arrow)"/>`
          : `<path d="M${px(x)},${px(y - 9)}L${px(x + 12)},${px(y - 9)}L${px(x + 6)},${px(y)}z" fill="${colour}"/>`;
    parts.push(`${mark}<text x="${px(x + 18)}" y="${px(y)}">${esc(name)}</text>`);
  });
  parts.push("</svg>");
  const cut = p.spans.length - spans.length;
  const caption = cut > 0 ? `showing the ${spans.length} longest of ${p.spans.length} spans` : "";
  return htmlFigure("timeline", parts.join(""), caption);
}

/**
 * The full bundle: payload, static SVG and text. Validates first. A timeline of more than
 * {@link REDUCE_THRESHOLD} events is published reduced (views/timeline-reduce.ts); in a notebook
 * kernel the full one is kept for the `mmulab.timeline` comm to serve zooms from. The SVG and the
 * text describe the full timeline.
 */
export function timelineBundle(payload: TimelinePayload): MimeBundle {
  checkTimelinePayload(payload);
  let published = payload;
  if (eventCount(payload) > REDUCE_THRESHOLD && payload.overview === undefined) {
    const source = notebookRuntime() !== null ? storeTimeline(payload) : undefined;
    published = reduceTimeline(payload, source === undefined ? {} : { source });
  }
  return {
    [TIMELINE_MIME]: published as unknown as MimeBundle[string],
    "text/html": timelineSvg(payload),
    "text/plain": timelineText(payload),
  };
}
