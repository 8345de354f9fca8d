/**
 * A bug whose scenario is one of the race matrix's (experiments/scenarios.ts): its trial is
 * runTrial on that scenario, with the page walkers on, as the race matrix runs it.
 */
import { runTrial } from "../scenarios.js";
import type { BugTrialOptions, BugTrialResult } from "./types.js";

export function raceScenarioTrial(scenario: string): (o: BugTrialOptions) => BugTrialResult {
  return (o) => {
    const r = runTrial({
      ...o.config,
      scenario,
      profile: o.profile,
      backend: o.backend,
      seed: o.seed,
      trace: o.trace,
      history: o.trace,
      hardware: o.config.hardware ?? true,
      ...(o.stopAtNs === undefined ? {} : { stopAtNs: o.stopAtNs }),
    });
    return { reports: r.reports, system: r.system, mmId: r.mm.id };
  };
}
