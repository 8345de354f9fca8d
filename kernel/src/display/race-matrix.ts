/**
 * A race matrix (what `runRaceMatrix` returns) as the notebook shows it: HTML tables with cells
 * red where a use-after-free was seen, a Markdown twin, and `text/plain` in the CLI's layout.
 */
import { formatRaceMatrix, type RaceCell, type RaceMatrix } from "../experiments/race-matrix.js";
import { distinct, findCell } from "../views/race-matrix.js";
import { mdTable } from "./markdown.js";
import type { MimeBundle } from "./runtime.js";
import { esc } from "./svg.js";

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
