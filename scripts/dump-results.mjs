#!/usr/bin/env node
// Dumps the simulation results a refactoring must not change, to compare byte for byte before
// and after it (a refactoring's acceptance): the race matrix and its examples' timelines, the
// seed table, a small fixed sweep's rows and the explorer's verdict on every profile × backend ×
// scenario. Wall-clock fields (elapsedMs and the like) are dropped; everything else is written as
// the library returns it.
//
//   node scripts/dump-results.mjs OUT_DIR      (then: diff -r OLD_DIR NEW_DIR)
//
// Runs the built kernel (npm run build first). Takes a few minutes on a loaded machine.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const out = process.argv[2];
if (out === undefined) {
  process.stderr.write("usage: node scripts/dump-results.mjs OUT_DIR\n");
  process.exit(2);
}
const dir = resolve(out);
mkdirSync(dir, { recursive: true });

const lib = {
  ...(await import("../kernel/dist/index.js")),
  ...(await import("../kernel/dist/notebook-entry.js")),
};
const { BACKEND_NAMES, PROFILE_NAMES, SCENARIO_NAMES } = lib;

/**
 * JSON without wall-clock fields.
 * @param {unknown} value
 */
function stable(value) {
  return (
    JSON.stringify(
      value,
      (k, v) => (/^(elapsedMs|wallMs|durationMs|startedAt|finishedAt|ms)$/.test(k) ? undefined : v),
      1,
    ) + "\n"
  );
}

/** @param {string} name @param {unknown} value */
function write(name, value) {
  writeFileSync(join(dir, name), stable(value));
  process.stdout.write(`${name}\n`);
}

// 1. The race matrix: every cell, 10 trials each (trial i uses seed 1 + i); and the timeline
// payload of each cell's example, which views/ builds from it.
{
  const m = lib.runRaceMatrix({ trials: 10, seed: 1 });
  write("race-matrix.json", m);
  write(
    "race-example-timelines.json",
    m.cells.flatMap((c) => (c.example ? [lib.raceExampleTimeline(c.example)] : [])),
  );
}

// 2. The seed table: both hosts, one run per cell, a tenth of a build, two build processes.
write("seed-table.json", await lib.runSeedTable({ runs: 1, seed: 1, scale: 0.1, workers: 2 }));

// 3. A small fixed sweep of race trials, inline (the rows do not depend on the worker count).
{
  const r = await lib.runSweep(
    {
      run: "race-trial",
      params: {
        profile: ["v4.13", "v4.14", "v6.1"],
        backend: ["native", "xen-pv"],
      },
      fixed: { scenario: "walker-vs-munmap" },
      seeds: 3,
      seed: 7,
    },
    { workers: 0 },
  );
  write("sweep-rows.json", lib.sortRows(r.rows));
}

// 4. The explorer's verdict on every profile × backend × scenario (refused pairs as the error).
{
  const verdicts = [];
  for (const profile of PROFILE_NAMES)
    for (const backend of BACKEND_NAMES)
      for (const scenario of SCENARIO_NAMES) {
        try {
          const r = lib.explore({ profile, backend, scenario });
          verdicts.push({
            profile,
            backend,
            scenario,
            states: r.states,
            transitions: r.transitions,
            uafReachable: r.uafReachable,
            complete: r.complete,
            stopReason: r.stopReason,
            counterexample:
              r.counterexample === null
                ? null
                : {
                    length: r.counterexample.length,
                    steps: r.counterexample.steps.map(({ step, cpu, action }) => ({
                      step,
                      cpu,
                      action,
                    })),
                    replay: r.counterexample.replay,
                  },
          });
        } catch (e) {
          const err = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
          verdicts.push({ profile, backend, scenario, error: err });
        }
      }
  write("explore-verdicts.json", verdicts);
}
await lib.closeSweepPools?.();
