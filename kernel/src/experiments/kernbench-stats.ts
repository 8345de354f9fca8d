/**
 * kernbench's averaging, reproduced: what it prints and what the runs really were.
 *
 * kernbench (the shell script; LTP's copy carries it) keeps, per statistic, a running
 * "sum sum-of-squares count" triple (add_data_point) and prints mean and sample standard
 * deviation (show_statistics). Before each load level, do_runs resets only the elapsed-time
 * accumulator (`temp_elapsed="a"`); user, system, percent CPU, context switches and sleeps keep
 * accumulating. So the "Optimal load" block averages elapsed over the optimal runs only, but the
 * other five statistics over the half-load *and* optimal-load runs together: that is why, in the
 * seed's optimal rows, user + system is not %CPU × elapsed, and why their standard deviations
 * (the spread between two different loads) dwarf the half-load ones.
 */
import type { BuildStats } from "../workloads/kernbench.js";

export type KernbenchField =
  "elapsed" | "user" | "system" | "percentCpu" | "contextSwitches" | "sleeps";
export const KERNBENCH_FIELDS: readonly KernbenchField[] = [
  "elapsed",
  "user",
  "system",
  "percentCpu",
  "contextSwitches",
  "sleeps",
];

/** The statistic names as kernbench prints them. */
export const KERNBENCH_LABELS: Readonly<Record<KernbenchField, string>> = {
  elapsed: "Elapsed Time",
  user: "User Time",
  system: "System Time",
  percentCpu: "Percent CPU",
  contextSwitches: "Context Switches",
  sleeps: "Sleeps",
};

export interface MeanStd {
  readonly mean: number;
  readonly std: number;
  readonly n: number;
}

export type KernbenchBlock = Readonly<Record<KernbenchField, MeanStd>>;

/** add_data_point / show_statistics over a list of values. */
export function meanStd(values: readonly number[]): MeanStd {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, std: Number.NaN, n: 0 };
  const sum = values.reduce((a, b) => a + b, 0);
  const sumsq = values.reduce((a, b) => a + b * b, 0);
  const mean = sum / n;
  const variance = n > 1 ? (sumsq - (sum * sum) / n) / (n - 1) : 0;
  return { mean, std: Math.sqrt(Math.max(0, variance)), n };
}

/** The true statistics of one load level. */
export function trueBlock(runs: readonly BuildStats[]): KernbenchBlock {
  const out = {} as Record<KernbenchField, MeanStd>;
  for (const f of KERNBENCH_FIELDS) out[f] = meanStd(runs.map((r) => r[f]));
  return out;
}

/**
 * What kernbench prints for consecutive load levels (in the order it runs them): elapsed per
 * level, every other field accumulated over all levels so far.
 */
export function kernbenchPrinted(levels: readonly (readonly BuildStats[])[]): KernbenchBlock[] {
  const acc: Record<KernbenchField, number[]> = {
    elapsed: [],
    user: [],
    system: [],
    percentCpu: [],
    contextSwitches: [],
    sleeps: [],
  };
  return levels.map((runs) => {
    acc.elapsed = []; // temp_elapsed="a": the only reset
    for (const r of runs) for (const f of KERNBENCH_FIELDS) acc[f].push(r[f]);
    const out = {} as Record<KernbenchField, MeanStd>;
    for (const f of KERNBENCH_FIELDS) out[f] = meanStd(acc[f]);
    return out;
  });
}

/** The seed's published table (the patch's commit message), for comparison. */
export const SEED_TABLE = {
  "6cpu": {
    halfJobs: 3,
    optimalJobs: 24,
    current: {
      half: {
        elapsed: [400.498, 0.179679],
        user: [1098.72, 0.278536],
        system: [100.301, 0.201629],
        percentCpu: [299, 0],
        contextSwitches: [5774.1, 69.2121],
        sleeps: [87621.2, 78.1093],
      },
      optimal: {
        elapsed: [219.03, 0.652534],
        user: [1119.51, 21.3284],
        system: [100.499, 0.389308],
        percentCpu: [432.5, 136.974],
        contextSwitches: [81827.4, 78029.5],
        sleeps: [97124.8, 9822.4],
      },
    },
    rcu: {
      half: {
        elapsed: [399.909, 0.162853],
        user: [1097.59, 0.283894],
        system: [99.736, 0.196254],
        percentCpu: [299, 0],
        contextSwitches: [5744.4, 79.4162],
        sleeps: [87586.1, 99.7079],
      },
      optimal: {
        elapsed: [218.959, 0.598674],
        user: [1118.81, 21.7793],
        system: [99.8335, 0.251423],
        percentCpu: [432.45, 136.922],
        contextSwitches: [81818.5, 78051],
        sleeps: [97207.9, 9955.04],
      },
    },
  },
  "16cpu": {
    halfJobs: 8,
    optimalJobs: 64,
    current: {
      half: {
        elapsed: [213.538, 3.7891],
        user: [1306.4, 1.83399],
        system: [194.59, 0.864378],
        percentCpu: [702.6, 13.5388],
        contextSwitches: [21189.2, 1199.4],
        sleeps: [89390.2, 482.325],
      },
      optimal: {
        elapsed: [137.866, 0.787928],
        user: [1488.92, 192.399],
        system: [234.981, 42.5806],
        percentCpu: [1057.1, 373.826],
        contextSwitches: [187514, 175324],
        sleeps: [112633, 24535.5],
      },
    },
    rcu: {
      half: {
        elapsed: [212.5, 3.10939],
        user: [1307.65, 1.01364],
        system: [195.478, 0.794588],
        percentCpu: [707, 11.1131],
        contextSwitches: [21288.2, 552.388],
        sleeps: [89677, 277.06],
      },
      optimal: {
        elapsed: [138.438, 0.218792],
        user: [1489.92, 192.135],
        system: [236.09, 42.8138],
        percentCpu: [1057.1, 369.114],
        contextSwitches: [187358, 175060],
        sleeps: [111743, 23297.6],
      },
    },
  },
} as const satisfies Record<
  string,
  {
    halfJobs: number;
    optimalJobs: number;
    current: Record<"half" | "optimal", Record<KernbenchField, readonly [number, number]>>;
    rcu: Record<"half" | "optimal", Record<KernbenchField, readonly [number, number]>>;
  }
>;
