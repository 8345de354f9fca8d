/**
 * Options of an exhaustive exploration: what the user may pass (`ExploreOptions`, every field
 * but the cell optional) and the checked, complete form the explorer runs (`ExploreSpec`),
 * resolved once — fast-check's Parameters → QualifiedParameters split.
 */
import {
  checkBackendName,
  checkProfileName,
  resolveProfile,
  type BackendName,
  type ProfileName,
  type ResolvedProfile,
  type ResolveOptions,
} from "../config/profiles.js";
import { SOFTWARE_WALKER_SCENARIOS, type ScenarioName } from "../experiments/scenarios.js";
import {
  checkBool,
  checkInt,
  checkOptions,
  ParameterError,
  UnknownNameError,
} from "../sim/errors.js";

/** Defaults, each with its reason. */
export const EXPLORE_DEFAULTS = Object.freeze({
  /** The freeing CPU and the walker's CPU: the smallest machine with the race. */
  cpus: 2,
  /** Two pages: the walker's pte loop runs more than once (a stall can land between pages). */
  pages: 2,
  /** One stall of the walker's CPU per run, as in a race-matrix trial. */
  stalls: 1,
  /** Distinct states before the search gives up. The 2-CPU scenarios need at most a few
   * thousand; 3 CPUs with 4 pages stay under about 60,000. */
  maxStates: 250_000,
});

export interface ExploreOptions {
  readonly profile: string;
  readonly backend: string;
  /** One of the race matrix's scenarios (experiments/scenarios.ts). */
  readonly scenario: string;
  /** CPUs, 2 … 4. Default 2. CPU 0 munmaps, CPU 1 walks; further CPUs run another thread of the
   * process in user mode (not in use-mm-walker, whose process has one thread). */
  readonly cpus?: number;
  /** Pages of the buffer, 1 … 8. Default 2. */
  readonly pages?: number;
  /** How many times the walker's CPU may be held (VM exit, or host preemption in
   * preempted-walker), 0 … 3. Default 1. */
  readonly stalls?: number;
  /** State budget, 1 … {@link MAX_EXPLORE_STATES} (4,000,000). Default 250,000. */
  readonly maxStates?: number;
  /** Sleep-set partial-order reduction. Default true. */
  readonly por?: boolean;
  /** Stop at the first use-after-free (true, default) or visit every reachable state. */
  readonly stopAtFirstUaf?: boolean;
  /** Passed to resolveProfile (paravirt, counterfactual rcuTableFree). */
  readonly resolve?: ResolveOptions;
  /** The CPUs' page walkers and paging-structure caches too: every CPU executing with the mm in
   * CR3 may walk it at any step, starting from its deepest cached entry (arch/x86/page-walker.ts).
   * Default false (the software walker only). */
  readonly hardware?: boolean;
  /** Counterfactual: v4.19's tlb_table_invalidate forced on or off (SystemOptions'
   * `tableInvalidate`, the mutation the issue asks for). Default: the profile's. */
  readonly tableInvalidate?: boolean;
}

export interface ExploreSpec {
  readonly profile: ProfileName;
  readonly backend: BackendName;
  readonly scenario: ScenarioName;
  readonly cpus: number;
  readonly pages: number;
  readonly stalls: number;
  readonly maxStates: number;
  readonly por: boolean;
  readonly stopAtFirstUaf: boolean;
  readonly resolve: ResolveOptions;
  readonly resolved: ResolvedProfile;
  readonly hardware: boolean;
  /** undefined: the profile's. */
  readonly tableInvalidate: boolean | undefined;
}

const EXPLORE_OPTION_KEYS = [
  "profile",
  "backend",
  "scenario",
  "cpus",
  "pages",
  "stalls",
  "maxStates",
  "por",
  "stopAtFirstUaf",
  "resolve",
  "hardware",
  "tableInvalidate",
];

/**
 * Largest state budget. Each visited state keeps its hash and sleep set, about 400 bytes (20,000
 * → 118,000 states grew the peak RSS by 39 MB), so 4,000,000 states are about 1.6 GB of heap,
 * well inside Node's default 4 GB limit, and 15 minutes at the explorer's 4,600 states/s
 * (docs/benchmarks.md). It was 10,000,000: about 4 GB, at the limit, where the process would die
 * of an out-of-memory error instead of stopping with `complete: false`. The largest state spaces
 * these options reach have about 120,000 states (docs/reliability.md).
 */
export const MAX_EXPLORE_STATES = 4_000_000;

/** Checks every option before anything runs; errors name the option, value and range. */
export function resolveExploreOptions(opts: ExploreOptions): ExploreSpec {
  if (opts === undefined)
    throw new ParameterError(
      "options",
      opts,
      "an object with profile, backend and scenario",
      "explore",
    );
  checkOptions("options", opts, EXPLORE_OPTION_KEYS, "explore");
  const profile = checkProfileName(opts.profile);
  const backend = checkBackendName(opts.backend);
  // the explorer runs the software walker's scenarios (the page walker is not in its world)
  if (!(SOFTWARE_WALKER_SCENARIOS as readonly string[]).includes(opts.scenario))
    throw new UnknownNameError("scenario", opts.scenario, SOFTWARE_WALKER_SCENARIOS, "explore");
  const scenario = opts.scenario as ScenarioName;
  const resolve = opts.resolve ?? {};
  const resolved = resolveProfile(profile, backend, resolve);
  return Object.freeze({
    profile,
    backend,
    scenario,
    cpus: checkInt("cpus", opts.cpus ?? EXPLORE_DEFAULTS.cpus, 2, 4, "explore"),
    pages: checkInt("pages", opts.pages ?? EXPLORE_DEFAULTS.pages, 1, 8, "explore"),
    stalls: checkInt("stalls", opts.stalls ?? EXPLORE_DEFAULTS.stalls, 0, 3, "explore"),
    maxStates: checkInt(
      "maxStates",
      opts.maxStates ?? EXPLORE_DEFAULTS.maxStates,
      1,
      MAX_EXPLORE_STATES,
      "explore",
    ),
    por: checkBool("por", opts.por, true, "explore"),
    stopAtFirstUaf: checkBool("stopAtFirstUaf", opts.stopAtFirstUaf, true, "explore"),
    resolve,
    resolved,
    hardware: checkBool("hardware", opts.hardware, false, "explore"),
    tableInvalidate:
      opts.tableInvalidate === undefined
        ? undefined
        : checkBool("tableInvalidate", opts.tableInvalidate, false, "explore"),
  });
}
