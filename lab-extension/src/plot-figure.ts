/**
 * The plot payload as the renderer holds it: a plotly figure (traces and layout as plain JSON)
 * and an optional precomputed sweep, one slider per axis, whose frames replace the traces.
 */
import type { JsonObject, JsonValue, PlotlyJson, PlotPayload } from "@mmulab/kernel/contract";
import { checkPlotPayload, Fields, PLOT_MIME } from "@mmulab/kernel/contract";

/** More frames than this is a payload mistake (each one is a full set of traces). */
export const MAX_FRAMES = 100_000;

/**
 * Checks a plot payload with the contract's validator (version first; throws PayloadError naming
 * the bad field) and returns the renderer's own copy of its arrays, so drawing never reorders or
 * extends the saved payload's.
 */
export function parsePlot(data: unknown): PlotPayload {
  checkPlotPayload(data);
  const s = data.sweep;
  if (s !== undefined && s.frames.length > MAX_FRAMES)
    new Fields(PLOT_MIME).fail("sweep.frames", `at most ${MAX_FRAMES} frames`, s.frames.length);
  const traces = (t: readonly PlotlyJson[]): PlotlyJson[] => [...t];
  return {
    version: 1,
    ...(data.title === undefined ? {} : { title: data.title }),
    data: traces(data.data),
    layout: data.layout,
    ...(s === undefined
      ? {}
      : {
          sweep: {
            axes: s.axes.map((a) => ({ name: a.name, label: a.label, values: [...a.values] })),
            frames: s.frames.map((f) => ({ key: [...f.key], data: traces(f.data) })),
            ...(s.id === undefined ? {} : { id: s.id }),
            ...(s.yRange === undefined ? {} : { yRange: s.yRange }),
          },
        }),
  };
}

/** Map key of a sweep point. */
export function frameKey(key: readonly (string | number)[]): string {
  return JSON.stringify(key);
}

// ------------------------------------------------------------------ untrusted figures

/**
 * Layout keys that make the browser fetch or that re-lay the figure out later: `images` loads
 * each `source` URL (an untrusted notebook would make the reader's browser request it), and
 * plotly's own `updatemenus` and `sliders` can relayout `images` back in on a click. The
 * renderer's sliders replace plotly's.
 */
const DROPPED_LAYOUT_KEYS = ["images", "updatemenus", "sliders"] as const;

/** plotly's label markup turns `<a href=…>` into a clickable SVG link: keep the text only. */
const LINK_TAG = /<\/?a(?:\s[^>]*)?>/gi;

function cleanValue(v: JsonValue): JsonValue {
  if (typeof v === "string") return v.replace(LINK_TAG, "");
  if (Array.isArray(v)) return v.map(cleanValue);
  if (v !== null && typeof v === "object") {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) out[k] = cleanValue(x);
    return out;
  }
  return v;
}

function withoutDropped(layout: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(layout))
    if (!(DROPPED_LAYOUT_KEYS as readonly string[]).includes(k)) out[k] = v;
  const template = out["template"];
  if (template !== null && typeof template === "object" && !Array.isArray(template)) {
    const tl = template["layout"];
    out["template"] =
      tl !== null && typeof tl === "object" && !Array.isArray(tl)
        ? { ...template, layout: withoutDropped(tl) }
        : template;
  }
  return out;
}

/** A layout safe to draw from an untrusted payload: no external images, no plotly menus that
 * could add them back, no links (their text stays). */
export function safeLayout(layout: PlotlyJson): PlotlyJson {
  return cleanValue(withoutDropped(layout)) as PlotlyJson;
}

/** Traces safe to draw: links in any text (names, hover templates, text labels) lose the link. */
export function safeTraces(traces: readonly PlotlyJson[]): PlotlyJson[] {
  return traces.map((t) => cleanValue(t) as PlotlyJson);
}

/** The payload with {@link safeLayout} and {@link safeTraces} applied to the figure and frames. */
export function safePlot(p: PlotPayload): PlotPayload {
  return {
    ...p,
    data: safeTraces(p.data),
    layout: safeLayout(p.layout),
    ...(p.sweep === undefined
      ? {}
      : {
          sweep: {
            ...p.sweep,
            frames: p.sweep.frames.map((f) => ({ key: f.key, data: safeTraces(f.data) })),
          },
        }),
  };
}

// ------------------------------------------------------------------ drawing choices

const DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"] as const;
const SYMBOLS = ["circle", "square", "diamond", "triangle-up", "x", "cross"] as const;

