/** `mmulab sweep`: a parameter sweep over a registered run function, local or on Redis. */
import { writeFileSync } from "node:fs";
import {
  DEFAULT_SWEEP_QUEUE,
  RedisUnavailableError,
  runDistributedSweep,
} from "../../sweep/distributed.js";
import { SweepCancelled, SweepTimeout } from "../../sweep/errors.js";
import { runSweep } from "../../sweep/local.js";
import { toCSV, toJSON, type SweepResult } from "../../sweep/results.js";
import { summarize } from "../../views/sweep-result.js";
import { runFunctionNames } from "../../sweep/run-functions.js";
import {
  checkSpec,
  gridPoints,
  gridSize,
  SWEEP_LIMITS,
  type ParamSpace,
  type ParamValue,
  type SweepSpec,
} from "../../sweep/space.js";
import {
  choiceFlag,
  intFlag,
  JSON_FLAG_USAGE,
  jsonFlag,
  outputFileFlag,
  parseDecimal,
  parseFlags,
  queueFlag,
  redisFlag,
  rejectIgnored,
  requireFlags,
} from "../args.js";
import { PROGRAM } from "../cli.js";
import type { Command } from "../command.js";
import { EXIT_FAILURE, EXIT_OK, UsageError } from "../command.js";

/** A parameter name: an identifier that no plain object already has (`__proto__`, `toString`). */
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function checkName(flag: string, arg: string, name: string): string {
  if (!PARAM_NAME.test(name) || name in Object.prototype)
    throw UsageError.invalid(
      flag,
      arg,
      "NAME=… with NAME a parameter name (letters, digits and '_', not starting with a digit)",
    );
  return name;
}

/**
 * One value of a list or of `--fixed`: `true`/`false`, a decimal number, or else the text itself
 * (a name such as v4.14-posted or 6cpu). Empty text and blanks are refused, and so is anything
 * that looks numeric but is not decimal (`0x10`, `Infinity`): it would not mean what it says.
 */
function value(flag: string, arg: string, text: string): ParamValue {
  if (text === "true") return true;
  if (text === "false") return false;
  const n = parseDecimal(text);
  if (n !== undefined) return n;
  if (
    text === "" ||
    /[\s,]/.test(text) ||
    Number.isFinite(Number(text)) ||
    /^[-+]?Infinity$/.test(text)
  )
    throw UsageError.invalid(
      flag,
      arg,
      `values that are true, false, decimal numbers or names without blanks (not ${JSON.stringify(text)})`,
    );
  return text;
}

function int(flag: string, arg: string, text: string | undefined, what: string): number {
  const n = text === undefined || !/^-?\d+$/.test(text) ? NaN : Number(text) + 0;
  if (!Number.isSafeInteger(n))
    throw UsageError.invalid(
      flag,
      arg,
      `${what} as a decimal integer (not ${JSON.stringify(text)})`,
    );
  return n;
}

function decimal(flag: string, arg: string, text: string | undefined, what: string): number {
  const n = text === undefined ? undefined : parseDecimal(text);
  if (n === undefined)
    throw UsageError.invalid(
      flag,
      arg,
      `${what} as a decimal number (not ${JSON.stringify(text)})`,
    );
  return n;
}

const SPACE_SYNTAX = "NAME=a,b,c | NAME=int:MIN..MAX[:STEP] | NAME=float:MIN..MAX[:STEPS][:log]";

/** name=a,b,c | name=int:MIN..MAX[:STEP] | name=float:MIN..MAX[:STEPS][:log] */
export function parseParam(arg: string): [string, ParamSpace] {
  const flag = "--param";
  const eq = arg.indexOf("=");
  if (eq <= 0) throw UsageError.invalid(flag, arg, SPACE_SYNTAX);
  const name = checkName(flag, arg, arg.slice(0, eq));
  const rest = arg.slice(eq + 1);
  if (rest.startsWith("int:")) {
    const m = /^int:([^:]*)\.\.([^:]*)(?::([^:]*))?$/.exec(rest);
    if (m === null) throw UsageError.invalid(flag, arg, "NAME=int:MIN..MAX[:STEP]");
    const min = int(flag, arg, m[1], "MIN");
    const max = int(flag, arg, m[2], "MAX");
    if (min > max) throw UsageError.invalid(flag, arg, "an int range with MIN ≤ MAX");
    if (m[3] === undefined) return [name, { kind: "int", min, max }];
    const step = int(flag, arg, m[3], "STEP");
    if (step < 1) throw UsageError.invalid(flag, arg, "an int range with STEP ≥ 1");
    return [name, { kind: "int", min, max, step }];
  }
  if (rest.startsWith("float:")) {
    const m = /^float:([^:]*)\.\.([^:]*)(?::([^:]*))?(?::([^:]*))?$/.exec(rest);
    if (m === null) throw UsageError.invalid(flag, arg, "NAME=float:MIN..MAX[:STEPS][:log]");
    const min = decimal(flag, arg, m[1], "MIN");
    const max = decimal(flag, arg, m[2], "MAX");
    let stepsText = m[3];
    let logText = m[4];
    if (logText === undefined && stepsText === "log") [stepsText, logText] = [undefined, "log"];
    if (logText !== undefined && logText !== "log")
      throw UsageError.invalid(flag, arg, "NAME=float:MIN..MAX[:STEPS][:log]");
    const steps = stepsText === undefined ? undefined : int(flag, arg, stepsText, "STEPS");
    if (steps !== undefined && steps < 1)
      throw UsageError.invalid(flag, arg, "a float range with STEPS ≥ 1");
    return [
      name,
      {
        kind: "float",
        min,
        max,
        ...(steps !== undefined ? { steps } : {}),
        ...(logText !== undefined ? { log: true } : {}),
      },
    ];
  }
  const items = rest.split(",");
  if (items.some((t) => t === ""))
    throw UsageError.invalid(flag, arg, "a comma-separated list of values without empty items");
  const values = items.map((t) => value(flag, arg, t));
  if (new Set(values).size !== values.length)
    throw UsageError.invalid(flag, arg, "a list of values without repeats");
  return [name, values];
}

