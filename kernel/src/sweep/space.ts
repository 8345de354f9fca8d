/**
 * Parameter spaces and designs of a sweep: named parameters, each a list of values or an integer
 * or float range; a grid (every combination) or a random design (n points drawn from the space
 * with the sweep seed). Every point's seeds come from the sweep seed and the point's parameters
 * through a stable hash, so a point gets the same seeds whatever the order or the number of
 * workers that run it.
 *
 * Every size is bounded before anything is expanded ({@link SWEEP_LIMITS}): the number of grid
 * values of each axis, the points of the design and the tasks (points × seeds) are computed
 * arithmetically from the spec and checked first, so a mistyped range is a ParameterError naming
 * the parameter, never an array of a billion values.
 */
import { checkInt, ParameterError } from "../sim/errors.js";

export type ParamValue = number | string | boolean;
export type Params = Readonly<Record<string, ParamValue>>;

/** Integers min, min + step, … ≤ max. */
export interface IntRange {
  readonly kind: "int";
  readonly min: number;
  readonly max: number;
  /** Grid step (default 1). */
  readonly step?: number;
}

/** Floats in [min, max]: `steps` evenly spaced grid values (default 5), optionally log-spaced. */
export interface FloatRange {
  readonly kind: "float";
  readonly min: number;
  readonly max: number;
  readonly steps?: number;
  readonly log?: boolean;
}

export type ParamSpace = readonly ParamValue[] | IntRange | FloatRange;

export type Design = "grid" | { readonly kind: "random"; readonly points: number };

export interface SweepSpec {
  /** Name of a run function in the registry (see run-functions.ts). */
  readonly run: string;
  /** The swept parameters, in axis order. */
  readonly params: Readonly<Record<string, ParamSpace>>;
  /** Parameters passed unchanged to every point. */
  readonly fixed?: Params;
  readonly design?: Design;
  /** Seeds per point (default 1). */
  readonly seeds?: number;
  /** The sweep seed (default 1). */
  readonly seed?: number;
}

export interface DesignPoint {
  readonly index: number;
  readonly params: Params;
}

/** One unit of work: a point and one of its seeds. Plain JSON, sent to threads and queues. */
export interface SweepTask {
  readonly run: string;
  readonly point: number;
  readonly rep: number;
  readonly seed: number;
  readonly params: Params;
}

const CTX = "sweep";

/**
 * The ceilings of a sweep, checked by {@link checkSpec} before any point is made.
 *
 * - `tasks`: a task and its row take about 650 bytes of heap for the built-in run functions
 *   (a race-trial sweep of 10^6 tasks held 650 MB, its process 1.3 GB), and 10^6 race-trial rows
 *   export as 404 MB of JSON, near V8's longest string (2^29 − 24 characters): at 2 × 10^6,
 *   `toJSON` fails. A notebook kernel holds 10^6 rows; on Redis they are about a gigabyte of jobs.
 * - `points`: the design's points, the same ceiling (one seed each); more seeds per point lower
 *   the points that fit (tasks = points × seeds).
 * - `gridValuesPerAxis`: one axis of a grid — an int range's values, a float range's steps, a
 *   list. Ten thousand values is more than a plot's axis or a slider resolves; a wider range wants
 *   a step, fewer steps or a random design (which draws from a range of any width).
 * - `seeds`: repetitions of one point.
 */
export const SWEEP_LIMITS = {
  gridValuesPerAxis: 10_000,
  points: 1_000_000,
  tasks: 1_000_000,
  seeds: 100_000,
} as const;

function isValue(v: unknown): v is ParamValue {
  return (
    typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v))
  );
}

