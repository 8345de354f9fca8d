/** `mmulab explore`: every interleaving of one race-matrix cell's scenario, exhaustively. */
import { writeFileSync } from "node:fs";
import { BACKEND_NAMES, PROFILE_NAMES } from "../../config/profiles.js";
import { SOFTWARE_WALKER_SCENARIOS } from "../../experiments/scenarios.js";
import { explore, uafSentence, type ExploreResult } from "../../explore/explorer.js";
import { EXPLORE_DEFAULTS, MAX_EXPLORE_STATES } from "../../explore/options.js";
import { counterexampleViews } from "../../views/counterexample.js";
import {
  choiceFlag,
  intFlag,
  JSON_FLAG_USAGE,
  jsonFlag,
  outputFileFlag,
  parseFlags,
  requireFlags,
} from "../args.js";
import { PROGRAM } from "../cli.js";
import { EXIT_FAILURE, EXIT_OK, type Command } from "../command.js";

/** What `--json` prints. */
export interface ExploreOutput {
  readonly profile: string;
  readonly backend: string;
  readonly scenario: string;
  readonly cpus: number;
  readonly pages: number;
  readonly stalls: number;
  readonly hardware: boolean;
  readonly states: number;
  readonly transitions: number;
  readonly uafReachable: boolean | null;
  readonly complete: boolean;
  readonly stopReason: ExploreResult["stopReason"];
  readonly maxStates: number;
  readonly counterexample: {
    readonly length: number;
    readonly steps: readonly { step: number; cpu: number; action: string }[];
    readonly uaf: string;
    readonly replay: NonNullable<ExploreResult["counterexample"]>["replay"];
    readonly traceFile: string | null;
    readonly timelineFile: string | null;
  } | null;
  readonly elapsedMs: number;
}

function output(
  r: ExploreResult,
  traceFile: string | null,
  timelineFile: string | null,
): ExploreOutput {
  const c = r.counterexample;
  return {
    profile: r.profile,
    backend: r.backend,
    scenario: r.scenario,
    cpus: r.cpus,
    pages: r.pages,
    stalls: r.stalls,
    hardware: r.hardware,
    states: r.states,
    transitions: r.transitions,
    uafReachable: r.uafReachable,
    complete: r.complete,
    stopReason: r.stopReason,
    maxStates: r.maxStates,
    counterexample:
      c === null
        ? null
        : {
            length: c.length,
            steps: c.steps.map(({ step, cpu, action }) => ({ step, cpu, action })),
            uaf: uafSentence(c.uaf),
            replay: c.replay,
            traceFile,
            timelineFile,
          },
    elapsedMs: r.elapsedMs,
  };
}

function render(r: ExploreResult, o: ExploreOutput): string {
  const out: string[] = [];
  out.push(
    `${r.scenario} on ${r.profile} with ${r.backend} (${r.cpus} CPUs, ${r.pages} pages, ` +
      `${r.stalls} stall${r.stalls === 1 ? "" : "s"}${r.hardware ? ", page walkers" : ""})`,
  );
  out.push(
    `  states ${r.states}, transitions ${r.transitions} (${r.sleepPruned} pruned by sleep sets), ` +
      `${r.elapsedMs} ms`,
  );
  if (r.stopReason === "max-states")
    out.push(
      `  INCOMPLETE: stopped at the state budget of ${r.maxStates} states (--max-states) with no ` +
        "use-after-free found so far; the answer is unknown",
    );
  else if (r.uafReachable) out.push("  use-after-free: REACHABLE");
  else out.push("  use-after-free: not reachable (every interleaving explored)");
  const c = r.counterexample;
  if (c !== null && o.counterexample !== null) {
    out.push(`  shortest counterexample, ${c.length} steps:`);
    for (const s of c.steps) {
      out.push(`    ${String(s.step).padStart(3)}. ${s.action}`);
      for (const e of s.effects) out.push(`         ${e}`);
    }
    out.push(`  ${o.counterexample.uaf}`);
    if (o.counterexample.traceFile) out.push(`  Chrome trace: ${o.counterexample.traceFile}`);
    if (o.counterexample.timelineFile) out.push(`  timeline: ${o.counterexample.timelineFile}`);
    if (!o.counterexample.traceFile && !o.counterexample.timelineFile)
      out.push("  (--trace-out FILE / --timeline-out FILE write it as a Chrome trace / timeline)");
  }
  return out.join("\n");
}

