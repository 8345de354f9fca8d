/**
 * `application/vnd.mmulab.plot+json` → text and a static SVG drawn from the traces' x/y arrays.
 *
 * This is a fallback, not plotly: scatter traces (lines, markers or both) and bar traces on linear
 * or log axes, category x values placed in order of first appearance, a legend and axis titles.
 * With sweep frames, the picture shows the payload's `data` (the frame the interactive plot opens
 * on) and the caption lists the sweep axes.
 */
import { PLOT_MIME, type JsonValue, type PlotlyJson, type PlotPayload } from "../contract/mime.js";
import type { MimeBundle } from "./runtime.js";
import { esc, htmlFigure, px, svgOpen, TRACE_COLOURS, trim } from "./svg.js";
import { checkPlotPayload } from "../contract/payload.js";

const WIDTH = 640;
const HEIGHT = 380;
const MARGIN = { top: 34, right: 150, bottom: 50, left: 64 };
const MAX_POINTS = 5000;

interface Series {
  readonly name: string;
  readonly type: "scatter" | "bar";
  readonly lines: boolean;
  readonly markers: boolean;
  readonly x: readonly (number | string)[];
  readonly y: readonly number[];
}

function text(v: JsonValue | undefined): string | undefined {
  if (typeof v === "string") return v;
  if (v !== null && typeof v === "object" && !Array.isArray(v) && typeof v["text"] === "string") {
    return v["text"];
  }
  return undefined;
}

function seriesOf(trace: PlotlyJson, i: number): Series | null {
  const ys = trace["y"];
  if (!Array.isArray(ys)) return null;
  const y = ys.map((v) => (typeof v === "number" ? v : Number.NaN));
  const xs = trace["x"];
  const x: (number | string)[] = Array.isArray(xs)
    ? xs.map((v) => (typeof v === "number" || typeof v === "string" ? v : JSON.stringify(v)))
    : y.map((_, k) => k);
  const type = trace["type"] === "bar" ? "bar" : "scatter";
  const mode = typeof trace["mode"] === "string" ? trace["mode"] : "lines";
  const name = typeof trace["name"] === "string" ? trace["name"] : `trace ${i}`;
  const n = Math.min(x.length, y.length, MAX_POINTS);
  return {
    name,
    type,
    lines: type === "scatter" && mode.includes("lines"),
    markers: type === "scatter" && (mode.includes("markers") || !mode.includes("lines")),
    x: x.slice(0, n),
    y: y.slice(0, n),
  };
}

function axisKind(layout: PlotlyJson, axis: "xaxis" | "yaxis"): "log" | "linear" {
  const a = layout[axis];
  return a !== null && typeof a === "object" && !Array.isArray(a) && a["type"] === "log"
    ? "log"
    : "linear";
}

function axisTitle(layout: PlotlyJson, axis: "xaxis" | "yaxis"): string {
  const a = layout[axis];
  if (a !== null && typeof a === "object" && !Array.isArray(a)) return text(a["title"]) ?? "";
  return "";
}

/** Tick positions (log10 units) of a log axis spanning [lo, hi]: the decades inside it, and
 * 2 and 5 times each when fewer than three decades show. */
export function logTicks(lo: number, hi: number): number[] {
  const decades: number[] = [];
  for (let k = Math.ceil(lo - 1e-9); k <= hi + 1e-9; k++) decades.push(k);
  if (decades.length >= 3) return decades;
  const out: number[] = [];
  for (let k = Math.floor(lo); k <= Math.ceil(hi); k++)
    for (const m of [1, 2, 5]) {
      const v = k + Math.log10(m);
      if (v >= lo - 1e-9 && v <= hi + 1e-9) out.push(v);
    }
  return out;
}

/** The `text/plain` rendering. */
export function plotText(p: PlotPayload): string {
  const title = p.title ?? text(p.layout["title"]) ?? "plot";
  const lines = [`${title}: ${p.data.length} trace${p.data.length === 1 ? "" : "s"}`];
  p.data.forEach((t, i) => {
    const s = seriesOf(t, i);
    if (s === null) {
      lines.push(`  ${typeof t["name"] === "string" ? t["name"] : `trace ${i}`}: no y values`);
      return;
    }
    const finite = s.y.filter(Number.isFinite);
    const range =
      finite.length > 0 ? `, y ${trim(Math.min(...finite))} … ${trim(Math.max(...finite))}` : "";
    lines.push(`  ${s.name} (${s.type}): ${s.y.length} points${range}`);
  });
  if (p.sweep !== undefined) {
    lines.push(
      `sweep over ${p.sweep.axes.map((a) => `${a.label} (${a.values.length})`).join(" × ")}, ` +
        `${p.sweep.frames.length} frames`,
    );
  }
  return lines.join("\n");
}

