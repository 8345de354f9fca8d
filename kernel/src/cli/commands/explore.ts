/** `mmulab explore`: every interleaving of one race-matrix cell's scenario, exhaustively. */
import { writeFileSync } from "node:fs";
import { BACKEND_NAMES, IncompatibleBackendError, PROFILE_NAMES } from "../../config/profiles.js";
import { SCENARIO_NAMES } from "../../experiments/scenarios.js";
import { explore, type ExploreResult } from "../../explore/explorer.js";
import { EXPLORE_DEFAULTS } from "../../explore/options.js";
import { counterexampleViews } from "../../explore/views.js";
import { ParameterError } from "../../sim/errors.js";
import { intFlag, JSON_FLAG_USAGE, jsonFlag, parseFlags } from "../args.js";
import { PROGRAM } from "../cli.js";
import { EXIT_FAILURE, EXIT_OK, UsageError, type Command } from "../command.js";

/** What `--json` prints. */
export interface ExploreOutput {
  readonly profile: string;
  readonly backend: string;
  readonly scenario: string;
  readonly cpus: number;
  readonly pages: number;
  readonly stalls: number;
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
            uaf: `${c.uaf.walker} on cpu${c.uaf.cpu} read the ${c.uaf.level} table in frame ${c.uaf.pfn} (${c.uaf.kind}) at ${c.uaf.addr}`,
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
      `${r.stalls} stall${r.stalls === 1 ? "" : "s"})`,
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
    `Usage: ${PROGRAM} explore --profile P --backend B --scenario S [--cpus N] [--pages N] [--stalls N] [--max-states N] [--all] [--no-por] [--trace-out FILE] [--timeline-out FILE] [--json]`,
    "",
    "Runs the scenario's kernel paths (munmap on CPU 0, __get_user_pages_fast on CPU 1) over every",
    "distinct interleaving of their steps, with the walker's CPU held at any point, and reports",
    "whether the walker can read a freed page table, with a shortest counterexample.",
    "",
    "Options:",
    `  --profile P       ${PROFILE_NAMES.join(", ")}`,
    `  --backend B       ${BACKEND_NAMES.join(", ")}`,
    `  --scenario S      ${SCENARIO_NAMES.join(", ")}`,
    `  --cpus N          CPUs, 2 … 4 (default ${EXPLORE_DEFAULTS.cpus})`,
    `  --pages N         pages of the buffer, 1 … 8 (default ${EXPLORE_DEFAULTS.pages})`,
    `  --stalls N        times the walker's CPU may be held, 0 … 3 (default ${EXPLORE_DEFAULTS.stalls})`,
    `  --max-states N    state budget (default ${EXPLORE_DEFAULTS.maxStates}); a larger scenario stops`,
    "                    there with complete: false and exit status 1",
    "  --all             visit every reachable state instead of stopping at the first use-after-free",
    "  --no-por          no partial-order reduction (sleep sets)",
    "  --trace-out FILE  write the counterexample's Chrome trace (Perfetto, chrome://tracing)",
    "  --timeline-out FILE  write its application/vnd.mmulab.timeline+json payload",
    JSON_FLAG_USAGE + " ({states, uafReachable, counterexample, complete, …})",
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
      "no-por": { type: "boolean", default: false },
      "trace-out": { type: "string" },
      "timeline-out": { type: "string" },
    });
    for (const flag of ["profile", "backend", "scenario"] as const)
      if (values[flag] === undefined) throw new UsageError(`option '--${flag}' is required`);
    let r: ExploreResult;
    try {
      r = explore({
        profile: values.profile!,
        backend: values.backend!,
        scenario: values.scenario!,
        cpus: intFlag(values.cpus, "cpus", EXPLORE_DEFAULTS.cpus, { min: 2, max: 4 }),
        pages: intFlag(values.pages, "pages", EXPLORE_DEFAULTS.pages, { min: 1, max: 8 }),
        stalls: intFlag(values.stalls, "stalls", EXPLORE_DEFAULTS.stalls, { min: 0, max: 3 }),
        maxStates: intFlag(values["max-states"], "max-states", EXPLORE_DEFAULTS.maxStates, {
          min: 1,
          max: 10_000_000,
        }),
        por: !values["no-por"],
        stopAtFirstUaf: !values.all,
      });
    } catch (e) {
      // an unknown profile, backend or scenario, or one the profile cannot have: bad input
      if (e instanceof ParameterError || e instanceof IncompatibleBackendError)
        throw new UsageError(e.message);
      throw e;
    }
    let traceFile: string | null = null;
    let timelineFile: string | null = null;
    if (r.counterexample !== null && (values["trace-out"] || values["timeline-out"])) {
      const views = counterexampleViews(r.counterexample.replay);
      if (values["trace-out"]) {
        writeFileSync(values["trace-out"], JSON.stringify(views.chromeTrace));
        traceFile = values["trace-out"];
      }
      if (values["timeline-out"]) {
        writeFileSync(values["timeline-out"], JSON.stringify(views.timeline));
        timelineFile = values["timeline-out"];
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
    return Promise.resolve(r.complete ? EXIT_OK : EXIT_FAILURE);
  },
};
