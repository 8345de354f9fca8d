/**
 * Untrusted payloads. Saved notebooks can hold anything under an mmulab MIME type, so the
 * renderers check every payload before drawing with the contract's validator — the same code the
 * kernel runs before it publishes (@mmulab/kernel/contract, bundled into this extension) — and
 * throw its `PayloadError`, which names the MIME type, the version and the path of the bad field.
 * The host (JupyterLab's output area) shows a rejected `renderModel` as an error message in place
 * of the output. Below: the formatting and DOM helpers the renderers share.
 */
export {
  checkPageTablePayload,
  checkPlotPayload,
  checkTimelinePayload,
  Fields,
  MAX_PAYLOAD_DEPTH,
  MAX_PAYLOAD_VALUES,
  PAGETABLE_MIME,
  PAGETABLE_VERSIONS,
  PayloadError,
  PLOT_MIME,
  PLOT_VERSIONS,
  TIMELINE_MIME,
  TIMELINE_VERSIONS,
} from "@mmulab/kernel/contract";

/** Formats nanoseconds for people: "812 ns", "12.5 µs", "3.2 ms", "1.5 s". */
export function formatNs(ns: number): string {
  const abs = Math.abs(ns);
  if (abs < 1e3) return `${trim(ns)} ns`;
  if (abs < 1e6) return `${trim(ns / 1e3)} µs`;
  if (abs < 1e9) return `${trim(ns / 1e6)} ms`;
  return `${trim(ns / 1e9)} s`;
}

function trim(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1e6 ? x.toExponential(3) : String(Number(x.toPrecision(4)));
}

/** Hex with 0x, for frame numbers and addresses; exponent form when past 2^64. */
export function hex(n: number): string {
  if (!Number.isFinite(n) || n < 0 || n >= 2 ** 64) return String(n);
  return `0x${Math.floor(n).toString(16)}`;
}

/** Thousands separators, locale-independent so tests and screenshots are stable. */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** Escapes text for plotly, whose labels accept a small HTML-like markup: show it literally. */
export function plotlyText(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** document.createElement with a class and optional text (textContent: never parsed as HTML). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
