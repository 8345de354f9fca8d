/**
 * A bug whose scenario is one of the later paths' (experiments/path-scenarios.ts): its trial is
 * runPathTrial on that scenario. The oracle's not-a-table and foreign-table reports are the
 * registry's reader kinds of the same names; its other reports keep their reader.
 */
import { runPathTrial, type PathTrialOptions } from "../path-scenarios.js";
import type { BugReaderKind, BugTrialOptions, BugTrialResult } from "./types.js";

type PathExtras = Pick<PathTrialOptions, "batchAllocFailure" | "walker" | "holdNs"> & {
  /** Whose page tables the views show: the first mm the trial made (default), or the last —
   * for hugetlb unsharing, the process that kept the table the walker read. */
  readonly showMm?: "first" | "last";
};

export function pathScenarioTrial(
  scenario: string,
  extras: PathExtras = {},
): (o: BugTrialOptions) => BugTrialResult {
  return (o) => {
    const { showMm, ...trialExtras } = extras;
    const r = runPathTrial({
      ...o.config,
      ...trialExtras,
      scenario,
      profile: o.profile,
      backend: o.backend,
      seed: o.seed,
      trace: o.trace,
      history: o.trace,
      ...(o.stopAtNs === undefined ? {} : { stopAtNs: o.stopAtNs }),
    });
    const reports = r.reports.map((rep) => {
      const reader: BugReaderKind =
        rep.kind === "not-a-table" || rep.kind === "foreign-table" ? rep.kind : rep.reader;
      return { ...rep, reader };
    });
    const ids = [...r.system.k.mms.keys()];
    const mmId = showMm === "last" ? Math.max(...ids) : Math.min(...ids);
    return { reports, system: r.system, mmId };
  };
}
