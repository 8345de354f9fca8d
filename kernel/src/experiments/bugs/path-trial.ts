/**
 * A bug whose scenario is one of the later paths' (experiments/path-scenarios.ts): its trial is
 * runPathTrial on that scenario. The oracle's not-a-table and foreign-table reports are the
 * registry's reader kinds of the same names; its other reports keep their reader.
 */
import { runPathTrial, type PathTrialOptions } from "../path-scenarios.js";
import type { BugReaderKind, BugTrialOptions, BugTrialResult } from "./types.js";

type PathExtras = Pick<PathTrialOptions, "batchAllocFailure" | "walker" | "holdNs">;

export function pathScenarioTrial(
  scenario: string,
  extras: PathExtras = {},
): (o: BugTrialOptions) => BugTrialResult {
  return (o) => {
    const r = runPathTrial({
      ...o.config,
      ...extras,
      scenario,
      profile: o.profile,
      backend: o.backend,
      seed: o.seed,
      trace: o.trace,
      history: o.trace,
    });
    const reports = r.reports.map((rep) => {
      const reader: BugReaderKind =
        rep.kind === "not-a-table" || rep.kind === "foreign-table" ? rep.kind : rep.reader;
      return { ...rep, reader };
    });
    // the mm the bug is about: the first one the trial made (its pgd came first)
    const mmId = Math.min(...r.system.k.mms.keys());
    return { reports, system: r.system, mmId };
  };
}
