/**
 * The seed's kernbench table (what `runSeedTable` returns) as the notebook shows it: per host and
 * load, simulated beside the seed, as HTML and Markdown tables; `text/plain` in kernbench's own
 * layout.
 */
import { KERNBENCH_LABELS } from "../experiments/kernbench-stats.js";
import { formatSeedTable, type SeedTable } from "../experiments/kernbench-table.js";
import { seedTableRows } from "../experiments/seed-comparison.js";
import { formatNumber, mdTable } from "./markdown.js";
import type { MimeBundle } from "./runtime.js";
import { esc } from "./svg.js";

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Whether `v` is a {@link SeedTable} (what `runSeedTable` returns). */
export function isSeedTable(v: unknown): v is SeedTable {
  return (
    isObject(v) &&
    Array.isArray(v["hosts"]) &&
    typeof v["runs"] === "number" &&
    typeof v["scale"] === "number"
  );
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
