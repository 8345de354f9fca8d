/** `mmulab sweep`: a parameter sweep over a registered run function, local or on Redis. */
import { writeFileSync } from "node:fs";
import {
  DEFAULT_SWEEP_QUEUE,
  RedisUnavailableError,
  runDistributedSweep,
} from "../../sweep/distributed.js";
import { SweepCancelled, SweepTimeout } from "../../sweep/errors.js";
import { runSweep } from "../../sweep/local.js";
import { summarize, toCSV, toJSON, type SweepResult } from "../../sweep/results.js";
import { runFunctionNames } from "../../sweep/run-functions.js";
import type { ParamSpace, ParamValue, SweepSpec } from "../../sweep/space.js";
import { intFlag, JSON_FLAG_USAGE, jsonFlag, parseFlags } from "../args.js";
import { PROGRAM } from "../cli.js";
import type { Command } from "../command.js";
import { EXIT_FAILURE, EXIT_OK, UsageError } from "../command.js";

function value(s: string): ParamValue {
  if (s === "true") return true;
  if (s === "false") return false;
  const n = Number(s);
  return s.trim() !== "" && Number.isFinite(n) ? n : s;
}

/** name=a,b,c | name=int:MIN..MAX[:STEP] | name=float:MIN..MAX[:STEPS][:log] */
export function parseParam(arg: string): [string, ParamSpace] {
  const eq = arg.indexOf("=");
  if (eq <= 0) throw new UsageError(`--param expects NAME=SPACE, got '${arg}'`);
  const name = arg.slice(0, eq);
  const rest = arg.slice(eq + 1);
  const range = /^(int|float):([^:]+)\.\.([^:]+)(?::([^:]+))?(?::(log))?$/.exec(rest);
  if (range) {
    const [, kind, lo, hi, third, log] = range;
    const min = Number(lo);
    const max = Number(hi);
    if (kind === "int")
      return [name, { kind: "int", min, max, ...(third ? { step: Number(third) } : {}) }];
    return [
      name,
      {
        kind: "float",
        min,
        max,
        ...(third && third !== "log" ? { steps: Number(third) } : {}),
        ...(log || third === "log" ? { log: true } : {}),
      },
    ];
  }
  return [name, rest === "" ? [] : rest.split(",").map(value)];
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
    "  --param P=SPACE   a,b,c | int:MIN..MAX[:STEP] | float:MIN..MAX[:STEPS][:log] (repeatable)",
    "  --fixed K=V       a parameter passed unchanged (repeatable)",
    "  --seeds N         seeds per point (default 1)",
    "  --seed S          sweep seed (default 1)",
    "  --random N        N random points instead of the grid",
    "  --workers N       worker threads (default: available parallelism; 0 inline)",
    "  --redis URL       run on the distributed engine (start workers with sweep-worker)",
    `  --queue NAME      the queue on Redis (default ${DEFAULT_SWEEP_QUEUE})`,
    "  --task-timeout-ms MS  end a task that runs longer; it becomes a failed row (default 600000)",
    "  --deadline-ms MS  give up on the whole sweep after MS (default: none)",
    "  --csv FILE        write the tidy rows as CSV (a sweep cut short writes the rows it has)",
    "  --metric M        summarize this metric per point (default: the first)",
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
    if (values.run === undefined) throw new UsageError("option '--run' is required");
    const params: Record<string, ParamSpace> = {};
    for (const p of values.param ?? []) {
      const [n, s] = parseParam(p);
      params[n] = s;
    }
    const fixed: Record<string, ParamValue> = {};
    for (const f of values.fixed ?? []) {
      const eq = f.indexOf("=");
      if (eq <= 0) throw new UsageError(`--fixed expects K=V, got '${f}'`);
      fixed[f.slice(0, eq)] = value(f.slice(eq + 1));
    }
    const random = values.random === undefined ? undefined : intFlag(values.random, "random", 1);
    const spec: SweepSpec = {
      run: values.run,
      params,
      fixed,
      seeds: intFlag(values.seeds, "seeds", 1, { min: 1, max: 100_000 }),
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
    const workers =
      values.workers !== undefined
        ? { workers: intFlag(values.workers, "workers", 0, { min: 0, max: 1024 }) }
        : {};
    const queue = values.queue !== undefined ? { queue: values.queue } : {};
    // a signal cancels the sweep, so that a distributed one removes its jobs at once
    const ctl = new AbortController();
    const stop = () => ctl.abort();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    const common = { taskTimeoutMs, signal: ctl.signal, ...deadline };
    let result: SweepResult;
    try {
      result =
        values.redis !== undefined
          ? await runDistributedSweep(spec, { redis: values.redis, ...queue, ...common })
          : await runSweep(spec, { ...common, ...workers });
    } catch (e) {
      // a sweep cut short (deadline, Redis gone) keeps the rows it has in --csv
      const partial = partialOf(e);
      if (partial !== undefined && values.csv !== undefined) {
        writeFileSync(values.csv, toCSV(partial));
        io.err(`${partial.rows.length} finished rows written to ${values.csv}\n`);
      }
      throw e;
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    }
    if (values.csv !== undefined) writeFileSync(values.csv, toCSV(result));
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
