/**
 * runBug: runs a bug's "before" and "after" profiles (and, on request, the "after" with the fix's
 * step removed) over many seeds, now, and returns what the oracle saw by reader kind. Trial i of
 * every run uses seed S + i (common random numbers), so the runs differ only by the modelled
 * mechanism. No verdict is stored anywhere: each call computes them.
 */
import { resolveProfile, type BackendName, type ProfileName } from "../../config/profiles.js";
import { checkBool, checkInt, checkName, checkOptions } from "../../sim/errors.js";
import { bugByName } from "./registry.js";
import {
  BUG_READER_KINDS,
  type BugDefinition,
  type BugReaderKind,
  type BugRunConfig,
  type BugTrialResult,
} from "./types.js";

/** Most trials per run. A trial takes 0.1–1 ms; three runs of 10,000 take a few tens of s. */
export const MAX_BUG_TRIALS = 10_000;
/** Default trials per run. */
export const DEFAULT_BUG_TRIALS = 100;

export interface RunBugOptions {
  /** Seed of trial 0; trial i uses seed + i. Default 1. */
  readonly seed?: number;
  /** Trials per run, 1 … {@link MAX_BUG_TRIALS}. Default {@link DEFAULT_BUG_TRIALS}. */
  readonly trials?: number;
  /** Also run the "after" profile with the fix's step removed. Default false. */
  readonly mutation?: boolean;
}

/** The first bad read of a run by the bug's reader (else by any reader), and how to replay it. */
export interface BugFirstRead {
  readonly seed: number;
  readonly t: number;
  readonly cpu: number;
  readonly reader: BugReaderKind;
  readonly walker: string;
  readonly level: string;
  readonly pfn: number;
  /** "freed" or "reused". */
  readonly kind: string;
  readonly addr: number;
}

/** What one run (before, after or mutation) computed. */
export interface BugRunVerdict {
  readonly profile: ProfileName;
  readonly backend: BackendName;
  readonly config: BugRunConfig;
  readonly counterfactual: boolean;
  /** HAVE_RCU_TABLE_FREE and CONFIG_PARAVIRT as the run resolved them. */
  readonly rcuTableFree: boolean;
  readonly paravirt: boolean;
  readonly trials: number;
  /** Trials with at least one bad read, of any reader. */
  readonly badTrials: number;
  /** Trials with at least one bad read by each kind of reader. */
  readonly byReader: Readonly<Record<BugReaderKind, number>>;
  /** Trials in which the bug's own reader read bad memory. */
  readonly readerTrials: number;
  /** "bad read" when the bug's reader saw bad memory in some trial, else "none". */
  readonly verdict: "bad read" | "none";
  readonly first: BugFirstRead | null;
}

export interface BugVerdicts {
  readonly bug: string;
  readonly reader: BugReaderKind;
  readonly seed: number;
  readonly trials: number;
  readonly before: BugRunVerdict;
  readonly after: BugRunVerdict;
  /** The "after" run with the fix's step removed, when asked for. */
  readonly mutation?: BugRunVerdict;
  /** before shows the bug's reader, after shows no bad read at all (and the mutation, when run,
   * brings the reader back). */
  readonly reproduced: boolean;
}

const CTX = "runBug";

function firstRead(rep: BugTrialResult["reports"][number], seed: number): BugFirstRead {
  return {
    seed,
    t: rep.t,
    cpu: rep.cpu,
    reader: rep.reader,
    walker: rep.walker,
    level: rep.level,
    pfn: rep.pfn,
    kind: rep.kind,
    addr: rep.addr,
  };
}