/** The static SVG. */
/**
 * The traces the interactive plot opens on, and the label of that frame: with sweep axes, the
 * frame at every slider's first value (as the renderer starts), else the payload's own `data`.
 * A static report shows one frame; the label says which, so prose about another frame cannot be
 * mistaken for it.
 */
export function openingFrame(p: PlotPayload): {
  readonly data: PlotPayload["data"];
  readonly label: string;
} {
  const sweep = p.sweep;
  if (sweep === undefined) return { data: p.data, label: "" };
  const key = sweep.axes.map((a) => a.values[0]);
  const frame = sweep.frames.find(
    (f) => f.key.length === key.length && f.key.every((k, i) => k === key[i]),
  );
  if (frame === undefined)
    return { data: p.data, label: "frame: the plot's own traces (no frame at the first values)" };
  return {
    data: frame.data,
    label: `frame: ${sweep.axes.map((a, i) => `${a.label} = ${String(key[i])}`).join(", ")}`,
  };
}

export function plotSvg(p: PlotPayload): string {
  const opening = openingFrame(p);
  const series = opening.data.map(seriesOf).filter((s): s is Series => s !== null);
  const xLog = axisKind(p.layout, "xaxis") === "log";
  const yLog = axisKind(p.layout, "yaxis") === "log";
  const categories: string[] = [];
  const categorical = series.some((s) => s.x.some((v) => typeof v === "string"));
  if (categorical) {
    for (const s of series) {
      for (const v of s.x) if (!categories.includes(String(v))) categories.push(String(v));
    }
  }
  const fx = (v: number | string): number => {
    if (categorical) return categories.indexOf(String(v));
    const n = typeof v === "number" ? v : Number(v);
    return xLog ? (n > 0 ? Math.log10(n) : Number.NaN) : n;
  };
  const fy = (v: number): number => (yLog ? (v > 0 ? Math.log10(v) : Number.NaN) : v);
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const s of series) {
    for (let i = 0; i < s.y.length; i++) {
      const x = fx(s.x[i]!);
      const y = fy(s.y[i]!);
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
    if (s.type === "bar" && !yLog) y0 = Math.min(y0, 0);
  }
  if (!Number.isFinite(x0)) [x0, x1] = [0, 1];
  if (!Number.isFinite(y0)) [y0, y1] = [0, 1];
  if (categorical) [x0, x1] = [-0.5, Math.max(categories.length - 0.5, 0.5)];
  if (x1 <= x0) [x0, x1] = [x0 - 0.5, x0 + 0.5];
  if (y1 <= y0) [y0, y1] = [y0 - 0.5, y0 + 0.5];
  const pw = WIDTH - MARGIN.left - MARGIN.right;
  const ph = HEIGHT - MARGIN.top - MARGIN.bottom;
  const X = (x: number) => MARGIN.left + ((x - x0) / (x1 - x0)) * pw;
  const Y = (y: number) => MARGIN.top + ph - ((y - y0) / (y1 - y0)) * ph;

  const title = p.title ?? text(p.layout["title"]) ?? "";
  const parts: string[] = [svgOpen(WIDTH, HEIGHT, title === "" ? "plot" : title)];
  if (title !== "") {
    parts.push(
      `<text x="${MARGIN.left}" y="18" font-weight="bold" font-size="13">${esc(title)}</text>`,
    );
  }
  if (opening.label !== "") {
    // in the figure itself, right-aligned under the title, so a copied image keeps it
    parts.push(
      `<text x="${WIDTH - 8}" y="${MARGIN.top - 4}" text-anchor="end" fill="#444" class="mmulab-frame">${esc(
        opening.label.length > 90 ? `${opening.label.slice(0, 89)}…` : opening.label,
      )}</text>`,
    );
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${pw}" height="${ph}" fill="#fafafa" stroke="#ccc"/>`,
  );
  // Ticks: 5 per linear axis, one per category; a log axis at decades, with 2 and 5 between them
  // when it spans less than two, each labelled with its full value.
  const tickLabel = (v: number, log: boolean) => trim(log ? 10 ** v : v);
  const ticks = (lo: number, hi: number, log: boolean): number[] =>
    log ? logTicks(lo, hi) : [0, 1, 2, 3, 4].map((k) => lo + ((hi - lo) * k) / 4);
  for (const yv of ticks(y0, y1, yLog)) {
    parts.push(
      `<line x1="${MARGIN.left}" y1="${px(Y(yv))}" x2="${MARGIN.left + pw}" y2="${px(Y(yv))}" stroke="#e4e4e4"/>` +
        `<text x="${MARGIN.left - 6}" y="${px(Y(yv) + 4)}" text-anchor="end">${esc(tickLabel(yv, yLog))}</text>`,
    );
  }
  if (categorical) {
    categories.slice(0, 40).forEach((c, i) => {
      parts.push(
        `<text x="${px(X(i))}" y="${MARGIN.top + ph + 16}" text-anchor="middle">${esc(c)}</text>`,
      );
    });
  } else {
    for (const xv of ticks(x0, x1, xLog)) {
      parts.push(
        `<text x="${px(X(xv))}" y="${MARGIN.top + ph + 16}" text-anchor="middle">${esc(tickLabel(xv, xLog))}</text>`,
      );
    }
  }
  const xt = axisTitle(p.layout, "xaxis");
  const yt = axisTitle(p.layout, "yaxis");
  if (xt !== "") {
    parts.push(
      `<text x="${px(MARGIN.left + pw / 2)}" y="${HEIGHT - 12}" text-anchor="middle">${esc(xt)}</text>`,
    );
  }
  if (yt !== "") {
    parts.push(
      `<text transform="translate(14,${px(MARGIN.top + ph / 2)}) rotate(-90)" text-anchor="middle">${esc(yt)}</text>`,
    );
  }
  const bars = series.filter((s) => s.type === "bar");
  const barWidth = categorical
    ? ((pw / Math.max(categories.length, 1)) * 0.8) / Math.max(bars.length, 1)
    : 6;
  series.forEach((s, si) => {
    const colour = TRACE_COLOURS[si % TRACE_COLOURS.length]!;
    const pts: [number, number][] = [];
    for (let i = 0; i < s.y.length; i++) {
      const x = fx(s.x[i]!);
      const y = fy(s.y[i]!);
      if (Number.isFinite(x) && Number.isFinite(y)) pts.push([X(x), Y(y)]);
    }
    if (s.type === "bar") {
      const bi = bars.indexOf(s);
      const base = Y(Math.max(y0, yLog ? y0 : 0));
      for (const [x, y] of pts) {
        const left = x - (barWidth * bars.length) / 2 + bi * barWidth;
        parts.push(
          `<rect x="${px(left)}" y="${px(Math.min(y, base))}" width="${px(barWidth)}" height="${px(Math.abs(base - y))}" fill="${colour}"/>`,
        );
      }
    }
    if (s.lines && pts.length > 1) {
      parts.push(
        `<polyline fill="none" stroke="${colour}" stroke-width="1.8" points="${pts.map(([x, y]) => `${px(x)},${px(y)}`).join(" ")}"/>`,
      );
    }
    if (s.markers) {
      for (const [x, y] of pts) {
        parts.push(`<circle cx="${px(x)}" cy="${px(y)}" r="2.8" fill="${colour}"/>`);
      }
    }
    const ly = MARGIN.top + 10 + si * 16;
    parts.push(
      `<rect x="${WIDTH - MARGIN.right + 10}" y="${ly - 8}" width="12" height="8" fill="${colour}"/>` +
        `<text x="${WIDTH - MARGIN.right + 26}" y="${ly}">${esc(s.name)}</text>`,
    );
  });
  parts.push("</svg>");
  const caption =
    p.sweep !== undefined
      ? `${opening.label}; one of ${p.sweep.frames.length} frames of a sweep over ${p.sweep.axes.map((a) => a.label).join(", ")} (the interactive plot has sliders)`
      : "";
  return htmlFigure("plot", parts.join(""), caption);
}

/** The full bundle: payload, static SVG and text. Validates first. */
export function plotBundle(payload: PlotPayload): MimeBundle {
  checkPlotPayload(payload);
  return {
    [PLOT_MIME]: payload as unknown as MimeBundle[string],
    "text/html": plotSvg(payload),
    "text/plain": plotText(payload),
  };
}
