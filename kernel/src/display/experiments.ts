/**
 * Notebook views of experiment results, and the small builders the notebooks in `notebooks/` use
 * to turn numbers they computed into figures and prose:
 *
 * - {@link markdown}: a value that displays as `text/markdown` (conclusions written from computed
 *   numbers, never typed by hand), {@link mdTable} and {@link formatNumber} to build it;
 * - race matrices ({@link RaceMatrix}) and the seed's kernbench table ({@link SeedTable}) display
 *   as HTML tables with a `text/plain` twin (MIME adapters registered when this module loads), and
 *   {@link raceMatrixPlot} draws a matrix as bars with a slider over the scenarios;
 * - {@link sweepPlot}: a plot payload with `sweep` axes from points a notebook computed with plain
 *   loops over the public API.
 *
 * This module sits in the display layer because it knows both the experiments' result types and
 * the MIME bundles (display is above experiments; experiments never import display).
 */
import type { PlotlyJson, PlotPayload, SweepAxis, SweepFrame } from "../contract/mime.js";
import {
  KERNBENCH_FIELDS,
  KERNBENCH_LABELS,
  SEED_TABLE,
  type KernbenchField,
} from "../experiments/kernbench-stats.js";
import { formatSeedTable, type SeedTable } from "../experiments/kernbench-table.js";
import { formatRaceMatrix, type RaceCell, type RaceMatrix } from "../experiments/race-matrix.js";
import { MMULAB_MIME, registerMimeAdapter, type MimeDisplayable } from "./mime.js";
import type { MimeBundle } from "./runtime.js";
import { esc } from "./svg.js";

// ---------------------------------------------------------------- prose

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

// ---------------------------------------------------------------- race matrix

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Whether `v` is a {@link RaceMatrix} (what `runRaceMatrix` returns). */
export function isRaceMatrix(v: unknown): v is RaceMatrix {
  return (
    isObject(v) &&
    Array.isArray(v["cells"]) &&
    Array.isArray(v["skipped"]) &&
    typeof v["trials"] === "number" &&
    typeof v["seed"] === "number"
  );
}

function distinct<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

function findCell(m: RaceMatrix, scenario: string, profile: string, backend: string) {
  return m.cells.find(
    (c) => c.scenario === scenario && c.profile === profile && c.backend === backend,
  );
}

/** One Markdown table per scenario: rows profiles, columns backends, "uaf/trials" (RCU: †). */
export function raceMatrixMarkdown(m: RaceMatrix): string {
  const scenarios = distinct(m.cells.map((c) => c.scenario));
  const profiles = distinct(m.cells.map((c) => c.profile));
  const backends = distinct(m.cells.map((c) => c.backend));
  const out: string[] = [];
  for (const s of scenarios) {
    out.push(`**${s}** (trials with a use-after-free / trials; † = tables freed through RCU)`, "");
    out.push(
      mdTable(
        ["profile", ...backends],
        profiles.map((p) => [
          p,
          ...backends.map((b) => {
            const c = findCell(m, s, p, b);
            return c ? `${c.uaf}/${c.trials}${c.rcuTableFree ? " †" : ""}` : "—";
          }),
        ]),
      ),
      "",
    );
  }
  return out.join("\n").trimEnd();
}

function cellHtml(c: RaceCell | undefined): string {
  if (c === undefined) return `<td style="color:#999;text-align:center">—</td>`;
  const bg = c.uaf > 0 ? "#f6c9c9" : "#d8eedf";
  return (
    `<td style="background:${bg};text-align:right;padding:2px 8px">${c.uaf}/${c.trials}` +
    `${c.rcuTableFree ? " †" : ""}</td>`
  );
}

/** HTML tables, one per scenario, cells red where a use-after-free was seen. */
export function raceMatrixHtml(m: RaceMatrix): string {
  const scenarios = distinct(m.cells.map((c) => c.scenario));
  const profiles = distinct(m.cells.map((c) => c.profile));
  const backends = distinct(m.cells.map((c) => c.backend));
  const parts = [`<div class="mmulab-race-matrix">`];
  for (const s of scenarios) {
    parts.push(
      `<table style="border-collapse:collapse;margin:4px 0 10px 0;font-size:12px">` +
        `<caption style="text-align:left;font-weight:bold">${esc(s)}: trials with a ` +
        `use-after-free / ${m.trials} (seeds ${m.seed}…${m.seed + m.trials - 1}; † = RCU table free)</caption>` +
        `<tr><th style="text-align:left;padding:2px 8px">profile</th>` +
        backends.map((b) => `<th style="padding:2px 8px">${esc(b)}</th>`).join("") +
        `</tr>`,
    );
    for (const p of profiles) {
      parts.push(
        `<tr><th style="text-align:left;padding:2px 8px">${esc(p)}</th>` +
          backends.map((b) => cellHtml(findCell(m, s, p, b))).join("") +
          `</tr>`,
      );
    }
    parts.push(`</table>`);
  }
  parts.push(`</div>`);
  return parts.join("");
}