function runSide(
  bug: BugDefinition,
  side: { profile: ProfileName; backend: BackendName; config: BugRunConfig },
  counterfactual: boolean,
  seed: number,
  trials: number,
): BugRunVerdict {
  const resolved = resolveProfile(side.profile, side.backend, side.config.resolve);
  const byReader = Object.fromEntries(BUG_READER_KINDS.map((k) => [k, 0])) as Record<
    BugReaderKind,
    number
  >;
  let badTrials = 0;
  // the first read by the bug's own reader; failing that, the first bad read of any reader
  let first: BugFirstRead | null = null;
  let firstOther: BugFirstRead | null = null;
  for (let i = 0; i < trials; i++) {
    const r = bug.trial({ ...side, seed: seed + i, trace: false });
    if (r.reports.length === 0) continue;
    badTrials++;
    const seen = new Set<BugReaderKind>();
    for (const rep of r.reports) seen.add(rep.reader);
    for (const k of seen) byReader[k]++;
    if (first !== null) continue;
    const own = r.reports.find((x) => x.reader === bug.reader);
    if (own !== undefined) first = firstRead(own, seed + i);
    else firstOther ??= firstRead(r.reports[0]!, seed + i);
  }
  first ??= firstOther;
  const readerTrials = byReader[bug.reader];
  return {
    profile: side.profile,
    backend: side.backend,
    config: side.config,
    counterfactual,
    rcuTableFree: resolved.rcuTableFree,
    paravirt: resolved.paravirt,
    trials,
    badTrials,
    byReader,
    readerTrials,
    verdict: readerTrials > 0 ? "bad read" : "none",
    first,
  };
}

/** The "after" run's side with the fix's step removed. */
export function mutationSide(bug: BugDefinition): {
  profile: ProfileName;
  backend: BackendName;
  config: BugRunConfig;
} {
  const a = bug.after;
  const m = bug.fix.mutation;
  return {
    profile: a.profile,
    backend: a.backend,
    config: {
      ...a.config,
      ...m,
      ...(a.config.resolve || m.resolve ? { resolve: { ...a.config.resolve, ...m.resolve } } : {}),
    },
  };
}

/**
 * Runs bug `name`'s before and after profiles over `trials` seeds from `seed` (and the mutation
 * when asked) and returns the verdicts computed in this call. Unknown names and out-of-range
 * numbers are refused with a typed error before anything runs.
 */
export function runBug(name: string, opts: RunBugOptions = {}): BugVerdicts {
  checkOptions("options", opts, ["seed", "trials", "mutation"], CTX);
  const bug = bugByName(name);
  const trials = checkInt("trials", opts.trials ?? DEFAULT_BUG_TRIALS, 1, MAX_BUG_TRIALS, CTX);
  const seed = checkInt("seed", opts.seed ?? 1, 0, 2 ** 32 - 1 - trials, CTX);
  const withMutation = checkBool("mutation", opts.mutation, false, CTX);
  const before = runSide(bug, bug.before, bug.before.counterfactual, seed, trials);
  const after = runSide(bug, bug.after, bug.after.counterfactual, seed, trials);
  const mutation = withMutation ? runSide(bug, mutationSide(bug), true, seed, trials) : undefined;
  return {
    bug: bug.name,
    reader: bug.reader,
    seed,
    trials,
    before,
    after,
    ...(mutation ? { mutation } : {}),
    reproduced:
      before.readerTrials > 0 &&
      after.badTrials === 0 &&
      (mutation === undefined || mutation.readerTrials > 0),
  };
}

/** Which run of a bug to replay. */
export const BUG_SIDES = ["before", "after", "mutation"] as const;
export type BugSide = (typeof BUG_SIDES)[number];

/**
 * Re-runs one trial of a bug with tracing and frame histories on, for its views: the timeline
 * around the bad read and the page-table tree (ptdump) of the mm — with `stopAtNs`, as it is at
 * that moment (a bad read's `t`).
 */
export function replayBug(
  name: string,
  side: BugSide,
  seed: number,
  opts: { readonly stopAtNs?: number } = {},
): BugTrialResult {
  const bug = bugByName(name);
  checkInt("seed", seed, 0, 2 ** 32 - 1, "replayBug");
  checkName("side", side, BUG_SIDES, "replayBug");
  checkOptions("opts", opts, ["stopAtNs"], "replayBug");
  if (opts.stopAtNs !== undefined)
    checkInt("stopAtNs", opts.stopAtNs, 0, Number.MAX_SAFE_INTEGER, "replayBug");
  const s = side === "mutation" ? mutationSide(bug) : bug[side];
  return bug.trial({
    profile: s.profile,
    backend: s.backend,
    config: s.config,
    seed,
    trace: true,
    ...(opts.stopAtNs === undefined ? {} : { stopAtNs: opts.stopAtNs }),
  });
}
