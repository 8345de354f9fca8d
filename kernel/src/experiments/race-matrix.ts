/**
 * The race matrix: kernel-version profiles × flush backends × scenarios, many seeded trials per
 * cell, counting trials in which the use-after-free oracle saw a freed page table read. Cells
 * are computed by running the simulator; nothing is looked up. Trial i of every cell uses seed
 * S + i (common random numbers), so two cells differ only by the modelled mechanism.
 */
import {
  BACKEND_NAMES,
  MATRIX_PROFILES,
  PROFILE_NAMES,
  resolveProfile,
  type BackendName,
  type ProfileName,
  type ResolvedProfile,
  DEFAULT_PARAVIRT,
} from "../config/profiles.js";
import { checkBool, checkInt, checkNameList, checkOptions, ParameterError } from "../sim/errors.js";
import { withProgress } from "../sim/progress.js";
import type { ChromeTrace } from "../sim/trace.js";
import type { CachedEntryInfo, UafReader } from "../mm/oracle.js";
import { runTrial, SCENARIO_NAMES, type ScenarioName } from "./scenarios.js";

/** Most trials per cell: 100,000 trials of one cell take about 20 s (docs/reliability.md). */
export const MAX_TRIALS = 100_000;

export interface RaceMatrixOptions {
  readonly profiles?: readonly string[];
  readonly backends?: readonly string[];
  readonly scenarios?: readonly string[];
  /** Trials per cell, 1 … 100,000. Default 40. */
  readonly trials?: number;
  /** Seed of trial 0; trial i uses seed + i. Default 1. */
  readonly seed?: number;
  /** Keep an example trial (its replay, first report and trace) for every cell with a
   * use-after-free. Default true. */
  readonly examples?: boolean;
  /** The CPUs' own page walkers and caches (arch/x86/page-walker.ts). Default true. */
  readonly hardware?: boolean;
  /** CONFIG_PARAVIRT. Default: a distribution kernel's (set, config/DEFAULT_PARAVIRT); false
   * is a bare-metal build, which the paravirt backends refuse (their cells are skipped). */
  readonly paravirt?: boolean;
  /** The csdBatch modelling shortcut (system/build.ts). Default false. */
  readonly csdBatch?: boolean;
  /** Called after each cell with the cells done and the cells that exist (impossible
   * profile × backend pairs are not counted). */
  readonly onCell?: (done: number, total: number) => void;
  /** Show progress (in a notebook, or on a terminal's stderr). Default true. */
  readonly progress?: boolean;
}

/** How to replay the example trial of a cell with `runTrial` (fast-check style). */
export interface ReplayLiteral {
  readonly scenario: ScenarioName;
  readonly profile: ProfileName;
  readonly backend: BackendName;
  readonly seed: number;
  /** The page walkers (default true, as the matrix runs). */
  readonly hardware?: boolean;
  /** CONFIG_PARAVIRT (default config/DEFAULT_PARAVIRT). */
  readonly resolve?: { readonly paravirt: boolean };
}

export interface RaceCellExample {
  readonly replay: ReplayLiteral;
  /** What the oracle saw first. */
  readonly firstReport: {
    readonly t: number;
    readonly cpu: number;
    /** "software", "hw-walker" or "stale-tlb". */
    readonly reader: UafReader;
    /** The cached entry a hardware read came through. */
    readonly via?: CachedEntryInfo;
    readonly level: string;
    readonly pfn: number;
    readonly kind: string;
    readonly history: readonly { t: number; what: string }[];
  };
  /** The whole trial's trace. Its timeline around the first report is a view
   * (views/race-matrix.ts `raceExampleTimeline`). */
  readonly chromeTrace: ChromeTrace;
}

export interface RaceCell {
  readonly profile: ProfileName;
  readonly backend: BackendName;
  readonly scenario: ScenarioName;
  readonly trials: number;
  /** Trials with at least one use-after-free. */
  readonly uaf: number;
  /** Trials in which each kind of reader read freed memory: a software walker (gup_fast), the
   * CPU's page walker through a cached entry, a program access through a stale TLB entry. */
  readonly readers: {
    readonly software: number;
    readonly hwWalker: number;
    readonly staleTlb: number;
  };
  /** The configuration the cell ran: HAVE_RCU_TABLE_FREE, CONFIG_PARAVIRT, the hardware model. */
  readonly rcuTableFree: boolean;
  readonly paravirt: boolean;
  readonly hardware: boolean;
  readonly example?: RaceCellExample;
}

export interface SkippedCell {
  readonly profile: ProfileName;
  readonly backend: BackendName;
  readonly reason: string;
}