export const exploreCommand: Command = {
  name: "explore",
  summary: "explore every interleaving of one race scenario: is a use-after-free reachable?",
  usage: [
    `Usage: ${PROGRAM} explore --profile P --backend B --scenario S [--cpus N] [--pages N] [--stalls N] [--max-states N] [--hardware] [--all] [--no-por] [--trace-out FILE] [--timeline-out FILE] [--json]`,
    "",
    "Runs the scenario's kernel paths (munmap on CPU 0, __get_user_pages_fast on CPU 1) over every",
    "distinct interleaving of their steps, with the walker's CPU held at any point, and reports",
    "whether the walker can read a freed page table, with a shortest counterexample.",
    "",
    "Options:",
    `  --profile P       ${PROFILE_NAMES.join(", ")}`,
    `  --backend B       ${BACKEND_NAMES.join(", ")}`,
    `  --scenario S      ${SOFTWARE_WALKER_SCENARIOS.join(", ")}`,
    `  --cpus N          CPUs, 2 … 4 (default ${EXPLORE_DEFAULTS.cpus})`,
    `  --pages N         pages of the buffer, 1 … 8 (default ${EXPLORE_DEFAULTS.pages})`,
    `  --stalls N        times the walker's CPU may be held, 0 … 3 (default ${EXPLORE_DEFAULTS.stalls})`,
    `  --max-states N    state budget, 1 … ${MAX_EXPLORE_STATES} (default ${EXPLORE_DEFAULTS.maxStates}); a larger`,
    "                    scenario stops there with complete: false and exit status 1",
    "  --hardware        the CPUs' page walkers and paging-structure caches too: any CPU with the",
    "                    mm in CR3 may walk it at any step, from its deepest cached entry",
    "  --all             visit every reachable state instead of stopping at the first use-after-free",
    "  --no-por          no partial-order reduction (sleep sets)",
    "  --trace-out FILE  write the counterexample's Chrome trace (Perfetto, chrome://tracing)",
    "  --timeline-out FILE  write its application/vnd.mmulab.timeline+json payload",
    JSON_FLAG_USAGE + " ({states, uafReachable, counterexample, complete, …})",
    "",
    "Exit status: 0 when every interleaving was explored and none reads a freed table; 1 when a",
    "use-after-free is reachable or the state budget ran out first; 2 on a usage error.",
  ].join("\n"),
  run(argv, io) {
    const { values } = parseFlags(argv, {
      ...jsonFlag,
      profile: { type: "string" },
      backend: { type: "string" },
      scenario: { type: "string" },
      cpus: { type: "string" },
      pages: { type: "string" },
      stalls: { type: "string" },
      "max-states": { type: "string" },
      all: { type: "boolean", default: false },
      hardware: { type: "boolean", default: false },
      "no-por": { type: "boolean", default: false },
      "trace-out": { type: "string" },
      "timeline-out": { type: "string" },
    });
    requireFlags(values, ["profile", "backend", "scenario"]);
    const profile = choiceFlag(values.profile, "profile", PROFILE_NAMES)!;
    const backend = choiceFlag(values.backend, "backend", BACKEND_NAMES)!;
    const scenario = choiceFlag(values.scenario, "scenario", SOFTWARE_WALKER_SCENARIOS)!;
    const cpus = intFlag(values.cpus, "cpus", EXPLORE_DEFAULTS.cpus, { min: 2, max: 4 });
    const pages = intFlag(values.pages, "pages", EXPLORE_DEFAULTS.pages, { min: 1, max: 8 });
    const stalls = intFlag(values.stalls, "stalls", EXPLORE_DEFAULTS.stalls, { min: 0, max: 3 });
    const maxStates = intFlag(values["max-states"], "max-states", EXPLORE_DEFAULTS.maxStates, {
      min: 1,
      max: MAX_EXPLORE_STATES,
    });
    const traceOut = outputFileFlag(values["trace-out"], "trace-out");
    const timelineOut = outputFileFlag(values["timeline-out"], "timeline-out");
    // An unknown or impossible profile × backend is a ParameterError or IncompatibleBackendError
    // from explore's own checks, before it runs: the CLI reports both as usage errors.
    const r: ExploreResult = explore({
      profile,
      backend,
      scenario,
      cpus,
      pages,
      stalls,
      maxStates,
      por: !values["no-por"],
      stopAtFirstUaf: !values.all,
      hardware: values.hardware,
    });
    let traceFile: string | null = null;
    let timelineFile: string | null = null;
    if (r.counterexample !== null && (traceOut !== undefined || timelineOut !== undefined)) {
      const views = counterexampleViews(r.counterexample.replay);
      if (traceOut !== undefined) {
        writeFileSync(traceOut, JSON.stringify(views.chromeTrace));
        traceFile = traceOut;
      }
      if (timelineOut !== undefined) {
        writeFileSync(timelineOut, JSON.stringify(views.timeline));
        timelineFile = timelineOut;
      }
    }
    const o = output(r, traceFile, timelineFile);
    if (values.json) io.out(`${JSON.stringify(o, null, 2)}\n`);
    else io.out(`${render(r, o)}\n`);
    if (!r.complete)
      io.err(
        `explore: stopped at the state budget (${r.maxStates} states) before an answer; ` +
          `raise --max-states or shrink the scenario (--cpus, --pages, --stalls)\n`,
      );
    // Like a model checker: 0 only for a proof that no walker reads a freed table.
    return Promise.resolve(r.complete && r.uafReachable === false ? EXIT_OK : EXIT_FAILURE);
  },
};