function isObject(v: JsonValue | undefined): v is JsonObject {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** What a trace draws, to 12 significant digits: two traces with the same key lie on each other. */
function drawnKey(t: PlotlyJson): string | null {
  const type = t["type"] ?? "scatter";
  if (type !== "scatter" && type !== "scattergl") return null;
  const round = (v: JsonValue | undefined): JsonValue | undefined =>
    Array.isArray(v) ? v.map((x) => (typeof x === "number" ? Number(x.toPrecision(12)) : x)) : v;
  return JSON.stringify([round(t["x"]), round(t["y"]), t["xaxis"] ?? null, t["yaxis"] ?? null]);
}

/**
 * Series with identical values would hide each other (the last drawn covers the rest, so a legend
 * of five backends shows two lines). Each group of coinciding scatter traces is drawn with widths
 * stepping down in drawing order, so the earlier ones show as bands around the later, and each
 * member gets its own dash and marker symbol; the hover text says which series coincide.
 * Traces that coincide with no other are returned as they are.
 */
export function separateCoinciding(traces: readonly PlotlyJson[]): PlotlyJson[] {
  const groups = new Map<string, number[]>();
  traces.forEach((t, i) => {
    const k = drawnKey(t);
    if (k === null) return;
    const g = groups.get(k) ?? [];
    g.push(i);
    groups.set(k, g);
  });
  const out = [...traces];
  for (const members of groups.values()) {
    if (members.length < 2) continue;
    const names = members.map((i, k) => {
      const n = traces[i]!["name"];
      return typeof n === "string" ? n : `trace ${k}`;
    });
    members.forEach((i, k) => {
      const t = traces[i]!;
      const n = members.length;
      const line = isObject(t["line"]) ? t["line"] : {};
      const marker = isObject(t["marker"]) ? t["marker"] : {};
      out[i] = {
        ...t,
        line: { ...line, width: 2 + 2.5 * (n - 1 - k), dash: DASHES[k % DASHES.length]! },
        marker: {
          ...marker,
          size: 6 + 3 * (n - 1 - k),
          symbol: SYMBOLS[k % SYMBOLS.length]!,
        },
        meta: `coincides with ${names.filter((_, j) => j !== k).join(", ")}`,
        hovertemplate: "%{fullData.name}: (%{x}, %{y})<br>%{meta}<extra></extra>",
      };
    });
  }
  return out;
}

const AXIS_KEY = /^[xy]axis\d*$/;

/**
 * Log axes labelled in full: plotly labels a log axis that spans less than a couple of decades
 * with its minor digits only ("1000 2 3 … 9 10k"), which reads as nonsense; `complete` writes
 * every tick's value. A producer's own choice (minorloglabels, tickformat, tickvals) is kept.
 */
export function fullLogTicks(layout: PlotlyJson): PlotlyJson {
  const out: PlotlyJson = { ...layout };
  for (const [k, v] of Object.entries(layout)) {
    if (!AXIS_KEY.test(k) || !isObject(v) || v["type"] !== "log") continue;
    if (v["minorloglabels"] !== undefined || v["tickformat"] !== undefined) continue;
    if (v["tickvals"] !== undefined) continue;
    out[k] = { ...v, minorloglabels: "complete" };
  }
  return out;
}

/** The y values a set of traces spans, error bars included (null: none finite). */
export function yExtent(traces: readonly PlotlyJson[]): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  const take = (v: number): void => {
    if (!Number.isFinite(v)) return;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  };
  for (const t of traces) {
    if (t["type"] !== undefined && t["type"] !== "scatter" && t["type"] !== "bar") continue;
    const ys = t["y"];
    if (!Array.isArray(ys)) continue;
    const err = isObject(t["error_y"]) ? t["error_y"] : null;
    const up = err !== null && Array.isArray(err["array"]) ? err["array"] : null;
    const down =
      err === null
        ? null
        : Array.isArray(err["arrayminus"])
          ? err["arrayminus"]
          : err["symmetric"] === false
            ? null
            : up;
    if (t["type"] === "bar") take(0);
    ys.forEach((y, i) => {
      if (typeof y !== "number") return;
      take(y);
      const u = up?.[i];
      const d = down?.[i];
      if (typeof u === "number") take(y + u);
      if (typeof d === "number") take(y - d);
    });
  }
  return lo <= hi ? [lo, hi] : null;
}

/** Union of two extents. */
export function widen(
  a: [number, number] | null,
  b: [number, number] | null,
): [number, number] | null {
  if (a === null) return b;
  if (b === null) return a;
  return [Math.min(a[0], b[0]), Math.max(a[1], b[1])];
}

/**
 * The plotly `yaxis.range` that holds `extent` with 5 % to spare each side; in decades on a log
 * axis (plotly's unit there), from the smallest positive value. Null when nothing fits.
 */
export function fixedYRange(extent: [number, number], log: boolean): [number, number] | null {
  let [lo, hi] = extent;
  if (log) {
    if (hi <= 0) return null;
    lo = Math.log10(lo > 0 ? lo : hi / 10);
    hi = Math.log10(hi);
  }
  const pad = hi > lo ? (hi - lo) * 0.05 : Math.max(Math.abs(hi) * 0.05, log ? 0.1 : 0.5);
  return [lo - pad, hi + pad];
}

/** "title — cpus = 16, backend = xen-pv": the title of an exported frame. */
export function frameTitle(
  title: string,
  axes: readonly { readonly label: string }[],
  key: readonly (string | number)[],
): string {
  const values = axes.map((a, i) => `${a.label} = ${String(key[i])}`).join(", ");
  if (values === "") return title;
  return title === "" ? values : `${title} — ${values}`;
}

/** A download file name from a frame title: letters, digits, '.', '-', '_' and '=' only. */
export function exportFileName(title: string): string {
  const name = title
    .replace(/\s+—\s+/g, "_")
    .replace(/\s*=\s*/g, "=")
    .replace(/,\s*/g, "_")
    .replace(/[^A-Za-z0-9._=-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^[-_.]+|[-_.]+$/g, "");
  return (name === "" ? "plot" : name).slice(0, 120);
}