/**
 * Refuses a grid with more than {@link SWEEP_LIMITS.points} points before it is expanded, naming the
 * --param where it crosses (checkSpec refuses it too, without knowing the flags).
 */
function checkGridSize(params: Readonly<Record<string, ParamSpace>>): void {
  let points = 1;
  for (const [name, space] of Object.entries(params)) {
    points *= gridSize(space);
    if (points > SWEEP_LIMITS.points)
      throw new UsageError(
        `the grid has more than ${SWEEP_LIMITS.points.toLocaleString("en")} points by the time ` +
          `it reaches --param ${name}; narrow the ranges, use fewer values or steps, or draw ` +
          `points with --random N`,
        { parameter: "--param" },
      );
  }
}

/** The rows of a sweep that ended early (SweepCancelled, SweepTimeout, RedisUnavailableError). */
function partialOf(e: unknown): SweepResult | undefined {
  if (e instanceof SweepCancelled || e instanceof SweepTimeout) return e.partial;
  return e instanceof RedisUnavailableError ? e.partial : undefined;
}

export const sweepCommand: Command = {
  name: "sweep",
  summary: "sweep a run function over a parameter grid or random design, on threads or Redis",
  usage: [
    `Usage: ${PROGRAM} sweep --run NAME --param P=SPACE … [--fixed K=V …] [--seeds N] [--seed S] [--random N] [--workers N] [--redis URL [--queue NAME]] [--task-timeout-ms MS] [--deadline-ms MS] [--csv FILE] [--metric M] [--json]`,
    "",
    "Runs every point of the design with N seeds per point; each seed is a stable hash of the",
    "sweep seed and the point, so the rows do not depend on the number of workers. SIGINT or",
    "SIGTERM cancels the sweep (its jobs are removed from Redis) and exits non-zero.",
    "",
    "Options:",
    `  --run NAME        one of ${runFunctionNames().join(", ")}`,
    "  --param P=SPACE   a,b,c | int:MIN..MAX[:STEP] | float:MIN..MAX[:STEPS][:log] (repeatable;",
    "                    values are true, false, decimal numbers or names)",
    "  --fixed K=V       a parameter passed unchanged (repeatable)",
    `  --seeds N         seeds per point, 1 … ${SWEEP_LIMITS.seeds}, and points × seeds ≤ ${SWEEP_LIMITS.tasks}`,
    "                    (default 1)",
    "  --seed S          sweep seed, 0 … 2^32 − 1 (default 1)",
    `  --random N        N random points instead of the grid, 1 … ${SWEEP_LIMITS.points}`,
    `                    (a grid may have at most ${SWEEP_LIMITS.points} points)`,
    "  --workers N       worker threads, 0 … 1024 (default: available parallelism; 0 inline)",
    "  --redis URL       run on the distributed engine (start workers with sweep-worker);",
    "                    redis://host[:port][/db]; not with --workers",
    `  --queue NAME      the queue on Redis (default ${DEFAULT_SWEEP_QUEUE}); only with --redis`,
    "  --task-timeout-ms MS  end a task that runs longer, 1 … 86400000; it becomes a failed row",
    "                    (default 600000)",
    "  --deadline-ms MS  give up on the whole sweep after MS, keeping its rows (default: none)",
    "  --csv FILE        write the tidy rows as CSV (a sweep cut short writes the rows it has)",
    "  --metric M        summarize this metric per point (default: the first); not with --json",
    JSON_FLAG_USAGE + " (the tidy rows {spec, rows})",
  ].join("\n"),
  async run(argv, io) {
    const { values } = parseFlags(argv, {
      ...jsonFlag,
      run: { type: "string" },
      param: { type: "string", multiple: true },
      fixed: { type: "string", multiple: true },
      seeds: { type: "string" },
      seed: { type: "string" },
      random: { type: "string" },
      workers: { type: "string" },
      redis: { type: "string" },
      queue: { type: "string" },
      "task-timeout-ms": { type: "string" },
      "deadline-ms": { type: "string" },
      csv: { type: "string" },
      metric: { type: "string" },
    });
    requireFlags(values, ["run", "param"]);
    const run = choiceFlag(values.run, "run", runFunctionNames())!;
    const params: Record<string, ParamSpace> = {};
    for (const p of values.param ?? []) {
      const [n, s] = parseParam(p);
      if (Object.hasOwn(params, n))
        throw UsageError.invalid("--param", p, `each parameter swept once ('${n}' is repeated)`);
      params[n] = s;
    }
    const fixed: Record<string, ParamValue> = {};
    for (const f of values.fixed ?? []) {
      const eq = f.indexOf("=");
      if (eq <= 0) throw UsageError.invalid("--fixed", f, "NAME=VALUE");
      const n = checkName("--fixed", f, f.slice(0, eq));
      if (Object.hasOwn(params, n) || Object.hasOwn(fixed, n))
        throw UsageError.invalid("--fixed", f, `each parameter given once ('${n}' is repeated)`);
      fixed[n] = value("--fixed", f, f.slice(eq + 1));
    }
    const random =
      values.random === undefined
        ? undefined
        : intFlag(values.random, "random", 1, { min: 1, max: SWEEP_LIMITS.points });
    if (random === undefined) checkGridSize(params);
    const points = random ?? gridPoints(params);
    const seeds = intFlag(values.seeds, "seeds", 1, { min: 1, max: SWEEP_LIMITS.seeds });
    if (points * seeds > SWEEP_LIMITS.tasks)
      throw UsageError.invalid(
        "--seeds",
        values.seeds!,
        `at most ${Math.floor(SWEEP_LIMITS.tasks / points)} seeds for the ${points} points of this ` +
          `design (points × seeds at most ${SWEEP_LIMITS.tasks})`,
      );
    const redis = redisFlag(values.redis);
    if (redis !== undefined)
      rejectIgnored(values, ["workers"], "with --redis (the workers there decide)");
    if (values.json) rejectIgnored(values, ["metric"], "with --json (it prints every metric)");
    const workers = intFlag(values.workers, "workers", 0, { min: 0, max: 1024 });
    const csv = outputFileFlag(values.csv, "csv");
    const spec: SweepSpec = {
      run,
      params,
      fixed,
      seeds,
      seed: intFlag(values.seed, "seed", 1, { min: 0, max: 2 ** 32 - 1 }),
      ...(random !== undefined ? { design: { kind: "random", points: random } } : {}),
    };
    const taskTimeoutMs = intFlag(values["task-timeout-ms"], "task-timeout-ms", 600_000, {
      min: 1,
      max: 86_400_000,
    });
    const deadline =
      values["deadline-ms"] !== undefined
        ? { deadlineMs: intFlag(values["deadline-ms"], "deadline-ms", 0, { min: 1 }) }
        : {};
    const queue = queueFlag(values.queue);
    if (redis === undefined) rejectIgnored(values, ["queue"], "without --redis");
    // The engine's own checks (space.ts, its ceilings included), before any work: a
    // ParameterError from here is a usage error.
    checkSpec(spec);
    // a signal cancels the sweep, so that a distributed one removes its jobs at once
    const ctl = new AbortController();
    const stop = () => ctl.abort();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    const common = { taskTimeoutMs, signal: ctl.signal, ...deadline };
    let result: SweepResult;
    try {
      result =
        redis !== undefined
          ? await runDistributedSweep(spec, {
              redis,
              ...(queue !== undefined ? { queue } : {}),
              ...common,
            })
          : await runSweep(spec, {
              ...common,
              ...(values.workers !== undefined ? { workers } : {}),
            });
    } catch (e) {
      // a sweep cut short (deadline, Redis gone) keeps the rows it has in --csv
      const partial = partialOf(e);
      if (partial !== undefined && csv !== undefined) {
        writeFileSync(csv, toCSV(partial));
        io.err(`${partial.rows.length} finished rows written to ${csv}\n`);
      }
      throw e;
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    }
    if (csv !== undefined) writeFileSync(csv, toCSV(result));
    if (values.json) io.out(`${toJSON(result)}\n`);
    else {
      const metric =
        values.metric ?? Object.keys(result.rows.find((r) => r.status === "ok")?.metrics ?? {})[0];
      if (metric !== undefined)
        for (const s of summarize(result, metric))
          io.out(
            `${JSON.stringify(s.params)}  ${metric} mean ${s.mean} ± ${(s.ci95[1] - s.mean).toPrecision(3)} (n ${s.n}${s.failed ? `, ${s.failed} failed` : ""})\n`,
          );
      for (const r of result.rows.filter((x) => x.status === "failed"))
        io.err(`point ${r.point} seed ${r.seed} failed: ${r.error}\n`);
    }
    return result.rows.some((r) => r.status === "failed") ? EXIT_FAILURE : EXIT_OK;
  },
};