/** The bundle a race matrix displays as. */
export function raceMatrixBundle(m: RaceMatrix): MimeBundle {
  return { "text/html": raceMatrixHtml(m), "text/plain": formatRaceMatrix(m) };
}

/**
 * The matrix as grouped bars: x = profile, one bar per backend, y = fraction of trials with a
 * use-after-free; one slider position per scenario (the static picture shows the first).
 */
export function raceMatrixPlot(m: RaceMatrix, title = "Race matrix"): PlotPayload {
  const scenarios = distinct(m.cells.map((c) => c.scenario));
  const profiles = distinct(m.cells.map((c) => c.profile));
  const backends = distinct(m.cells.map((c) => c.backend));
  const traces = (s: string): PlotlyJson[] =>
    backends.map((b) => {
      const x: string[] = [];
      const y: number[] = [];
      for (const p of profiles) {
        const c = findCell(m, s, p, b);
        if (c === undefined) continue;
        x.push(p);
        y.push(c.uaf / c.trials);
      }
      return { type: "bar", name: b, x, y };
    });
  const frames: SweepFrame[] = scenarios.map((s) => ({ key: [s], data: traces(s) }));
  return {
    version: 1,
    title: `${title}: ${scenarios[0] ?? ""}`,
    data: frames[0]?.data ?? [],
    layout: {
      barmode: "group",
      xaxis: { title: { text: "kernel profile" } },
      yaxis: { title: { text: "fraction of trials with a use-after-free" }, range: [0, 1] },
    },
    ...(scenarios.length > 1
      ? { sweep: { axes: [{ name: "scenario", label: "scenario", values: scenarios }], frames } }
      : {}),
  };
}

// ---------------------------------------------------------------- kernbench seed table

/** Whether `v` is a {@link SeedTable} (what `runSeedTable` returns). */
export function isSeedTable(v: unknown): v is SeedTable {
  return (
    isObject(v) &&
    Array.isArray(v["hosts"]) &&
    typeof v["runs"] === "number" &&
    typeof v["scale"] === "number"
  );
}

/** Statistics that grow with the size of the build (the others, %CPU, do not). */
export const EXTENSIVE_FIELDS: readonly KernbenchField[] = [
  "elapsed",
  "user",
  "system",
  "contextSwitches",
  "sleeps",
];

/** One row of the comparison: a statistic of one load on one host, simulated beside the seed. */
export interface SeedComparisonRow {
  readonly host: string;
  readonly load: "half" | "optimal";
  readonly jobs: number;
  readonly field: KernbenchField;
  /** Simulated mean and std as kernbench prints them; with a scaled build, extensive fields
   * are divided by the scale (an estimate of the full build). */
  readonly current: { readonly mean: number; readonly std: number };
  readonly rcu: { readonly mean: number; readonly std: number };
  /** The seed's published mean and std, or null for a host the seed did not measure. */
  readonly seedCurrent: readonly [number, number] | null;
  readonly seedRcu: readonly [number, number] | null;
  /** (simulated − seed) / seed of the CURRENT column, in %. */
  readonly currentVsSeedPct: number;
  /** HAVE_RCU_TABLE_FREE − CURRENT, simulated and in the seed. */
  readonly deltaSim: number;
  readonly deltaSeed: number;
  /** True when the value was divided by the build's scale. */
  readonly extrapolated: boolean;
}

/** The table as rows, simulated beside the seed (see {@link SeedComparisonRow}). */
export function seedTableRows(t: SeedTable): SeedComparisonRow[] {
  const rows: SeedComparisonRow[] = [];
  for (const h of t.hosts) {
    const seed = h.host in SEED_TABLE ? SEED_TABLE[h.host as keyof typeof SEED_TABLE] : null;
    for (const load of ["half", "optimal"] as const) {
      for (const field of KERNBENCH_FIELDS) {
        const extrapolated = t.scale !== 1 && EXTENSIVE_FIELDS.includes(field);
        const f = extrapolated ? 1 / t.scale : 1;
        const c = h.current.printed[load][field];
        const r = h.rcu.printed[load][field];
        const sc = seed ? seed.current[load][field] : null;
        const sr = seed ? seed.rcu[load][field] : null;
        rows.push({
          host: h.host,
          load,
          jobs: load === "half" ? h.halfJobs : h.optimalJobs,
          field,
          current: { mean: c.mean * f, std: c.std * f },
          rcu: { mean: r.mean * f, std: r.std * f },
          seedCurrent: sc,
          seedRcu: sr,
          currentVsSeedPct: sc ? ((c.mean * f - sc[0]) / sc[0]) * 100 : Number.NaN,
          deltaSim: (r.mean - c.mean) * f,
          deltaSeed: sc && sr ? sr[0] - sc[0] : Number.NaN,
          extrapolated,
        });
      }
    }
  }
  return rows;
}

