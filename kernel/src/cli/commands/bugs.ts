/** `mmulab bugs`: the registry of page-table freeing bugs, each run before and after its fix. */
import {
  bugNames,
  BUGS,
  DEFAULT_BUG_TRIALS,
  MAX_BUG_TRIALS,
  runBug,
  type BugDefinition,
  type BugRunVerdict,
  type BugVerdicts,
} from "../../experiments/bugs/index.js";
import { exploreBug, type BugExploration } from "../../explore/bugs.js";
import { choiceFlag, intFlag, JSON_FLAG_USAGE, jsonFlag, parseFlags } from "../args.js";
import { PROGRAM } from "../cli.js";
import { EXIT_FAILURE, EXIT_OK, type Command } from "../command.js";

/** One bug as `--json` prints it: the registry's data and what this run computed. */
export interface BugOutput {
  readonly name: string;
  readonly title: string;
  readonly year: number;
  readonly section: string;
  readonly introduced: BugDefinition["introduced"];
  readonly fixed: BugDefinition["fixed"];
  readonly cve: string | null;
  readonly reader: string;
  readonly scenario: string;
  readonly counterfactual: boolean;
  readonly mechanism: string;
  readonly fixStep: string;
  readonly conditions: readonly string[];
  readonly seed: number;
  readonly trials: number;
  readonly before: BugRunVerdict;
  readonly after: BugRunVerdict;
  readonly mutation: BugRunVerdict | null;
  readonly reproduced: boolean;
  readonly explore: BugExploration | null;
}

function output(b: BugDefinition, v: BugVerdicts, x: BugExploration | null): BugOutput {
  return {
    name: b.name,
    title: b.title,
    year: b.year,
    section: b.section,
    introduced: b.introduced,
    fixed: b.fixed,
    cve: b.cve ?? null,
    reader: b.reader,
    scenario: b.scenario,
    counterfactual: b.counterfactual,
    mechanism: b.mechanism,
    fixStep: b.fix.step,
    conditions: b.conditions ?? [],
    seed: v.seed,
    trials: v.trials,
    before: v.before,
    after: v.after,
    mutation: v.mutation ?? null,
    reproduced: v.reproduced,
    explore: x,
  };
}

function cell(r: BugRunVerdict, reader: string): string {
  const readers = Object.entries(r.byReader)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
  return (
    `${r.profile} × ${r.backend}${r.counterfactual ? " (counterfactual)" : ""}: ` +
    `${r.readerTrials}/${r.trials} trials with a ${reader} bad read` +
    (readers !== "" && r.badTrials !== r.readerTrials ? ` (all readers: ${readers})` : "")
  );
}

function render(o: BugOutput): string {
  const out: string[] = [];
  const fix = `${o.fixed.commit ?? "(hash unconfirmed)"} "${o.fixed.subject}" (${o.fixed.release})`;
  out.push(`${o.name} — ${o.title} (${o.section} of docs/bugs.md)`);
  out.push(`  fixed by ${fix}${o.cve ? `; ${o.cve}` : ""}`);
  out.push(
    `  introduced: ${o.introduced.commit ?? "no single commit"}${o.introduced.release ? ` (${o.introduced.release})` : ""}`,
  );
  out.push(`  reader ${o.reader}, scenario ${o.scenario}`);
  out.push(`  before  ${cell(o.before, o.reader)}`);
  out.push(`  after   ${cell(o.after, o.reader)}`);
  if (o.mutation !== null)
    out.push(`  mutated ${cell(o.mutation, o.reader)} — without: ${o.fixStep}`);
  if (o.explore !== null) {
    const x = o.explore;
    const s = (e: BugExploration["before"]): string =>
      `${e.profile} × ${e.backend}: ${e.uafReachable === null ? "unknown (budget)" : e.uafReachable ? `reachable, shortest ${e.shortest?.length ?? 0} steps` : "not reachable"} (${e.states} states)`;
    out.push(`  explorer (${x.scenario}${x.note ? `; ${x.note}` : ""}):`);
    out.push(`    before ${s(x.before)}`);
    if (x.before.shortest !== null) {
      for (const st of x.before.shortest.steps)
        out.push(`      ${String(st.step).padStart(2)}. ${st.action}`);
      out.push(`      ${x.before.shortest.uaf}`);
    }
    out.push(`    after  ${s(x.after)}`);
  }
  out.push(
    `  ${o.reproduced ? "REPRODUCED" : "NOT REPRODUCED"}: before shows it, after does not${o.mutation !== null ? ", the mutation brings it back" : ""}`,
  );
  return out.join("\n");
}

export const bugsCommand: Command = {
  name: "bugs",
  summary: "the page-table freeing bugs, each run before and after its fix (computed now)",
  usage: [
    `Usage: ${PROGRAM} bugs [--bug NAME] [--seed S] [--trials N] [--no-mutation] [--no-explore] [--json]`,
    "",
    "For each bug of the registry (docs/bugs.md), runs the kernel before the fix and after it",
    "over N seeded trials (trial i uses seed S + i in every run) and counts the trials in which",
    "the bug's reader — an IRQ-off software walker (gup_fast), an RCU-protected pte walker",
    "(pte_offset_map), a CPU's page walker, or a stale TLB entry — read freed memory, a frame that",
    "is not a page table, or another process's table; then runs the fixed kernel with the fix's",
    "step removed (the mutation), and, for the bugs small enough, explores every interleaving",
    "for the shortest one. Nothing is stored: every verdict is computed by this run.",
    "",
    "Options:",
    `  --bug NAME        one of ${bugNames().join(", ")} (default: all)`,
    "  --seed S          seed of trial 0 (default 1)",
    `  --trials N        trials per run, 1 … ${MAX_BUG_TRIALS} (default ${DEFAULT_BUG_TRIALS})`,
    "  --no-mutation     skip the run with the fix's step removed",
    "  --no-explore      skip the explorer",
    JSON_FLAG_USAGE +
      " (an array of {name, introduced, fixed, cve, reader, before, after, mutation, reproduced, explore, …};" +
      " before/after/mutation carry byReader counts and the profile, backend and config they ran)",
    "",
    "Exit status: 0 when every bug listed is reproduced (before: a bad read by its reader; after:",
    "none; mutation: the reader again); 1 otherwise; 2 on a usage error.",
  ].join("\n"),
  run(argv, io) {
    const { values } = parseFlags(argv, {
      ...jsonFlag,
      bug: { type: "string" },
      seed: { type: "string" },
      trials: { type: "string" },
      "no-mutation": { type: "boolean", default: false },
      "no-explore": { type: "boolean", default: false },
    });
    const one = choiceFlag(values.bug, "bug", bugNames());
    const trials = intFlag(values.trials, "trials", DEFAULT_BUG_TRIALS, {
      min: 1,
      max: MAX_BUG_TRIALS,
    });
    const seed = intFlag(values.seed, "seed", 1, { min: 0, max: 2 ** 32 - 1 - trials });
    const mutation = values["no-mutation"] !== true;
    const bugs = one === undefined ? BUGS : BUGS.filter((b) => b.name === one);
    const results = bugs.map((b) =>
      output(
        b,
        runBug(b.name, { seed, trials, mutation }),
        values["no-explore"] === true ? null : exploreBug(b.name),
      ),
    );
    if (values.json) io.out(`${JSON.stringify(results, null, 2)}\n`);
    else io.out(`${results.map(render).join("\n\n")}\n`);
    return Promise.resolve(results.every((r) => r.reproduced) ? EXIT_OK : EXIT_FAILURE);
  },
};
