/**
 * The seed's kernbench table compared with the simulated one, row by row: each statistic of each
 * load on each host, simulated beside the seed's published mean and std, with the difference
 * between CURRENT and HAVE_RCU_TABLE_FREE in both. Data for the views and for tests; the display
 * layer renders it (display/seed-table.ts).
 */
import { KERNBENCH_FIELDS, SEED_TABLE, type KernbenchField } from "./kernbench-stats.js";
import type { SeedTable } from "./kernbench-table.js";

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