function ms(m: { mean: number; std: number }): string {
  return `${formatNumber(m.mean, 6)} (${formatNumber(m.std, 3)})`;
}

function pct(v: number): string {
  return Number.isFinite(v) ? `${v >= 0 ? "+" : "−"}${formatNumber(Math.abs(v), 2)} %` : "—";
}

/** Markdown tables in the seed's layout: per host and load, simulated beside the seed. */
export function seedTableMarkdown(t: SeedTable): string {
  const rows = seedTableRows(t);
  const out: string[] = [];
  const note =
    t.scale !== 1
      ? `; build scaled ×${t.scale}, times, switches and sleeps divided by the scale (*)`
      : "";
  for (const h of t.hosts) {
    for (const load of ["half", "optimal"] as const) {
      const rs = rows.filter((r) => r.host === h.host && r.load === load);
      const jobs = rs[0]?.jobs ?? 0;
      out.push(
        `**${h.host}, ${load} load (-j ${jobs})**: mean (std) of ${t.runs} simulated runs${note}`,
        "",
        mdTable(
          ["", "CURRENT (sim)", "seed", "sim vs seed", "RCU (sim)", "seed", "Δ sim / Δ seed"],
          rs.map((r) => [
            `${KERNBENCH_LABELS[r.field]}${r.extrapolated ? " *" : ""}`,
            ms(r.current),
            r.seedCurrent ? `${r.seedCurrent[0]} (${r.seedCurrent[1]})` : "—",
            pct(r.currentVsSeedPct),
            ms(r.rcu),
            r.seedRcu ? `${r.seedRcu[0]} (${r.seedRcu[1]})` : "—",
            `${formatNumber(r.deltaSim, 3)} / ${formatNumber(r.deltaSeed, 3)}`,
          ]),
        ),
        "",
      );
    }
  }
  return out.join("\n").trimEnd();
}

/** The HTML twin of {@link seedTableMarkdown}. */
export function seedTableHtml(t: SeedTable): string {
  const rows = seedTableRows(t);
  const parts = [`<div class="mmulab-seed-table">`];
  for (const h of t.hosts) {
    for (const load of ["half", "optimal"] as const) {
      const rs = rows.filter((r) => r.host === h.host && r.load === load);
      parts.push(
        `<table style="border-collapse:collapse;margin:4px 0 10px 0;font-size:12px">` +
          `<caption style="text-align:left;font-weight:bold">${esc(h.host)}, ${load} load ` +
          `(-j ${rs[0]?.jobs ?? 0}), ${t.runs} runs${t.scale !== 1 ? `, build ×${t.scale} (* ÷ scale)` : ""}</caption>` +
          `<tr>${["", "CURRENT (sim)", "seed", "sim vs seed", "RCU (sim)", "seed", "Δ sim / Δ seed"].map((x) => `<th style="padding:2px 8px">${esc(x)}</th>`).join("")}</tr>`,
      );
      for (const r of rs) {
        const td = (x: string) => `<td style="text-align:right;padding:2px 8px">${esc(x)}</td>`;
        parts.push(
          `<tr><th style="text-align:left;padding:2px 8px">${esc(KERNBENCH_LABELS[r.field])}${r.extrapolated ? " *" : ""}</th>` +
            td(ms(r.current)) +
            td(r.seedCurrent ? `${r.seedCurrent[0]} (${r.seedCurrent[1]})` : "—") +
            td(pct(r.currentVsSeedPct)) +
            td(ms(r.rcu)) +
            td(r.seedRcu ? `${r.seedRcu[0]} (${r.seedRcu[1]})` : "—") +
            td(`${formatNumber(r.deltaSim, 3)} / ${formatNumber(r.deltaSeed, 3)}`) +
            `</tr>`,
        );
      }
      parts.push(`</table>`);
    }
  }
  parts.push(`</div>`);
  return parts.join("");
}

