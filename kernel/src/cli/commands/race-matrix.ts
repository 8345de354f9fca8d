/** `mmulab race-matrix`: profiles × backends × scenarios, seeded trials, use-after-free counts. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BACKEND_NAMES, MATRIX_PROFILES, PROFILE_NAMES } from "../../config/profiles.js";
import { formatRaceMatrix, MAX_TRIALS, runRaceMatrix } from "../../experiments/race-matrix.js";
import { SCENARIO_NAMES } from "../../experiments/scenarios.js";
import { raceExampleTimeline } from "../../views/race-matrix.js";
import {
  intFlag,
  JSON_FLAG_USAGE,
  jsonFlag,
  listFlag,
  outputDirFlag,
  parseFlags,
} from "../args.js";
import { PROGRAM } from "../cli.js";
import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";

export const raceMatrixCommand: Command = {
  name: "race-matrix",
  summary: "count use-after-free trials for every kernel profile × flush backend × scenario",
  usage: [
    `Usage: ${PROGRAM} race-matrix [--profiles P,…] [--backends B,…] [--scenarios S,…] [--trials N] [--seed S] [--no-hardware] [--bare-metal] [--examples DIR] [--json]`,
    "",
    "Runs seeded trials of each scenario for each profile and backend and counts the trials in",
    "which freed memory was read: by a lockless software walker (gup_fast), by a CPU's own page",
    "walker through its paging-structure caches, or through a stale TLB entry. Trial i of every",
    "cell uses seed S + i.",
    "",
    "Options:",
    `  --profiles P,…    ${PROFILE_NAMES.join(", ")} (default: ${MATRIX_PROFILES.join(", ")})`,
    `  --backends B,…    ${BACKEND_NAMES.join(", ")} (default: all)`,
    `  --scenarios S,…   ${SCENARIO_NAMES.join(", ")} (default: all)`,
    "  --trials N        trials per cell (default 40)",
    "  --seed S          seed of trial 0 (default 1)",
    "  --no-hardware     leave out the CPUs' page walkers and TLBs (software walkers only)",
    "  --bare-metal      CONFIG_PARAVIRT=n (default: y, as distribution kernels; paravirt",
    "                    backends are then not available)",
    "  --examples DIR    write each cell's example trace (Chrome JSON) and timeline there",
    JSON_FLAG_USAGE +
      " (an array of {profile, backend, scenario, trials, uaf, readers, config}; readers counts trials per kind of reader: software, hwWalker, staleTlb; config is {rcuTableFree, paravirt, hardware})",
  ].join("\n"),
  run(argv, io) {
    const { values } = parseFlags(argv, {
      ...jsonFlag,
      profiles: { type: "string" },
      backends: { type: "string" },
      scenarios: { type: "string" },
      trials: { type: "string" },
      seed: { type: "string" },
      examples: { type: "string" },
      "no-hardware": { type: "boolean", default: false },
      "bare-metal": { type: "boolean", default: false },
    });
    const profiles = listFlag(values.profiles, "profiles", PROFILE_NAMES);
    const backends = listFlag(values.backends, "backends", BACKEND_NAMES);
    const scenarios = listFlag(values.scenarios, "scenarios", SCENARIO_NAMES);
    const trials = intFlag(values.trials, "trials", 40, { min: 1, max: MAX_TRIALS });
    const seed = intFlag(values.seed, "seed", 1, { min: 0, max: 2 ** 32 - 1 - trials });
    // last of the flags: it makes the directory
    const examples = outputDirFlag(values.examples, "examples");
    const m = runRaceMatrix({
      ...(profiles ? { profiles } : {}),
      ...(backends ? { backends } : {}),
      ...(scenarios ? { scenarios } : {}),
      trials,
      seed,
      examples: examples !== undefined,
      hardware: values["no-hardware"] !== true,
      paravirt: values["bare-metal"] !== true,
    });
    if (examples !== undefined) {
      for (const c of m.cells) {
        if (!c.example) continue;
        const base = join(examples, `${c.scenario}_${c.profile}_${c.backend}`);
        writeFileSync(`${base}.trace.json`, JSON.stringify(c.example.chromeTrace));
        writeFileSync(`${base}.timeline.json`, JSON.stringify(raceExampleTimeline(c.example)));
      }
    }
    if (values.json) {
      const cells = m.cells.map((c) => ({
        profile: c.profile,
        backend: c.backend,
        scenario: c.scenario,
        trials: c.trials,
        uaf: c.uaf,
        readers: c.readers,
        config: { rcuTableFree: c.rcuTableFree, paravirt: c.paravirt, hardware: c.hardware },
      }));
      io.out(`${JSON.stringify(cells, null, 2)}\n`);
    } else io.out(`${formatRaceMatrix(m)}\n`);
    return Promise.resolve(EXIT_OK);
  },
};
