/**
 * The explorer on the bug registry: for each bug small enough to have a scenario the explorer
 * knows (BugDefinition.explore) — with the CPUs' page walkers and paging-structure caches when
 * the bug's reader is the hardware — every interleaving of its "before" and "after" kernels, and
 * the shortest one that reads a freed table.
 */
import { bugByName } from "../experiments/bugs/registry.js";
import { explore, uafSentence, type ExploreResult } from "./explorer.js";

/** One side's exploration, reduced to what a table or a JSON report shows. */
export interface BugExploreSide {
  readonly profile: string;
  readonly backend: string;
  readonly states: number;
  /** null when the state budget ran out first. */
  readonly uafReachable: boolean | null;
  readonly complete: boolean;
  /** The shortest interleaving that reads a freed table: one line per step, "cpu/thread". */
  readonly shortest: {
    readonly length: number;
    readonly steps: readonly { step: number; cpu: number; action: string }[];
    readonly uaf: string;
  } | null;
}

export interface BugExploration {
  readonly bug: string;
  readonly scenario: string;
  readonly note: string | null;
  readonly before: BugExploreSide;
  readonly after: BugExploreSide;
}

function side(r: ExploreResult): BugExploreSide {
  const c = r.counterexample;
  return {
    profile: r.profile,
    backend: r.backend,
    states: r.states,
    uafReachable: r.uafReachable,
    complete: r.complete,
    shortest:
      c === null
        ? null
        : {
            length: c.length,
            steps: c.steps.map(({ step, cpu, action }) => ({ step, cpu, action })),
            uaf: uafSentence(c.uaf),
          },
  };
}

/** Explores bug `name`'s before and after kernels exhaustively (explorer defaults: 2 CPUs,
 * 2 pages, 1 stall); null for a bug the explorer cannot run (its scenario is not one of the
 * explorer's). */
export function exploreBug(name: string): BugExploration | null {
  const bug = bugByName(name);
  const e = bug.explore;
  if (e === undefined) return null;
  const run = (p: { profile: string; backend: string }): BugExploreSide =>
    side(
      explore({
        profile: p.profile,
        backend: p.backend,
        scenario: e.scenario,
        hardware: e.hardware === true,
      }),
    );
  return {
    bug: bug.name,
    scenario: e.scenario,
    note: e.note ?? null,
    before: run(e.before),
    after: run(e.after),
  };
}