/** The bundle a seed table displays as: HTML tables and kernbench's own text layout. */
export function seedTableBundle(t: SeedTable): MimeBundle {
  return { "text/html": seedTableHtml(t), "text/plain": formatSeedTable(t) };
}

// ---------------------------------------------------------------- sweeps

/** One computed point of a sweep. */
export interface SweepPoint {
  /** Trace name (one line or bar group per series). */
  readonly series: string;
  readonly x: number | string;
  readonly y: number;
  /** The slider axes' values for this point, by axis name (omit when there are no axes). */
  readonly key?: Readonly<Record<string, number | string>>;
}

export interface SweepPlotSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly xLog?: boolean;
  readonly yLog?: boolean;
  /** Default "lines+markers". */
  readonly mode?: "lines+markers" | "lines" | "markers" | "bar";
  /** Slider axes, in order; their values are taken from the points' keys (first seen first). */
  readonly axes?: readonly { readonly name: string; readonly label: string }[];
  readonly points: readonly SweepPoint[];
}

/**
 * A plot payload from computed points: one trace per series; with `axes`, one frame per
 * combination of axis values (sliders in the interactive plot, the first combination in the
 * static picture and in `data`).
 */
export function sweepPlot(spec: SweepPlotSpec): PlotPayload {
  const axes = spec.axes ?? [];
  const series = distinct(spec.points.map((p) => p.series));
  const sweepAxes: SweepAxis[] = axes.map((a) => {
    const values = distinct(
      spec.points.map((p) => {
        const v = p.key?.[a.name];
        if (v === undefined)
          throw new TypeError(`sweepPlot: a point of series "${p.series}" has no "${a.name}"`);
        return v;
      }),
    );
    return { name: a.name, label: a.label, values };
  });
  const keyOf = (p: SweepPoint) => axes.map((a) => p.key?.[a.name] ?? "");
  const same = (a: readonly (number | string)[], b: readonly (number | string)[]) =>
    a.length === b.length && a.every((v, i) => v === b[i]);
  const mode = spec.mode ?? "lines+markers";
  const tracesFor = (key: readonly (number | string)[]): PlotlyJson[] =>
    series.map((s) => {
      const pts = spec.points.filter((p) => p.series === s && same(keyOf(p), key));
      const trace: PlotlyJson = { name: s, x: pts.map((p) => p.x), y: pts.map((p) => p.y) };
      return mode === "bar" ? { type: "bar", ...trace } : { type: "scatter", mode, ...trace };
    });
  // Every combination of the axes' values, first axis slowest.
  let keys: (number | string)[][] = [[]];
  for (const a of sweepAxes) keys = keys.flatMap((k) => a.values.map((v) => [...k, v]));
  const frames: SweepFrame[] = keys.map((key) => ({ key, data: tracesFor(key) }));
  const axis = (title: string, log: boolean | undefined): PlotlyJson => ({
    title: { text: title },
    ...(log === true ? { type: "log" } : {}),
  });
  return {
    version: 1,
    title: spec.title,
    data: frames[0]?.data ?? [],
    layout: {
      xaxis: axis(spec.xLabel, spec.xLog),
      yaxis: axis(spec.yLabel, spec.yLog),
      ...(mode === "bar" ? { barmode: "group" } : {}),
    },
    ...(sweepAxes.length > 0 ? { sweep: { axes: sweepAxes, frames } } : {}),
  };
}

/** The frame of `plot` for the given axis values (by axis name), or undefined. */
export function sweepFrame(
  plot: PlotPayload,
  key: Readonly<Record<string, number | string>>,
): SweepFrame | undefined {
  const axes = plot.sweep?.axes ?? [];
  return plot.sweep?.frames.find((f) => axes.every((a, i) => f.key[i] === key[a.name]));
}

// ---------------------------------------------------------------- adapters

/** Registers the race-matrix and seed-table adapters (done once when this module loads). */
export function registerExperimentAdapters(): () => void {
  const off = [
    registerMimeAdapter<RaceMatrix>({
      name: "race matrix",
      test: isRaceMatrix,
      toBundle: raceMatrixBundle,
    }),
    registerMimeAdapter<SeedTable>({
      name: "kernbench seed table",
      test: isSeedTable,
      toBundle: seedTableBundle,
    }),
  ];
  return () => off.forEach((f) => f());
}

const REGISTERED = Symbol.for("mmulab.display.experimentAdapters");
{
  const g = globalThis as { [REGISTERED]?: boolean };
  if (g[REGISTERED] !== true) {
    g[REGISTERED] = true;
    registerExperimentAdapters();
  }
}
