/**
 * `npm run fuzz [-- --runs N] [--seed S] [--only NAME] [--case-timeout-s T] [--json]`: runs each
 * fuzzing property of test/fuzz/properties.ts (10,000 cases each by default) and prints cases,
 * time, the slowest case and findings. Exit status 1 when a property found an input that crashed,
 * hung or raised an untyped error; its input and the seed are printed so the run can be replayed.
 *
 * Each property runs in a child process watched from here, because the two failures that matter
 * most cannot be caught from inside: a hang (a synchronous loop never returns to fast-check) and a
 * crash (a V8 fatal error or an out-of-memory kills the process). The child reports each case as
 * it starts; a case still running after --case-timeout-s is a hang, a child that dies without its
 * report is a crash, and either is reported with the input of the case it was running.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { FUZZ_PROPERTIES, type FuzzReport } from "./properties.js";

/** What a child sends: a case starting, or its report at the end. */
type ChildMessage =
  | { readonly kind: "case"; readonly n: number; readonly input: string }
  | { readonly kind: "report"; readonly report: FuzzReport };

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "10000" },
    seed: { type: "string" },
    only: { type: "string", multiple: true },
    "case-timeout-s": { type: "string", default: "60" },
    json: { type: "boolean", default: false },
    child: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
});
if (values.help) {
  process.stdout.write(
    "Usage: npm run fuzz -- [--runs N] [--seed S] [--only cli|system-spec|payloads|guests]\n" +
      "                       [--case-timeout-s T] [--json]\n",
  );
  process.exit(0);
}

function usage(message: string): never {
  process.stderr.write(`fuzz: ${message}\n`);
  process.exit(2);
}

function intOption(name: string, text: string, min: number, max: number): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    usage(`--${name} must be an integer from ${min} to ${max}, got '${text}'`);
  return n;
}

const runs = intOption("runs", values.runs, 1, 10_000_000);
const caseTimeoutS = intOption("case-timeout-s", values["case-timeout-s"], 1, 86_400);
const seed =
  values.seed === undefined
    ? Math.floor(Math.random() * 2 ** 31)
    : intOption("seed", values.seed, 0, 2 ** 31 - 1);

// ------------------------------------------------------------------------------- the child

if (values.child !== undefined) {
  const p = FUZZ_PROPERTIES.find((q) => q.name === values.child);
  if (p === undefined || process.send === undefined) usage(`--child is for the script itself`);
  const send = (m: ChildMessage) => process.send!(m);
  const report = await p.run(runs, seed, (n, input) => send({ kind: "case", n, input }));
  send({ kind: "report", report });
  process.disconnect();
  process.exit(0);
}

// ------------------------------------------------------------------------------ the parent

const chosen = FUZZ_PROPERTIES.filter(
  (p) => values.only === undefined || values.only.includes(p.name),
);
if (chosen.length === 0)
  usage(`--only names none of ${FUZZ_PROPERTIES.map((p) => p.name).join(", ")}`);

/** Runs one property in a child process, watching for a hang or a crash. */
function runWatched(name: string): Promise<FuzzReport> {
  const t0 = performance.now();
  const child = fork(
    fileURLToPath(import.meta.url),
    ["--child", name, "--runs", String(runs), "--seed", String(seed)],
    { stdio: ["ignore", "inherit", "inherit", "ipc"] },
  );
  let last = { n: 0, input: "(before the first case)", at: performance.now() };
  let report: FuzzReport | null = null;
  let hung = false;
  child.on("message", (m: ChildMessage) => {
    if (m.kind === "case") last = { n: m.n, input: m.input, at: performance.now() };
    else report = m.report;
  });
  const watchdog = setInterval(() => {
    if (report === null && performance.now() - last.at > caseTimeoutS * 1000) {
      hung = true;
      child.kill("SIGKILL");
    }
  }, 1000);
  return new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      clearInterval(watchdog);
      if (report !== null && code === 0) return resolve(report);
      const how = hung
        ? `hang: case ${last.n} ran longer than ${caseTimeoutS} s`
        : `crash: the process died (${signal ?? `exit code ${code}`}) in case ${last.n}`;
      resolve({
        name,
        cases: last.n,
        seed,
        ms: Math.round(performance.now() - t0),
        slowestMs: 0,
        slowestInput: "",
        outcomes: {},
        finding: { input: last.input, error: how },
      });
    });
  });
}

const reports: FuzzReport[] = [];
for (const p of chosen) {
  if (!values.json) process.stdout.write(`${p.name}: ${p.description} …\n`);
  const r = await runWatched(p.name);
  reports.push(r);
  if (!values.json) {
    const outcomes = Object.entries(r.outcomes)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${n}`)
      .join(", ");
    process.stdout.write(
      `  ${r.cases} cases in ${(r.ms / 1000).toFixed(1)} s, seed ${r.seed}\n` +
        (outcomes === ""
          ? "" // a child that hung or died sent no statistics
          : `  slowest case ${r.slowestMs} ms: ${r.slowestInput}\n  outcomes: ${outcomes}\n`) +
        (r.finding === null
          ? "  findings: none\n"
          : `  FINDING: ${r.finding.error}\n  input: ${r.finding.input}\n`),
    );
  }
}
if (values.json) process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
process.exit(reports.some((r) => r.finding !== null) ? 1 : 0);
