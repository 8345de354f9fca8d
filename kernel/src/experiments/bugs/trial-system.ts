/**
 * What the bugs' own scenarios share with runTrial: a system built from a trial's options (the
 * page walkers on unless the config says otherwise), and the run to its end — or to the moment
 * a view asked for.
 */
import { buildSystem, type System } from "../../system/build.js";
import { MAX_STALL_NS } from "../scenarios.js";
import type { BugTrialOptions } from "./types.js";

/** Longest a bug trial runs, simulated ns: twice the longest stall, as the race scenarios. */
export const BUG_TRIAL_MAX_NS = 2 * MAX_STALL_NS;

/** The system of one trial: profile, backend and config from `o`, tracing only for replays. */
export function trialSystem(o: BugTrialOptions, nrCpus = 4): System {
  return buildSystem({
    ...o.config,
    profile: o.profile,
    backend: o.backend,
    seed: o.seed,
    trace: o.trace,
    history: o.trace,
    hardware: o.config.hardware ?? true,
    nrCpus: o.config.nrCpus ?? nrCpus,
  });
}

/**
 * Runs the trial's threads (started, with RCU, by the caller): to `stopAtNs` and no further (the
 * system as it is then), or to the end, when every thread is done and RCU is idle; then the
 * clocks are stopped and what stopping queues is drained.
 */
export function runTrialSystem(sys: System, stopAtNs: number | undefined): void {
  sys.sim.run({ until: stopAtNs ?? BUG_TRIAL_MAX_NS });
  if (stopAtNs !== undefined) return;
  sys.rcu.stop();
  sys.host.stop();
  sys.sim.run();
}