export interface RaceMatrix {
  readonly cells: readonly RaceCell[];
  readonly skipped: readonly SkippedCell[];
  readonly trials: number;
  readonly seed: number;
  readonly hardware: boolean;
  /** CONFIG_PARAVIRT of every cell. */
  readonly paravirt: boolean;
  /** Present (true) when the trials took the csdBatch modelling shortcut. */
  readonly csdBatch?: boolean;
}

const RACE_MATRIX_KEYS = [
  "profiles",
  "backends",
  "scenarios",
  "trials",
  "seed",
  "examples",
  "hardware",
  "paravirt",
  "csdBatch",
  "onCell",
  "progress",
];

export function runRaceMatrix(opts: RaceMatrixOptions = {}): RaceMatrix {
  // Validate everything before running anything.
  const ctx = "race-matrix";
  checkOptions("options", opts, RACE_MATRIX_KEYS, ctx);
  const profiles = checkNameList("profiles", opts.profiles, PROFILE_NAMES, MATRIX_PROFILES, ctx);
  const backends = checkNameList("backends", opts.backends, BACKEND_NAMES, BACKEND_NAMES, ctx);
  const scenarios = checkNameList("scenarios", opts.scenarios, SCENARIO_NAMES, SCENARIO_NAMES, ctx);
  const trials = checkInt("trials", opts.trials ?? 40, 1, MAX_TRIALS, ctx);
  const seed = checkInt("seed", opts.seed ?? 1, 0, 2 ** 32 - 1 - trials, ctx);
  const examples = checkBool("examples", opts.examples, true, ctx);
  const hardware = checkBool("hardware", opts.hardware, true, ctx);
  const paravirt = checkBool("paravirt", opts.paravirt, DEFAULT_PARAVIRT, ctx);
  const csdBatch = checkBool("csdBatch", opts.csdBatch, false, ctx);
  const showProgress = checkBool("progress", opts.progress, true, ctx);
  if (opts.onCell !== undefined && typeof opts.onCell !== "function")
    throw new ParameterError("onCell", opts.onCell, "a function (done, total) => void", ctx);
  const cells: RaceCell[] = [];
  const skipped: SkippedCell[] = [];
  const valid: [ProfileName, BackendName, ResolvedProfile][] = [];
  for (const p of profiles)
    for (const b of backends) {
      try {
        valid.push([p, b, resolveProfile(p, b, { paravirt })]);
      } catch (e) {
        skipped.push({
          profile: p,
          backend: b,
          reason: e instanceof Error ? e.message : String(e),
        });
      }
    }
  // Only cells that can exist count: a profile × backend pair the version did not have is
  // skipped, not left undone.
  const total = valid.length * scenarios.length;
  const label =
    `race matrix: ${plural(total, "cell")} × ${plural(trials, "trial")}` +
    (skipped.length > 0 ? ` (${skipped.length} profile × backend pairs do not exist)` : "");
  withProgress(
    total,
    { label, enabled: showProgress },
    (bar) => {
      for (const scenario of scenarios)
        for (const [profile, backend, resolved] of valid) {
          let uaf = 0;
          let exampleSeed = -1;
          const readers = { software: 0, hwWalker: 0, staleTlb: 0 };
          for (let i = 0; i < trials; i++) {
            const r = runTrial({
              scenario,
              profile,
              backend,
              seed: seed + i,
              trace: false,
              history: false,
              hardware,
              resolve: { paravirt },
              ...(csdBatch ? { csdBatch } : {}),
            });
            if (r.uaf > 0) {
              uaf++;
              if (exampleSeed < 0) exampleSeed = seed + i;
              let sw = false;
              let hw = false;
              let tlb = false;
              for (const rep of r.reports) {
                // the matrix's scenarios have no pte_offset_map() walker: "software-rcu" is counted
                // with the other software walkers if a scenario ever brings one
                if (rep.reader === "software" || rep.reader === "software-rcu") sw = true;
                else if (rep.reader === "hw-walker") hw = true;
                else tlb = true;
              }
              if (sw) readers.software++;
              if (hw) readers.hwWalker++;
              if (tlb) readers.staleTlb++;
            }
          }
          let example: RaceCellExample | undefined;
          if (exampleSeed >= 0 && examples)
            example = makeExample({
              scenario,
              profile,
              backend,
              seed: exampleSeed,
              hardware,
              resolve: { paravirt },
              ...(csdBatch ? { csdBatch } : {}),
            });
          cells.push({
            profile,
            backend,
            scenario,
            trials,
            uaf,
            readers,
            rcuTableFree: resolved.rcuTableFree,
            paravirt: resolved.paravirt,
            hardware,
            ...(example ? { example } : {}),
          });
          opts.onCell?.(cells.length, total);
          bar(cells.length, `${scenario}, ${profile} × ${backend}`);
        }
    },
    () => `${plural(cells.filter((c) => c.uaf > 0).length, "cell")} with a use-after-free`,
  );
  return { cells, skipped, trials, seed, hardware, paravirt, ...(csdBatch ? { csdBatch } : {}) };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The history entries of a table's teardown: unlinked, handed to RCU, freed. */
const TEARDOWN = /^(unlinked|handed to RCU|free$)/;

/**
 * The time window of a use-after-free's timeline: from before the frame was torn down (unlinked,
 * handed to RCU, freed — on whichever CPU did it, possibly milliseconds earlier) and at least
 * 400 µs before the read, to 50 µs after it; so every CPU involved, the freeing one and the
 * walker, has its part in the picture. Lanes are per CPU, and spans overlapping the window are
 * drawn whole (views/trace-timeline.ts), so the freeing CPU's munmap shows from its start.
 */
export function uafWindow(report: {
  readonly t: number;
  readonly history: readonly { readonly t: number; readonly what: string }[];
}): { from: number; to: number } {
  let earliest = report.t - 400_000;
  for (const h of report.history)
    if (TEARDOWN.test(h.what) && h.t <= report.t) earliest = Math.min(earliest, h.t - 20_000);
  return { from: Math.max(0, earliest), to: report.t + 50_000 };
}

/** Re-runs one trial with tracing and frame histories on, for the cell's example. */
export function makeExample(replay: ReplayLiteral): RaceCellExample {
  const r = runTrial({ ...replay, trace: true, history: true });
  const first = r.reports[0];
  if (first === undefined)
    throw new Error(`replay ${JSON.stringify(replay)} saw no use-after-free`);
  return {
    replay,
    firstReport: {
      t: first.t,
      cpu: first.cpu,
      reader: first.reader,
      ...(first.via ? { via: first.via } : {}),
      level: first.level,
      pfn: first.pfn,
      kind: first.kind,
      history: first.history.map((h) => ({ t: h.t, what: h.what })),
    },
    chromeTrace: r.system.sim.trace.toChrome({
      scenario: replay.scenario,
      profile: replay.profile,
      backend: replay.backend,
      seed: replay.seed,
      hardware: replay.hardware ?? true,
      paravirt: replay.resolve?.paravirt ?? DEFAULT_PARAVIRT,
    }),
  };
}

/** The kinds of reader that read freed memory in a cell: s, h, t (padded to three). */
function readerTags(c: RaceCell): string {
  const r = c.readers;
  return `${r.software > 0 ? "s" : ""}${r.hwWalker > 0 ? "h" : ""}${r.staleTlb > 0 ? "t" : ""}`.padEnd(
    3,
  );
}

/** Text table: one block per scenario, rows profiles, columns backends, "uaf/trials". */
export function formatRaceMatrix(m: RaceMatrix): string {
  const out: string[] = [];
  const scenarios = [...new Set(m.cells.map((c) => c.scenario))];
  const profiles = [...new Set(m.cells.map((c) => c.profile))];
  const backends = [...new Set(m.cells.map((c) => c.backend))];
  for (const s of scenarios) {
    out.push(
      `${s}: trials with a use-after-free / trials (* = RCU table free; read by s = software walker, h = page walker, t = stale TLB)`,
    );
    out.push(["profile".padEnd(14), ...backends.map((b) => b.padStart(13))].join(""));
    for (const p of profiles) {
      const row = [p.padEnd(14)];
      for (const b of backends) {
        const c = m.cells.find((x) => x.scenario === s && x.profile === p && x.backend === b);
        row.push(
          (c ? `${c.uaf}/${c.trials}${c.rcuTableFree ? "*" : " "}${readerTags(c)}` : "-").padStart(
            13,
          ),
        );
      }
      out.push(row.join(""));
    }
    out.push("");
  }
  out.push(
    m.hardware
      ? "CPUs' page walkers and TLBs modelled (arch/x86/page-walker.ts)"
      : "software walkers only (--no-hardware)",
  );
  out.push(
    m.paravirt
      ? "CONFIG_PARAVIRT=y in every cell, as distribution kernels build it"
      : "CONFIG_PARAVIRT=n (bare metal)",
  );
  if (m.skipped.length > 0) {
    out.push("not available:");
    for (const s of m.skipped)
      out.push(`  ${s.profile} × ${s.backend}: ${s.reason.replace(/^.*?: /, "")}`);
  }
  return out.join("\n");
}
