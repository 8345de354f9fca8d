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
import { checkTimelinePayload } from "../contract/payload.js";

export const MAX_SVG_SPANS = 4000;
export const MAX_SVG_MARKS = 1000;

const LANE = 26;
const PLOT_WIDTH = 860;
const MARGIN = { top: 30, right: 20, bottom: 60, left: 90 };

function extent(p: TimelinePayload): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of p.spans) {
    lo = Math.min(lo, s.start);
    hi = Math.max(hi, s.end);
  }
  for (const i of p.instants) {
    lo = Math.min(lo, i.t);
    hi = Math.max(hi, i.t);
  }
  for (const a of p.arrows) {
    lo = Math.min(lo, a.fromT, a.toT);
    hi = Math.max(hi, a.fromT, a.toT);
  }
  if (!Number.isFinite(lo)) return [0, 1];
  if (hi <= lo) hi = lo + 1;
  return [lo, hi];
}

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

/** The static SVG. */
export function timelineSvg(p: TimelinePayload): string {
  const [lo, hi] = extent(p);
  const laneIndex = new Map(p.lanes.map((l, i) => [l.id, i] as const));
  const height = MARGIN.top + p.lanes.length * LANE + MARGIN.bottom;
  const width = MARGIN.left + PLOT_WIDTH + MARGIN.right;
  const X = (t: number) => MARGIN.left + ((t - lo) / (hi - lo)) * PLOT_WIDTH;
  const laneY = (id: string) => {
    const i = laneIndex.get(id);
    return i === undefined ? null : MARGIN.top + i * LANE;
  };
  const title = p.title ?? "timeline";
  const parts: string[] = [svgOpen(width, height, title)];
  parts.push(`<text x="${MARGIN.left}" y="16" font-weight="bold">${esc(title)}</text>`);
  p.lanes.forEach((l, i) => {
    const y = MARGIN.top + i * LANE;
    parts.push(
      `<rect x="${MARGIN.left}" y="${px(y)}" width="${PLOT_WIDTH}" height="${LANE}" fill="${i % 2 === 0 ? "#f7f7f7" : "#ffffff"}"/>` +
        `<text x="${MARGIN.left - 6}" y="${px(y + LANE / 2 + 4)}" text-anchor="end">${esc(l.label)}</text>`,
    );
  });
  let spans: readonly TimelineSpan[] = p.spans;
  if (spans.length > MAX_SVG_SPANS) {
    spans = [...spans].sort((a, b) => b.end - b.start - (a.end - a.start)).slice(0, MAX_SVG_SPANS);
  }
  for (const s of spans) {
    const y = laneY(s.lane);
    if (y === null) continue;
    const x0 = X(s.start);
    const w = Math.max(X(s.end) - x0, 0.8);
    parts.push(
      `<rect x="${px(x0)}" y="${px(y + 4)}" width="${px(w)}" height="${LANE - 8}" ` +
        `fill="${SPAN_COLOURS[s.kind] ?? SPAN_COLOURS.other}" fill-opacity="0.85">` +
        `<title>${esc(
          `${s.label} (${s.kind}) ${formatNs(s.start)} … ${formatNs(s.end)}, ` +
            `${formatNs(s.end - s.start)}`,
        )}</title></rect>`,
    );
  }
  parts.push(
    `<defs><marker id="mmulab-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" ` +
      `markerHeight="6" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#444"/></marker></defs>`,
  );
  for (const a of p.arrows.slice(0, MAX_SVG_MARKS)) {
    const y0 = laneY(a.fromLane);
    const y1 = laneY(a.toLane);
    if (y0 === null || y1 === null) continue;
    parts.push(
      `<line x1="${px(X(a.fromT))}" y1="${px(y0 + LANE / 2)}" x2="${px(X(a.toT))}" ` +
        `y2="${px(y1 + LANE / 2)}" stroke="#444" stroke-width="0.8" marker-end="url(#mmulab-arrow)">` +
        `<title>${esc(`${a.label}: ${formatNs(a.fromT)} → ${formatNs(a.toT)}`)}</title></line>`,
    );
  }
  for (const i of p.instants.slice(0, MAX_SVG_MARKS)) {
    const y = laneY(i.lane);
    if (y === null) continue;
    const x = X(i.t);
    const colour = i.kind === "uaf" ? "#d00000" : "#333";
    const size = i.kind === "uaf" ? 6 : 4;
    parts.push(
      `<g><title>${esc(`${i.label} at ${formatNs(i.t)}`)}</title>` +
        `<path d="M${px(x - size)},${px(y + 2)}L${px(x + size)},${px(y + 2)}L${px(x)},${px(y + 2 + size * 1.6)}z" fill="${colour}"/>` +
        (i.kind === "uaf"
          ? `<text x="${px(x + 7)}" y="${px(y + 11)}" fill="${colour}" font-weight="bold">${esc(i.label)}</text>`
          : "") +
        `</g>`,
    );
  }
  // Time axis.
  const axisY = MARGIN.top + p.lanes.length * LANE;
  parts.push(
    `<line x1="${MARGIN.left}" y1="${px(axisY)}" x2="${MARGIN.left + PLOT_WIDTH}" y2="${px(axisY)}" stroke="#333"/>`,
  );
  for (let k = 0; k <= 5; k++) {
    const t = lo + ((hi - lo) * k) / 5;
    const x = X(t);
    parts.push(
      `<line x1="${px(x)}" y1="${px(axisY)}" x2="${px(x)}" y2="${px(axisY + 4)}" stroke="#333"/>` +
        `<text x="${px(x)}" y="${px(axisY + 16)}" text-anchor="middle">${esc(formatNs(t))}</text>`,
    );
  }
  // Legend of the kinds present.
  const present = [...new Set(p.spans.map((s) => s.kind))];
  let lx = MARGIN.left;
  const ly = height - 14;
  for (const kind of present) {
    parts.push(
      `<rect x="${px(lx)}" y="${px(ly - 9)}" width="10" height="10" fill="${SPAN_COLOURS[kind] ?? SPAN_COLOURS.other}"/>` +
        `<text x="${px(lx + 14)}" y="${px(ly)}">${esc(kind)}</text>`,
    );
    lx += 24 + kind.length * 6.5;
  }
  if (p.instants.some((i) => i.kind === "uaf")) {
    parts.push(
      `<path d="M${px(lx)},${px(ly - 9)}L${px(lx + 10)},${px(ly - 9)}L${px(lx + 5)},${px(ly)}z" fill="#d00000"/>` +
        `<text x="${px(lx + 14)}" y="${px(ly)}">use-after-free</text>`,
    );
  }
  parts.push("</svg>");
  const cut = p.spans.length - spans.length;
  const caption = cut > 0 ? `showing the ${spans.length} longest of ${p.spans.length} spans` : "";
  return htmlFigure("timeline", parts.join(""), caption);
}

/** The full bundle: payload, static SVG and text. Validates first. */
export function timelineBundle(payload: TimelinePayload): MimeBundle {
  checkTimelinePayload(payload);
  return {
    [TIMELINE_MIME]: payload as unknown as MimeBundle[string],
    "text/html": timelineSvg(payload),
    "text/plain": timelineText(payload),
  };
}