/** Checks one parameter's space; throws a ParameterError naming it. */
export function checkSpace(name: string, space: ParamSpace): void {
  if (Array.isArray(space)) {
    const list = space as readonly unknown[];
    if (list.length === 0) throw new ParameterError(name, space, "a non-empty list of values", CTX);
    const bad = list.find((v) => !isValue(v));
    if (bad !== undefined || list.some((v) => !isValue(v)))
      throw new ParameterError(name, space, "finite numbers, strings or booleans", CTX);
    const kinds = new Set(list.map((v) => typeof v));
    if (kinds.size > 1) throw new ParameterError(name, space, "values all of one type", CTX);
    if (new Set(list).size !== list.length)
      throw new ParameterError(name, space, "a list without duplicate values", CTX);
    return;
  }
  const r = space as IntRange | FloatRange;
  if (r === null || typeof r !== "object" || (r.kind !== "int" && r.kind !== "float"))
    throw new ParameterError(name, space, 'a list, {kind: "int", …} or {kind: "float", …}', CTX);
  if (!Number.isFinite(r.min) || !Number.isFinite(r.max) || r.min > r.max)
    throw new ParameterError(name, space, "a range with finite min ≤ max", CTX);
  if (r.kind === "int") {
    if (!Number.isSafeInteger(r.min) || !Number.isSafeInteger(r.max))
      throw new ParameterError(name, space, "an int range with integer min and max", CTX);
    if (r.step !== undefined && !(Number.isSafeInteger(r.step) && r.step >= 1))
      throw new ParameterError(name, space, "an int range with an integer step ≥ 1", CTX);
  } else {
    if (r.steps !== undefined && !(Number.isSafeInteger(r.steps) && r.steps >= 1))
      throw new ParameterError(name, space, "a float range with an integer steps ≥ 1", CTX);
    if (r.log === true && r.min <= 0)
      throw new ParameterError(name, space, "a log float range with min > 0", CTX);
    if ((r.steps ?? 5) > 1 && r.min === r.max)
      throw new ParameterError(name, space, "a float range with min < max (or steps: 1)", CTX);
  }
}

/** Points of a grid over (checked) `params`, counted without making them (may pass the ceiling). */
export function gridPoints(params: Readonly<Record<string, ParamSpace>>): number {
  let points = 1;
  for (const space of Object.values(params)) points *= gridSize(space);
  return points;
}

/** The number of grid values of a (checked) parameter space, computed without making them. */
export function gridSize(space: ParamSpace): number {
  if (Array.isArray(space)) return space.length;
  const r = space as IntRange | FloatRange;
  if (r.kind === "int") return Math.floor((r.max - r.min) / (r.step ?? 1)) + 1;
  return r.steps ?? 5;
}

function checkAxisSize(name: string, space: ParamSpace): number {
  const n = gridSize(space);
  const max = SWEEP_LIMITS.gridValuesPerAxis;
  if (n > max)
    throw new ParameterError(
      name,
      space,
      `at most ${max} grid values (this one has ${n}; use a larger step, fewer steps or a random design)`,
      CTX,
    );
  return n;
}

/** The grid values of one parameter (at most {@link SWEEP_LIMITS}.gridValuesPerAxis). */
export function gridValues(space: ParamSpace): ParamValue[] {
  checkAxisSize("space", space);
  if (Array.isArray(space)) return [...(space as readonly ParamValue[])];
  const r = space as IntRange | FloatRange;
  if (r.kind === "int") {
    const out: number[] = [];
    for (let v = r.min; v <= r.max; v += r.step ?? 1) out.push(v);
    return out;
  }
  const n = r.steps ?? 5;
  if (n === 1) return [r.min];
  return Array.from({ length: n }, (_, i) =>
    r.log === true
      ? Math.exp(Math.log(r.min) + ((Math.log(r.max) - Math.log(r.min)) * i) / (n - 1))
      : r.min + ((r.max - r.min) * i) / (n - 1),
  );
}

/**
 * Checks a whole spec (before any work starts), its sizes included: returns the number of points
 * and of tasks it makes, computed without making them.
 */
