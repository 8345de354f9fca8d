/**
 * Fuzzing properties: the CLI's argument parser, the system spec (`buildSystem` and a
 * race trial built from it) and the payload checks, each as a fast-check property. The property
 * is always the same: whatever the input, the answer is a result or a typed error — a
 * `MmulabError` (UsageError and ParameterError included) or a `PayloadError` — never a crash, a
 * hang or an untyped error.
 *
 * No case can hang by construction: the generators mix hostile values (refused before any work)
 * with valid ones from small ranges (a race trial on a few CPUs, builds at scale 0.001, a 1–2 ms
 * workload, a grid of a few points on no worker threads), and every size has a ceiling checked
 * first. Each run records its slowest case, so a generator that drifts into long runs shows.
 *
 * The suite runs a few hundred cases of each (test/fuzz/fuzz.test.ts); `npm run fuzz` runs
 * 10,000 or more (test/fuzz/run.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { runCli } from "../../kernel/src/cli/cli.js";
import type { CliIO } from "../../kernel/src/cli/command.js";
import { commands } from "../../kernel/src/cli/commands.js";
import { BACKEND_NAMES, PROFILE_NAMES } from "../../kernel/src/config/profiles.js";
import { pageTablesBundle } from "../../kernel/src/display/pagetable.js";
import { plotBundle } from "../../kernel/src/display/plot.js";
import { timelineBundle } from "../../kernel/src/display/timeline.js";
import { toMimeBundle } from "../../kernel/src/display/mime.js";
import {
  checkPageTablePayload,
  checkPlotPayload,
  checkTimelinePayload,
  PayloadError,
} from "../../kernel/src/contract/payload.js";
import { SCENARIO_NAMES, runTrial } from "../../kernel/src/experiments/scenarios.js";
import { buildSystem } from "../../kernel/src/system/build.js";
import { parseHostSpec } from "../../kernel/src/system/host.js";
import { runSpec, systemSpecArb } from "./guests.js";
import { DEFAULT_COSTS } from "../../kernel/src/hw/costs.js";
import { MmulabError } from "../../kernel/src/sim/errors.js";
import { HOST_NAMES } from "../../kernel/src/workloads/hosts.js";
import { MICRO_WORKLOADS } from "../../kernel/src/workloads/micro.js";
import { parsePageTable } from "../../lab-extension/src/pagetable-model.js";
import { PayloadError as RendererPayloadError } from "../../lab-extension/src/payload.js";
import { parsePlot } from "../../lab-extension/src/plot-figure.js";
import { parseTimeline } from "../../lab-extension/src/timeline-figure.js";
import {
  makePageTable,
  makePlot,
  makeTimeline,
  TREE_SMALL,
} from "../../lab-extension/test/fixtures.js";

/** What one fuzzing run found. */
export interface FuzzReport {
  readonly name: string;
  readonly cases: number;
  readonly seed: number;
  readonly ms: number;
  /** The slowest single case, ms, and what it was. */
  readonly slowestMs: number;
  readonly slowestInput: string;
  /** How the cases ended, by kind ("ok", "UsageError", "exit 2", …). */
  readonly outcomes: Readonly<Record<string, number>>;
  /** null when nothing was found; else the shrunk counterexample and the error. */
  readonly finding: { readonly input: string; readonly error: string } | null;
}

/**
 * Called as each case starts, with its number (from 1; shrinking after a failure goes on
 * counting) and its input as text: what the fuzzing script's watchdog reports if that case
 * never ends.
 */
export type OnCase = (n: number, input: string) => void;

export interface FuzzProperty {
  readonly name: string;
  readonly description: string;
  run(numRuns: number, seed: number, onCase?: OnCase): Promise<FuzzReport>;
}

/** A failure of the property (not an input the code refused). */
class Finding extends Error {}

