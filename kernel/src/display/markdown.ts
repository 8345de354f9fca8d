/**
 * Prose from computed numbers: {@link markdown} wraps text so that it displays as
 * `text/markdown`; {@link mdTable} and {@link formatNumber} build it. Notebooks write their
 * conclusions this way, never typing a figure by hand.
 */
import { MMULAB_MIME, type MimeDisplayable } from "./mime.js";

/** Markdown text that displays as `text/markdown` (with the source as `text/plain`). */
export interface Markdown extends MimeDisplayable {
  readonly markdown: string;
  toString(): string;
}

/**
 * Wraps Markdown so that `display(markdown(…))`, or a cell ending in `markdown(…)`, shows it
 * rendered. Notebooks write their conclusions this way, from the numbers they computed.
 */
export function markdown(text: string): Markdown {
  if (typeof text !== "string") throw new TypeError("markdown: expected a string");
  return {
    markdown: text,
    [MMULAB_MIME]: () => ({ "text/markdown": text, "text/plain": text }),
    toString: () => text,
  };
}

/**
 * A number for prose: integers as they are, other values with `digits` significant digits
 * (default 3) and no trailing zeros; integer parts of five digits or more get thousands
 * separators. `NaN` and infinities become "n/a", "∞", "−∞".
 */
export function formatNumber(n: number, digits = 3): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? "n/a" : n > 0 ? "∞" : "−∞";
  let s: string;
  if (Number.isInteger(n) || Math.abs(n) >= 10 ** digits) s = String(Math.round(n));
  else {
    s = n.toPrecision(digits);
    if (s.includes("e")) s = String(Number(s));
    else if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  }
  const m = /^(-?)(\d+)(.*)$/.exec(s);
  if (m !== null && (m[2] ?? "").length >= 5) {
    s = `${m[1]}${(m[2] ?? "").replace(/\B(?=(\d{3})+(?!\d))/g, ",")}${m[3]}`;
  }
  return s;
}

/** A Markdown table; cells are escaped for `|` and line breaks. */
export function mdTable(
  headers: readonly string[],
  rows: readonly (readonly (string | number)[])[],
  align: readonly ("left" | "right" | "center")[] = [],
): string {
  const cell = (v: string | number) =>
    (typeof v === "number" ? formatNumber(v) : v).replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
  const rule = headers.map((_, i) => {
    const a = align[i] ?? (i === 0 ? "left" : "right");
    return a === "left" ? "---" : a === "right" ? "---:" : ":---:";
  });
  return [
    `| ${headers.map(cell).join(" | ")} |`,
    `| ${rule.join(" | ")} |`,
    ...rows.map((r) => `| ${headers.map((_, i) => cell(r[i] ?? "")).join(" | ")} |`),
  ].join("\n");
}