export function checkSpec(spec: SweepSpec): { readonly points: number; readonly tasks: number } {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec))
    throw new ParameterError("spec", spec, "an object {run, params, …}", CTX);
  if (spec.params !== undefined && (spec.params === null || typeof spec.params !== "object"))
    throw new ParameterError("params", spec.params, "an object of parameter spaces", CTX);
  if (typeof spec.run !== "string" || spec.run === "")
    throw new ParameterError("run", spec.run, "the name of a run function", CTX);
  const names = Object.keys(spec.params ?? {});
  if (names.length === 0)
    throw new ParameterError("params", spec.params, "at least one swept parameter", CTX);
  for (const n of names) checkSpace(n, spec.params[n]!);
  for (const [n, v] of Object.entries(spec.fixed ?? {})) {
    if (!isValue(v)) throw new ParameterError(n, v, "a finite number, string or boolean", CTX);
    if (names.includes(n))
      throw new ParameterError(n, v, "a parameter either swept or fixed, not both", CTX);
  }
  const seeds = checkInt("seeds", spec.seeds ?? 1, 1, SWEEP_LIMITS.seeds, CTX);
  checkInt("seed", spec.seed ?? 1, 0, 2 ** 32 - 1, CTX);
  const d = spec.design ?? "grid";
  let points: number;
  if (d === "grid") {
    const sizes = names.map((n) => checkAxisSize(n, spec.params[n]!));
    // a product of at most a few dozen factors of ≤ 10^4: exact until it passes 2^53, and any
    // product that large is far past the ceiling anyway
    points = sizes.reduce((a, b) => a * b, 1);
    if (points > SWEEP_LIMITS.points)
      throw new ParameterError(
        "params",
        Object.fromEntries(names.map((n, i) => [n, sizes[i]])),
        `a grid of at most ${SWEEP_LIMITS.points} points (this one has ${sizes.join(" × ")} = ${points})`,
        CTX,
      );
  } else {
    if (d === null || typeof d !== "object" || d.kind !== "random")
      throw new ParameterError("design", d, '"grid" or {kind: "random", points}', CTX);
    points = checkInt("design.points", d.points, 1, SWEEP_LIMITS.points, CTX);
  }
  const tasks = points * seeds;
  if (tasks > SWEEP_LIMITS.tasks)
    throw new ParameterError(
      "seeds",
      seeds,
      `at most ${Math.floor(SWEEP_LIMITS.tasks / points)} seeds for ${points} points ` +
        `(at most ${SWEEP_LIMITS.tasks} tasks a sweep)`,
      CTX,
    );
  return { points, tasks };
}

/** 32-bit FNV-1a of a string. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Canonical text of a point's parameters (keys sorted). */
export function paramsKey(params: Params): string {
  return JSON.stringify(
    Object.keys(params)
      .sort()
      .map((k) => [k, params[k]]),
  );
}

/** The seed of repetition `rep` of the point with these parameters: a stable hash. */
export function pointSeed(sweepSeed: number, params: Params, rep: number): number {
  return seedOfKey(sweepSeed, paramsKey(params), rep);
}

function seedOfKey(sweepSeed: number, key: string, rep: number): number {
  return fnv1a(`${sweepSeed}|${key}|${rep}`);
}

/** mulberry32: the random design's generator (tiny, stable across versions). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function draw(space: ParamSpace, rnd: () => number): ParamValue {
  if (Array.isArray(space)) {
    const list = space as readonly ParamValue[];
    return list[Math.floor(rnd() * list.length)]!;
  }
  const r = space as IntRange | FloatRange;
  if (r.kind === "int") {
    const step = r.step ?? 1;
    const n = Math.floor((r.max - r.min) / step) + 1;
    return r.min + step * Math.floor(rnd() * n);
  }
  if (r.log === true)
    return Math.exp(Math.log(r.min) + rnd() * (Math.log(r.max) - Math.log(r.min)));
  return r.min + rnd() * (r.max - r.min);
}

/** The points of a (checked) spec, in order. */
export function sweepPoints(spec: SweepSpec): DesignPoint[] {
  checkSpec(spec);
  const names = Object.keys(spec.params);
  const fixed = spec.fixed ?? {};
  const d = spec.design ?? "grid";
  if (d === "grid") {
    let combos: Record<string, ParamValue>[] = [{}];
    for (const n of names) {
      const vals = gridValues(spec.params[n]!);
      combos = combos.flatMap((c) => vals.map((v) => ({ ...c, [n]: v })));
    }
    return combos.map((c, index) => ({ index, params: { ...fixed, ...c } }));
  }
  const rnd = mulberry32(fnv1a(`design|${spec.seed ?? 1}`));
  return Array.from({ length: d.points }, (_, index) => {
    const p: Record<string, ParamValue> = { ...fixed };
    for (const n of names) p[n] = draw(spec.params[n]!, rnd);
    return { index, params: p };
  });
}

/** Every task of a spec: points × seeds, point-major. */
export function sweepTasks(spec: SweepSpec): SweepTask[] {
  const points = sweepPoints(spec); // checks the spec first
  const seeds = spec.seeds ?? 1;
  const sweepSeed = spec.seed ?? 1;
  return points.flatMap((p) => {
    // once per point, not per seed: the sorted JSON of the parameters was most of the time the
    // main thread spent before the workers could start
    const key = paramsKey(p.params);
    return Array.from({ length: seeds }, (_, rep) => ({
      run: spec.run,
      point: p.index,
      rep,
      seed: seedOfKey(sweepSeed, key, rep),
      params: p.params,
    }));
  });
}