function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`.slice(0, 500);
  return String(e).slice(0, 500);
}

/** Runs `prop` and turns fast-check's details into a report. */
async function report<Ts>(
  name: string,
  prop: fc.IAsyncProperty<Ts> | fc.IProperty<Ts>,
  numRuns: number,
  seed: number,
  stats: Stats,
): Promise<FuzzReport> {
  const t0 = performance.now();
  const details = await fc.check(prop as fc.IAsyncProperty<Ts>, { numRuns, seed });
  const ms = performance.now() - t0;
  return {
    name,
    cases: details.numRuns,
    seed,
    ms: Math.round(ms),
    slowestMs: Math.round(stats.slowestMs),
    slowestInput: stats.slowestInput,
    outcomes: stats.outcomes,
    finding: details.failed
      ? {
          input: fc.stringify(details.counterexample).slice(0, 2000),
          error: describeError(details.errorInstance),
        }
      : null,
  };
}

interface Stats {
  slowestMs: number;
  slowestInput: string;
  readonly outcomes: Record<string, number>;
  cases: number;
  readonly onCase: OnCase | undefined;
}

function newStats(onCase: OnCase | undefined): Stats {
  return { slowestMs: 0, slowestInput: "", outcomes: {}, cases: 0, onCase };
}

/**
 * A copy of `v` cut at `depth` levels and 20 entries a level, for printing: the payloads nest
 * thousands deep (and cycle), which overflows fc.stringify's recursion, and an overflow is slow
 * under vitest, which maps every frame of the stack. Maps, dates, typed arrays … stay as they are.
 */
function clip(v: unknown, depth: number): unknown {
  if (v === null || typeof v !== "object") return v;
  const proto: unknown = Object.getPrototypeOf(v);
  if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) return v;
  if (depth === 0) return Array.isArray(v) ? "[…]" : "{…}";
  if (Array.isArray(v)) return v.slice(0, 20).map((x) => clip(x, depth - 1));
  const out = Object.create(proto as object | null) as Record<string, unknown>;
  for (const k of Object.keys(v).slice(0, 20))
    Object.defineProperty(out, k, {
      value: clip((v as Record<string, unknown>)[k], depth - 1),
      enumerable: true,
    });
  return out;
}

/** Input as text, short and never throwing. */
function show(input: unknown): string {
  try {
    return fc.stringify(clip(input, 8)).slice(0, 2000);
  } catch (e) {
    return `(unprintable: ${describeError(e)})`;
  }
}

/** A case starts: tells the watchdog, if there is one, and returns the start time. */
function started(stats: Stats, input: unknown): number {
  stats.cases++;
  if (stats.onCase !== undefined) stats.onCase(stats.cases, show(input));
  return performance.now();
}

/** Records a case's time; the slowest is kept with its input. */
function timed(stats: Stats, t0: number, input: unknown): void {
  const ms = performance.now() - t0;
  if (ms > stats.slowestMs) {
    stats.slowestMs = ms;
    stats.slowestInput = show(input);
  }
}

function count(stats: { outcomes: Record<string, number> }, kind: string): void {
  stats.outcomes[kind] = (stats.outcomes[kind] ?? 0) + 1;
}

// ------------------------------------------------------------------------------------- CLI

/** Numbers as people (and attackers) type them; none of the hostile ones is a decimal integer. */
const HOSTILE_NUMBERS = [
  "-1",
  "-0",
  "0x10",
  "1e3",
  " 7 ",
  "+7",
  "7.0",
  "",
  "NaN",
  "Infinity",
  "-Infinity",
  "1_000",
  "0b11",
  "٣",
  "9007199254740993",
  "-9007199254740993",
  "99999999999999999999999",
  "1e-400",
  "--1",
  "7abc",
  "\u00a07",
];
const HOSTILE_NAMES = [
  "",
  "toString",
  "__proto__",
  "constructor",
  "hasOwnProperty",
  "V4.13",
  " v4.13",
  "v4.13 ",
  "../..",
  "..",
  ".",
  "a,b",
  "<script>",
  "\u0000",
  "native\n",
];

/**
 * A number for a flag: mostly valid from a small range (so a valid run stays short) or hostile;
 * now and then any integer, which probes the ceilings (a large valid one costs at most what its
 * ceiling allows: about a second for `demo --pages 262144`).
 */
function num(min: number, max: number): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min, max }).map(String) },
    { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_NUMBERS) },
    { weight: 1, arbitrary: fc.integer({ min: -1_000_000, max: 2 ** 40 }).map(String) },
  );
}

function name(valid: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...valid) },
    { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_NAMES) },
    { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  );
}

function list(valid: readonly string[]): fc.Arbitrary<string> {
  return fc.array(name(valid), { minLength: 0, maxLength: 4 }).map((xs) => xs.join(","));
}

/** Scratch paths: writable ones inside `dir`, and each way a path can be unwritable. */
function paths(dir: string): fc.Arbitrary<string> {
  return fc.constantFrom(
    join(dir, "out.json"),
    join(dir, "sub", "deeper", "out.json"),
    join(dir, "a-file", "x.json"),
    join(dir, "missing", "x.json"),
    dir,
    "",
    "/proc/version",
    "/",
  );
}

type FlagGen = Readonly<Record<string, fc.Arbitrary<string> | "boolean">>;

/**
 * One command line of `command`: a subset of its flags with generated values, in any order and
 * either spelling (`--f v` or `--f=v`), with an unknown flag, a stray word, `--json` or `--debug`
 * now and then.
 */
function commandLine(command: string, flags: FlagGen): fc.Arbitrary<string[]> {
  const entries = Object.entries(flags);
  return fc
    .record({
      chosen: fc.shuffledSubarray(entries),
      inline: fc.array(fc.boolean(), { minLength: entries.length, maxLength: entries.length }),
      generated: fc.tuple(...entries.map(([, g]) => (g === "boolean" ? fc.constant("") : g))),
      extra: fc.oneof(
        { weight: 6, arbitrary: fc.constant<string[]>([]) },
        { weight: 1, arbitrary: fc.constant(["--frobnicate"]) },
        { weight: 1, arbitrary: fc.constant(["stray"]) },
        { weight: 1, arbitrary: fc.constant(["--json"]) },
        { weight: 1, arbitrary: fc.constant(["--debug"]) },
        { weight: 1, arbitrary: fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }) },
      ),
    })
    .map(({ chosen, inline, generated, extra }) => {
      const argv = [command];
      for (const [flag, gen] of chosen) {
        const i = entries.findIndex(([f]) => f === flag);
        if (gen === "boolean") argv.push(`--${flag}`);
        else if (inline[i]) argv.push(`--${flag}=${generated[i]!}`);
        else argv.push(`--${flag}`, generated[i]!);
      }
      return [...argv, ...extra];
    });
}

/** A small valid sweep space, or a hostile one. */
function paramSpace(): fc.Arbitrary<string> {
  const pname = fc.oneof(
    fc.constantFrom("x", "y", "nrCpus", "profile"),
    fc.constantFrom(...HOSTILE_NAMES),
  );
  const space = fc.oneof(
    fc
      .array(
        fc.oneof(
          fc.integer({ min: -3, max: 3 }).map(String),
          fc.constantFrom("a", "b", "true", "v4.13"),
          fc.constantFrom(...HOSTILE_NUMBERS),
        ),
        { maxLength: 3 },
      )
      .map((v) => v.join(",")),
    fc
      .tuple(num(-2, 3), num(0, 4), fc.option(num(1, 3)))
      .map(([a, b, s]) => `int:${a}..${b}${s === null ? "" : `:${s}`}`),
    fc
      .tuple(num(1, 2), num(2, 3), fc.option(num(1, 3)), fc.boolean())
      .map(([a, b, s, log]) => `float:${a}..${b}${s === null ? "" : `:${s}`}${log ? ":log" : ""}`),
    fc.constantFrom(
      "int:0..1000000000",
      "float:0..1:1000000000",
      "int:1..1000",
      "int:a..b",
      "float:1..2:3:lin",
      "x",
    ),
  );
  return fc.tuple(pname, space).map(([n, s]) => `${n}=${s}`);
}

/** Command lines for every command whose valid runs are short; see the module comment. */
function cliArgv(dir: string): fc.Arbitrary<string[]> {
  const path = paths(dir);
  const seed = num(0, 5);
  const perCommand: fc.Arbitrary<string[]>[] = [
    commandLine("demo", {
      seed,
      "irq-off-ns": num(0, 50_000),
      pages: num(1, 32),
      "trace-out": path,
      json: "boolean",
    }),
    commandLine("race-matrix", {
      profiles: list(PROFILE_NAMES),
      backends: list(BACKEND_NAMES),
      scenarios: list(SCENARIO_NAMES),
      trials: num(1, 2),
      seed,
      examples: path,
      json: "boolean",
    }).map((argv) =>
      // the default is 40 trials of 120 cells
      argv.some((a) => a.startsWith("--trials")) ? argv : [...argv, "--trials", "1"],
    ),
    // builds at scale 0.001 on no build processes: well under a second even for the whole table
    commandLine("kernbench", {
      host: name(HOST_NAMES),
      jobs: num(1, 8),
      "rcu-table-free": name(["on", "off", "no-shortcut", "rcu", "current"]),
      runs: num(1, 1),
      seed,
      workers: fc.constantFrom("0", ...HOSTILE_NUMBERS),
      scale: fc.constantFrom("0.001", "0", "2", "-0.5", "0x1", "1e-3", "NaN", ""),
      "seed-table": "boolean",
      json: "boolean",
    }).map((argv) => [
      ...argv,
      // the defaults are the real table: five full builds a cell on every core
      ...(argv.some((a) => a.startsWith("--scale")) ? [] : ["--scale", "0.001"]),
      ...(argv.some((a) => a.startsWith("--runs")) ? [] : ["--runs", "1"]),
      ...(argv.some((a) => a.startsWith("--workers")) ? [] : ["--workers", "0"]),
    ]),
    commandLine("workload", {
      name: name(MICRO_WORKLOADS),
      profile: name(PROFILE_NAMES),
      backend: name(BACKEND_NAMES),
      threads: num(1, 4),
      cpus: num(1, 4),
      pcpus: num(1, 4),
      "other-vcpus": num(0, 2),
      "duration-ms": num(1, 2),
      seed,
      json: "boolean",
    }).map((argv) =>
      argv.some((a) => a.startsWith("--duration-ms")) ? argv : [...argv, "--duration-ms", "1"],
    ),
    commandLine("explore", {
      profile: name(PROFILE_NAMES),
      backend: name(BACKEND_NAMES),
      scenario: name(SCENARIO_NAMES),
      cpus: num(2, 3),
      pages: num(1, 2),
      stalls: num(0, 1),
      "max-states": num(1, 3000),
      all: "boolean",
      "no-por": "boolean",
      "trace-out": path,
      "timeline-out": path,
      json: "boolean",
    }).map((argv) =>
      argv.some((a) => a.startsWith("--max-states")) ? argv : [...argv, "--max-states", "3000"],
    ),
    // inline (--workers 0), a few points; Redis URLs only ever unparseable (a valid one connects)
    fc
      .record({
        head: commandLine("sweep", {
          run: name(["synthetic", "race-trial", "ipi-shootdown"]),
          seeds: num(1, 2),
          seed,
          random: num(1, 3),
          redis: fc.constantFrom(
            "http://h",
            "redis://",
            "redis://h:99999",
            "redis://h/99",
            "",
            "nope",
          ),
          csv: path,
          metric: name(["f", "h", "uaf", "waitNs"]),
          json: "boolean",
        }),
        params: fc.array(paramSpace(), { maxLength: 3 }),
        fixed: fc.array(
          fc.tuple(
            fc.constantFrom("x", "stallNs", "__proto__", ""),
            fc.constantFrom("1", "0x10", "v4.13", "", " 7 "),
          ),
          { maxLength: 2 },
        ),
      })
      .map(({ head, params, fixed }) => [
        ...head,
        ...params.flatMap((p) => ["--param", p]),
        ...fixed.flatMap(([k, v]) => ["--fixed", `${k}=${v}`]),
        ...(head.some((a) => a.startsWith("--redis")) ? [] : ["--workers", "0"]),
      ]),
    // the kernelspec only ever in the scratch directory; never --user, never `start`
    fc
      .tuple(
        fc.constantFrom("install", "uninstall", "spec", "frob", ""),
        name(["mmulab", "other", "a.b-c_d"]),
        fc.constantFrom("data-dir", "prefix"),
        fc.boolean(),
      )
      .map(([sub, n, where, json]) => [
        "kernel",
        sub,
        `--${where}`,
        join(dir, "jupyter"),
        "--name",
        n,
        ...(json ? ["--json"] : []),
      ]),
    fc
      .tuple(
        fc.array(
          fc.oneof(fc.constantFrom(...commands.map((c) => c.name)), fc.string({ maxLength: 6 })),
          { maxLength: 2 },
        ),
        fc.boolean(),
      )
      .map(([words, json]) => ["help", ...words, ...(json ? ["--json"] : [])]),
    // anything at all, most of it an unknown command or option
    fc
      .array(fc.string({ maxLength: 10 }), { maxLength: 5 })
      .filter((a) => !["sweep-worker", "kernel"].includes(a[0] ?? "")),
  ];
  return fc.oneof(...perCommand);
}

function captureIO(): CliIO & {
  out: (t: string) => void;
  stdout: () => string;
  stderr: () => string;
} {
  let out = "";
  let err = "";
  return {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    stdout: () => out,
    stderr: () => err,
  };
}

const cliProperty: FuzzProperty = {
  name: "cli",
  description: "mmulab's command lines: exit 0, 1 or 2, errors typed and named, no stack trace",
  async run(numRuns, seed, onCase) {
    const dir = mkdtempSync(join(tmpdir(), "mmulab-fuzz-cli-"));
    writeFileSync(join(dir, "a-file"), "x");
    mkdirSync(join(dir, "sub"));
    const stats = newStats(onCase);
    const prop = fc.asyncProperty(cliArgv(dir), async (argv) => {
      const io = captureIO();
      const t0 = started(stats, argv);
      let code: number;
      try {
        code = await runCli(argv, io, commands);
      } catch (e) {
        throw new Finding(`runCli rejected: ${describeError(e)}`);
      } finally {
        timed(stats, t0, argv);
      }
      count(stats, `exit ${code}`);
      if (![0, 1, 2].includes(code)) throw new Finding(`exit status ${code}`);
      const text = io.stdout() + io.stderr();
      if (text.includes("internal error")) throw new Finding(`an untyped error: ${io.stderr()}`);
      // global flags count only before a `--` (after it they are operands)
      const head = argv.slice(0, argv.includes("--") ? argv.indexOf("--") : undefined);
      const debug = head.includes("--debug");
      if (!debug && /\n\s+at .+:\d+:\d+\)?\n/.test(text))
        throw new Finding("a stack trace without --debug");
      if (code === 2) {
        const json = head.includes("--json");
        if (json) {
          const body = JSON.parse(io.stdout()) as { error?: { type?: unknown; message?: unknown } };
          if (typeof body.error?.type !== "string" || typeof body.error.message !== "string")
            throw new Finding(
              `--json usage error without {error: {type, message}}: ${io.stdout()}`,
            );
        } else if (io.stderr() === "") throw new Finding("a usage error with nothing on stderr");
      }
    });
    try {
      return await report("cli", prop, numRuns, seed, stats);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

// ----------------------------------------------------------------------------- system spec

/** A value of any type at all (null, arrays, objects, numbers of every kind, strings …). */
const junk = fc.oneof(
  fc.constantFrom(
    null,
    undefined,
    NaN,
    Infinity,
    -Infinity,
    -0,
    1e300,
    -1,
    2.5,
    "4",
    "",
    true,
    [],
    {},
    () => 1,
  ),
  fc.anything({ maxDepth: 2 }),
);

const costKeys = Object.keys(DEFAULT_COSTS);

/** Each field of buildSystem's options: [valid values, kept small; values it must refuse]. */
const systemFields: Record<string, [fc.Arbitrary<unknown>, fc.Arbitrary<unknown>]> = {
  profile: [fc.constantFrom(...PROFILE_NAMES), fc.constantFrom(...HOSTILE_NAMES, 4)],
  backend: [fc.constantFrom(...BACKEND_NAMES), fc.constantFrom(...HOSTILE_NAMES, null)],
  nrCpus: [fc.integer({ min: 2, max: 6 }), fc.constantFrom(0, -1, 1.5, 1e9, NaN, "4")],
  seed: [fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.constantFrom(2 ** 32, -1, 0.5, "1")],
  hz: [fc.constantFrom(100, 250, 300, 1000), fc.constantFrom(0, 1e9, 300.5, -100)],
  levels: [fc.constantFrom(4, 5), fc.constantFrom(3, 6, "4")],
  costs: [
    fc.dictionary(fc.constantFrom(...costKeys), fc.integer({ min: 0, max: 1000 }), {
      maxKeys: 3,
    }),
    fc.oneof(
      fc.constantFrom(5, "x", [], null),
      fc.dictionary(
        fc.constantFrom(...HOSTILE_NAMES, "ipiSendNS"),
        fc.integer({ min: 0, max: 9 }),
        { minKeys: 1, maxKeys: 2 },
      ),
      fc.record({ ipiSendNs: fc.constantFrom(-1, 0.5, 2e9, NaN, Infinity) }),
    ),
  ],
  host: [
    fc.record(
      {
        pcpus: fc.integer({ min: 1, max: 4 }),
        otherVcpus: fc.integer({ min: 0, max: 3 }),
        latencyNs: fc.constantFrom(100_000, 1_000_000, 6_000_000),
        minGranularityNs: fc.constantFrom(10_000, 100_000, 750_000),
      },
      { requiredKeys: [] },
    ),
    fc.constantFrom(null, 4, { pcpus: 0 }, { otherVcpus: 1e9 }, { latencyNs: 999 }, { pCpus: 2 }),
  ],
  trace: [fc.boolean(), fc.constantFrom("yes", 1, null)],
  history: [fc.boolean(), fc.constantFrom("no", 0)],
  resolve: [
    fc.record({ paravirt: fc.boolean(), rcuTableFree: fc.boolean() }, { requiredKeys: [] }),
    fc.constantFrom(null, [], { paravirt: "yes" }, { rcuTableFree: 1 }, { pv: true }),
  ],
};
const trialFields: Record<string, [fc.Arbitrary<unknown>, fc.Arbitrary<unknown>]> = {
  ...systemFields,
  scenario: [fc.constantFrom(...SCENARIO_NAMES), fc.constantFrom(...HOSTILE_NAMES)],
  stallNs: [fc.integer({ min: 1, max: 300_000 }), fc.constantFrom(0, 1e15, 5e7 + 1, 2.5, -1)],
};

/**
 * Options objects: all fields valid (a few of the optional ones at a time), or valid but for one
 * field, or with a misspelt key, or not an options object at all.
 */
function options(
  fields: Record<string, [fc.Arbitrary<unknown>, fc.Arbitrary<unknown>]>,
  needed: string[],
): fc.Arbitrary<unknown> {
  const valid = fc.record(Object.fromEntries(Object.entries(fields).map(([k, [v]]) => [k, v])), {
    requiredKeys: needed,
  });
  const keys = Object.keys(fields);
  return fc.oneof(
    { weight: 3, arbitrary: valid },
    {
      weight: 3,
      arbitrary: fc
        .tuple(valid, fc.constantFrom(...keys))
        .chain(([o, k]) => fields[k]![1].map((bad) => ({ ...o, [k]: bad }))),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(valid, fc.constantFrom("nrCPUs", "trails", "toString", "__proto__", "Profile"))
        .map(([o, k]) => Object.defineProperty({ ...o }, k, { value: 1, enumerable: true })),
    },
    { weight: 1, arbitrary: junk },
  );
}

const systemProperty: FuzzProperty = {
  name: "system-spec",
  description:
    "buildSystem(options), and a race trial from such options: a system or a typed error",
  async run(numRuns, seed, onCase) {
    const stats = newStats(onCase);
    const input = fc.oneof(
      options(systemFields, ["profile", "backend"]).map((o) => ({ trial: false, o })),
      options(trialFields, ["profile", "backend", "scenario", "seed"]).map((o) => ({
        trial: true,
        o,
      })),
    );
    const prop = fc.property(input, ({ trial, o }) => {
      const t0 = started(stats, { trial, o });
      try {
        if (trial) {
          const r = runTrial(o as never);
          if (typeof r.uaf !== "number") throw new Finding("a trial without a result");
        } else buildSystem(o as never).sim.run({ until: 20_000 });
        count(stats, "ok");
      } catch (e) {
        if (e instanceof Finding) throw e;
        if (!(e instanceof MmulabError)) throw new Finding(`untyped: ${describeError(e)}`);
        count(stats, e.name);
      } finally {
        timed(stats, t0, o);
      }
    });
    return report("system-spec", prop, numRuns, seed, stats);
  },
};

// -------------------------------------------------------------------------------- payloads

/** Values a payload must never hold, and some it may. */
const hostileLeaf = fc.oneof(
  fc.constantFrom<unknown>(
    NaN,
    Infinity,
    -Infinity,
    -0,
    1e308,
    undefined,
    null,
    "",
    "<script>x</script>",
    2 ** 53 + 1,
    -1,
  ),
  fc.constantFrom<unknown>(
    () => 1,
    Symbol("s"),
    10n,
    new Date(0),
    new Map(),
    new Uint8Array(2),
    Object.create({ x: 1 }) as unknown,
  ),
  fc.anything({
    maxDepth: 2,
    withBigInt: true,
    withNullPrototype: true,
    withTypedArray: true,
    withSparseArray: true,
    withDate: true,
    withMap: true,
    withSet: true,
  }),
);

/** Every (object, key) of a tree, to pick where to plant something. */
function slots(root: unknown): [Record<string, unknown>, string][] {
  const out: [Record<string, unknown>, string][] = [];
  const stack = [root];
  while (stack.length > 0 && out.length < 5000) {
    const v = stack.pop();
    if (v === null || typeof v !== "object") continue;
    // plain objects and arrays only: a typed array's elements cannot be deleted, and a Map, a Set
    // or a Date planted as a leaf is hostile enough as it is
    const proto: unknown = Object.getPrototypeOf(v);
    if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) continue;
    for (const k of Object.keys(v)) {
      out.push([v as Record<string, unknown>, k]);
      stack.push((v as Record<string, unknown>)[k]);
    }
  }
  return out;
}

type Mutation =
  | { readonly kind: "leaf"; readonly at: number; readonly value: unknown }
  | { readonly kind: "cycle"; readonly at: number }
  | { readonly kind: "deep"; readonly at: number; readonly depth: number }
  | { readonly kind: "drop"; readonly at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant("leaf" as const), at: fc.nat(), value: hostileLeaf }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cycle" as const), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("deep" as const),
      at: fc.nat(),
      depth: fc.integer({ min: 50, max: 5000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("drop" as const), at: fc.nat() }) },
);

function mutate(payload: unknown, ms: readonly Mutation[]): unknown {
  const root = structuredClone(payload);
  for (const m of ms) {
    const all = slots(root);
    if (all.length === 0) break;
    const [obj, key] = all[m.at % all.length]!;
    if (m.kind === "leaf") obj[key] = m.value;
    else if (m.kind === "cycle") obj[key] = obj;
    else if (m.kind === "drop") delete obj[key];
    else {
      let deep: unknown = { level: "pte", index: 0, frame: 1, va: 0, state: "live", entries: 0 };
      for (let i = 0; i < m.depth; i++)
        deep = {
          level: "pte",
          index: 0,
          frame: i,
          va: 0,
          state: "live",
          entries: 1,
          children: [deep],
        };
      obj[key] = deep;
    }
  }
  return root;
}

const KINDS = ["pagetable", "timeline", "plot"] as const;
const seeds = {
  pagetable: makePageTable(TREE_SMALL),
  timeline: makeTimeline(20),
  plot: makePlot({ sweep: true }),
};
const kernelSide = {
  pagetable: (v: unknown) => {
    checkPageTablePayload(v);
    return pageTablesBundle(v);
  },
  timeline: (v: unknown) => {
    checkTimelinePayload(v);
    return timelineBundle(v);
  },
  plot: (v: unknown) => {
    checkPlotPayload(v);
    return plotBundle(v);
  },
};
const rendererSide = { pagetable: parsePageTable, timeline: parseTimeline, plot: parsePlot };

const payloadProperty: FuzzProperty = {
  name: "payloads",
  description:
    "the payload checks, kernel (check + bundle) and renderer (parse): accepted or a PayloadError",
  async run(numRuns, seed, onCase) {
    const stats = newStats(onCase);
    const input = fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .record({
            kind: fc.constantFrom(...KINDS),
            mutations: fc.array(mutation, { minLength: 0, maxLength: 3 }),
          })
          .map(({ kind, mutations }) => ({ kind, value: mutate(seeds[kind], mutations) })),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constantFrom(...KINDS),
          value: fc.oneof(
            hostileLeaf,
            fc.record(
              {
                version: fc.constantFrom(1, 2, "1"),
                unit: fc.constant("ns"),
                lanes: hostileLeaf,
                spans: hostileLeaf,
                instants: fc.constant([]),
                arrows: fc.constant([]),
                data: hostileLeaf,
                layout: hostileLeaf,
                root: hostileLeaf,
                levels: fc.constantFrom(4, 5),
                mm: fc.constant(1),
              },
              { requiredKeys: [] },
            ),
          ),
        }),
      },
    );
    const prop = fc.property(input, ({ kind, value }) => {
      const t0 = started(stats, { kind, value });
      try {
        // the kernel: the check, the bundle, and the JSON the kernel would publish
        try {
          const bundle = kernelSide[kind](value);
          JSON.stringify(bundle);
          toMimeBundle(value);
          count(stats, "kernel ok");
        } catch (e) {
          if (!(e instanceof PayloadError))
            throw new Finding(`kernel ${kind}: untyped ${describeError(e)}`);
          count(stats, "kernel PayloadError");
        }
        // the renderer, on what could reach it: the JSON of the value
        let json: unknown;
        try {
          const text = JSON.stringify(value);
          if (text === undefined) return;
          json = JSON.parse(text);
        } catch {
          return; // not JSON at all (a cycle, a BigInt): no notebook can hold it
        }
        let rendererOk: boolean;
        try {
          rendererSide[kind](json);
          rendererOk = true;
          count(stats, "renderer ok");
        } catch (e) {
          if (!(e instanceof RendererPayloadError))
            throw new Finding(`renderer ${kind}: untyped ${describeError(e)}`);
          rendererOk = false;
          count(stats, "renderer PayloadError");
        }
        // the two checks keep the same rules: on JSON, one accepts what the other does
        let kernelOk: boolean;
        try {
          kernelSide[kind](json);
          kernelOk = true;
        } catch (e) {
          if (!(e instanceof PayloadError))
            throw new Finding(`kernel ${kind}: untyped ${describeError(e)}`);
          kernelOk = false;
        }
        if (kernelOk !== rendererOk)
          throw new Finding(
            `the kernel ${kernelOk ? "accepts" : "refuses"} and the renderer ${rendererOk ? "accepts" : "refuses"} this ${kind} payload`,
          );
      } finally {
        timed(stats, t0, { kind, value });
      }
    });
    return report("payloads", prop, numRuns, seed, stats);
  },
};

// ---------------------------------------------------------------------------------- guests

const guestsProperty: FuzzProperty = {
  name: "guests",
  description:
    "random valid systems (KVM and Xen hosts, zero to three guests, overcommit, backends, workloads): every run finishes, frames are conserved, the same seed gives the same result",
  async run(numRuns, seed, onCase) {
    const stats = newStats(onCase);
    const prop = fc.property(systemSpecArb, (spec) => {
      const t0 = started(stats, spec);
      try {
        let a;
        try {
          a = runSpec(spec);
        } catch (e) {
          throw new Finding(`a valid system failed: ${describeError(e)}`);
        }
        const f = a.frames;
        if (f.allocated - f.freed !== f.inUse)
          throw new Finding(`frames not conserved: ${JSON.stringify(f)}`);
        if (f.pendingRcu !== 0) throw new Finding(`frames left waiting for RCU: ${f.pendingRcu}`);
        if (a.allExited && f.inUse !== 0)
          throw new Finding(`frames still in use after every process exited: ${f.inUse}`);
        if (runSpec(spec).result !== a.result)
          throw new Finding("the same seed gave a different result");
        const g = spec.guests[0];
        const h = parseHostSpec(spec.host);
        const vcpus = spec.guests.reduce((a, x) => a + x.vcpus, g?.otherVcpus ?? 0);
        count(
          stats,
          spec.guests.length > 1
            ? `${spec.guests.length} guests on ${h.hypervisor}${vcpus > h.nrCpus ? ", overcommitted" : ""} ${g!.workload.kind}`
            : `${g ? `${vcpus > h.nrCpus ? "overcommitted guest" : "guest"} on ${h.hypervisor}` : "host"} ${(g?.workload ?? spec.bare).kind}`,
        );
      } finally {
        timed(stats, t0, spec);
      }
    });
    return report("guests", prop, numRuns, seed, stats);
  },
};

export const FUZZ_PROPERTIES: readonly FuzzProperty[] = [
  cliProperty,
  systemProperty,
  payloadProperty,
  guestsProperty,
];
