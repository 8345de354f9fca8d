/**
 * Small helpers for the static SVG/HTML fallbacks: escaping (every string that reaches markup goes
 * through {@link esc}), number formatting, and the palette shared by the three pictures.
 *
 * The fallbacks are built as strings, never from data-controlled tag or attribute names: only
 * text content and attribute values come from payloads, and both are escaped.
 */
import type { PageState, TimelineSpanKind } from "../contract/mime.js";
import { TIMELINE_KIND_COLOURS } from "../contract/timeline-palette.js";

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for use in XML/HTML text content and quoted attribute values. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** A finite number for a coordinate, rounded to 0.1 px; non-finite values become 0. */
export function px(n: number): string {
  if (!Number.isFinite(n)) return "0";
  return String(Math.round(n * 10) / 10);
}

/** Simulated nanoseconds in the unit that reads best: "850 ns", "12.5 µs", "3.2 ms", "1.25 s". */
export function formatNs(ns: number): string {
  if (!Number.isFinite(ns)) return String(ns);
  const a = Math.abs(ns);
  if (a < 1e3) return `${trim(ns)} ns`;
  if (a < 1e6) return `${trim(ns / 1e3)} µs`;
  if (a < 1e9) return `${trim(ns / 1e6)} ms`;
  return `${trim(ns / 1e9)} s`;
}

/** A number with at most 3 significant decimals, no trailing zeros. */
export function trim(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return String(n);
  const abs = Math.abs(n);
  const digits = abs >= 100 ? 1 : abs >= 10 ? 2 : 3;
  return String(Number(n.toFixed(digits)));
}

export const PAGE_STATE_COLOURS: Readonly<Record<PageState, string>> = {
  live: "#4c9f70",
  unlinked: "#e0a030",
  "pending-rcu": "#3b82c4",
  freed: "#9aa0a6",
  reused: "#d03b3b",
};

/** The interactive renderer's colours (contract/timeline-palette.ts), so both pictures agree. */
export const SPAN_COLOURS: Readonly<Record<TimelineSpanKind, string>> = TIMELINE_KIND_COLOURS;

/** plotly's default trace colours, so the fallback matches the interactive plot. */
export const TRACE_COLOURS: readonly string[] = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];

/** Opening tag of a standalone inline SVG with a text font that reads in notebooks. */
export function svgOpen(width: number, height: number, label: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${px(width)}" height="${px(height)}" ` +
    `viewBox="0 0 ${px(width)} ${px(height)}" role="img" aria-label="${esc(label)}" ` +
    `font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="11">`
  );
}

/** Wraps an SVG in the HTML block the `text/html` fallback carries. */
export function htmlFigure(cls: string, svg: string, caption: string): string {
  return (
    `<div class="mmulab-figure mmulab-${esc(cls)}" style="overflow-x:auto">` +
    svg +
    (caption === "" ? "" : `<div style="font-size:11px;color:#555">${esc(caption)}</div>`) +
    `</div>`
  );
}
