/**
 * `npm run fuzz [-- --runs N] [--seed S] [--only NAME] [--json]`: runs each fuzzing property of
 * test/fuzz/properties.ts (10,000 cases each by default) and prints cases, time, the slowest case
 * and findings. Exit status 1 when a property found an input that crashed, hung or raised an
 * untyped error; its counterexample and seed are printed so the run can be replayed.
 */
import { parseArgs } from "node:util";
import { FUZZ_PROPERTIES, type FuzzReport } from "./properties.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "10000" },
    seed: { type: "string" },
    only: { type: "string", multiple: true },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
});
if (values.help) {
  process.stdout.write(
    "Usage: npm run fuzz -- [--runs N] [--seed S] [--only cli|system-spec|payloads] [--json]\n",
  );
  process.exit(0);
}
const runs = Number(values.runs);
if (!/^\d+$/.test(values.runs) || runs < 1 || runs > 10_000_000) {
  process.stderr.write(
    `fuzz: --runs must be an integer from 1 to 10000000, got '${values.runs}'\n`,
  );
  process.exit(2);
}
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
if (!Number.isSafeInteger(seed)) {
  process.stderr.write(`fuzz: --seed must be an integer, got '${values.seed}'\n`);
  process.exit(2);
}
const chosen = FUZZ_PROPERTIES.filter(
  (p) => values.only === undefined || values.only.includes(p.name),
);
if (chosen.length === 0) {
  process.stderr.write(
    `fuzz: --only names none of ${FUZZ_PROPERTIES.map((p) => p.name).join(", ")}\n`,
  );
  process.exit(2);
}

const reports: FuzzReport[] = [];
for (const p of chosen) {
  if (!values.json) process.stdout.write(`${p.name}: ${p.description} …\n`);
  const r = await p.run(runs, seed);
  reports.push(r);
  if (!values.json) {
    const outcomes = Object.entries(r.outcomes)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${n}`)
      .join(", ");
    process.stdout.write(
      `  ${r.cases} cases in ${(r.ms / 1000).toFixed(1)} s, seed ${r.seed}\n` +
        `  slowest case ${r.slowestMs} ms: ${r.slowestInput}\n` +
        `  outcomes: ${outcomes}\n` +
        (r.finding === null
          ? "  findings: none\n"
          : `  FINDING: ${r.finding.error}\n  input: ${r.finding.input}\n`),
    );
  }
}
if (values.json) process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
process.exit(reports.some((r) => r.finding !== null) ? 1 : 0);
