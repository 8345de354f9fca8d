/**
 * `npm run bench` (via bench/run.mjs): runs the registered benchmarks against the compiled kernel,
 * prints a table and updates bench/results.json.
 */
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { FlagSpec } from "../cli/args.js";
import { intFlag, parseFlags, printResult } from "../cli/args.js";
import type { CliIO } from "../cli/command.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, processIO, UsageError } from "../cli/command.js";
import {
  DEFAULT_RUNS,
  DEFAULT_WARMUP,
  formatTable,
  meetsTarget,
  mergeResults,
  parseResults,
  runBenchmarks,
  selectBenchmarks,
  validateBenchmarks,
} from "./harness.js";
import { tuneV8ForShortLivedSimulations } from "../sim/v8-tuning.js";
import { measureInChild } from "./isolated.js";
import { benchmarks as registry } from "./registry.js";
import type { Benchmark, BenchResult } from "./types.js";

/** bench/results.json at the repository root (three levels up from src/bench or dist/bench). */
export const DEFAULT_RESULTS_PATH = fileURLToPath(
  new URL("../../../bench/results.json", import.meta.url),
);

export const BENCH_USAGE = `Usage: npm run bench -- [options]

Runs the registered benchmarks (kernel/src/bench/registry.ts) against kernel/dist, prints a table
and writes bench/results.json. Each value is the median of --runs measured runs after --warmup
unmeasured ones.

Options:
  --only <substr>   run only benchmarks whose name contains <substr> (case-insensitive;
                    repeatable). Results of the others are kept in results.json.
  --runs <n>        measured runs per benchmark (default ${DEFAULT_RUNS})
  --warmup <n>      warm-up runs per benchmark (default ${DEFAULT_WARMUP})
  --out <path>      results file (default bench/results.json)
  --no-write        do not write a results file
  --strict          exit 1 when a benchmark misses its target
  --exact <name>    run only the benchmark of that exact name (repeatable; with --only, both)
  --in-process      run every benchmark in this process, one after another, instead of each
                    in a fresh process of its own (later entries then inherit the heap and
                    compiled code of earlier ones: docs/benchmarks.md)
  --list            list the matching benchmarks without running them
  --json            print the results as JSON instead of the table
  -h, --help        show this help
`;

const flagSpec = {
  only: { type: "string", multiple: true, default: [] },
  exact: { type: "string", multiple: true, default: [] },
  "in-process": { type: "boolean", default: false },
  runs: { type: "string" },
  warmup: { type: "string" },
  out: { type: "string" },
  "no-write": { type: "boolean", default: false },
  strict: { type: "boolean", default: false },
  list: { type: "boolean", default: false },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} satisfies FlagSpec;

async function readExisting(path: string): Promise<BenchResult[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (error instanceof Error && "code" in error && error.code === "ENOENT") return [];
    throw error;
  }
  return parseResults(JSON.parse(text));
}

/**
 * Runs the bench CLI; resolves to the exit code. `list` and `io` are injectable for tests. Each
 * benchmark of the registry runs in a fresh process of its own (bench/isolated.ts) unless
 * `--in-process`; an injected list runs in this process (a child could not find it by name).
 */
export async function benchMain(
  argv: readonly string[],
  io: CliIO = processIO,
  list: readonly Benchmark[] = registry,
): Promise<number> {
  try {
    const { values } = parseFlags(argv, flagSpec);
    if (values.help) {
      io.out(BENCH_USAGE);
      return EXIT_OK;
    }
    const runs = intFlag(values.runs, "runs", DEFAULT_RUNS, { min: 1 });
    const warmup = intFlag(values.warmup, "warmup", DEFAULT_WARMUP, { min: 0 });
    validateBenchmarks(list);
    // an --exact name of no benchmark here matches nothing, as --only does (npm run bench
    // passes the same flags to the browser benchmarks, which have names of their own)
    const exact = values.exact;
    const selected =
      exact.length === 0
        ? selectBenchmarks(list, values.only)
        : selectBenchmarks(list, values.only).filter((b) => exact.includes(b.name));

    if (values.list) {
      const names = selected.map((b) => b.name);
      printResult(io, names, values.json, (n) => (n.length ? n.join("\n") : "(none)"));
      return EXIT_OK;
    }
    if (selected.length === 0) {
      const why =
        values.only.length + values.exact.length > 0
          ? `no benchmarks matched ${[...values.only, ...values.exact].map((s) => `'${s}'`).join(", ")}`
          : "no benchmarks registered";
      io.err(`bench: ${why}; nothing run, results file left as it was\n`);
      if (values.json) io.out("[]\n");
      return EXIT_OK;
    }

    if (!values.json) {
      io.err(
        `bench: ${selected.length} benchmark(s), median of ${runs} run(s) after ${warmup} warm-up\n`,
      );
    }
    const isolate = !values["in-process"] && list === registry;
    // as the mmulab command and the notebook kernel run (sim/v8-tuning.ts); an isolated entry's
    // own process sets them for itself
    if (!isolate) tuneV8ForShortLivedSimulations();
    const fresh = await runBenchmarks(
      selected,
      { runs, warmup },
      (r) => {
        if (!values.json) io.err(`  done ${r.name}\n`);
      },
      isolate ? measureInChild() : undefined,
    );
    printResult(io, fresh, values.json, formatTable);

    if (!values["no-write"]) {
      const path = values.out ?? DEFAULT_RESULTS_PATH;
      const existing = values.only.length + values.exact.length > 0 ? await readExisting(path) : [];
      const merged = mergeResults(
        existing,
        fresh,
        list.map((b) => b.name),
      );
      await writeFile(path, `${JSON.stringify(merged, null, 2)}\n`);
      if (!values.json) io.err(`bench: wrote ${path}\n`);
    }

    const missed = fresh.filter((r) => meetsTarget(r.value, r.target, r.better) === false);
    if (missed.length > 0) {
      io.err(`bench: ${missed.length} target(s) missed: ${missed.map((r) => r.name).join(", ")}\n`);
      if (values.strict) return EXIT_FAILURE;
    }
    return EXIT_OK;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`bench: ${error.message}\nRun 'npm run bench -- --help' for usage.\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
}
