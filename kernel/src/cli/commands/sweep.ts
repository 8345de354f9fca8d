/** `mmulab sweep`: a parameter sweep over a registered run function, local or on Redis. */
import { writeFileSync } from "node:fs";
import { runDistributedSweep } from "../../sweep/distributed.js";
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

export const sweepCommand: Command = {
  name: "sweep",
  summary: "sweep a run function over a parameter grid or random design, on threads or Redis",
  usage: [
    `Usage: ${PROGRAM} sweep --run NAME --param P=SPACE … [--fixed K=V …] [--seeds N] [--seed S] [--random N] [--workers N] [--redis URL] [--csv FILE] [--metric M] [--json]`,
    "",
    "Runs every point of the design with N seeds per point; each seed is a stable hash of the",
    "sweep seed and the point, so the rows do not depend on the number of workers.",
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
    "  --csv FILE        write the tidy rows as CSV",
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
    const result: SweepResult =
      values.redis !== undefined
        ? await runDistributedSweep(spec, { redis: values.redis })
        : await runSweep(spec, {
            ...(values.workers !== undefined
              ? { workers: intFlag(values.workers, "workers", 0, { min: 0, max: 1024 }) }
              : {}),
          });
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
