/**
 * Parameter spaces and designs of a sweep: named parameters, each a list of values or an integer
 * or float range; a grid (every combination) or a random design (n points drawn from the space
 * with the sweep seed). Every point's seeds come from the sweep seed and the point's parameters
 * through a stable hash, so a point gets the same seeds whatever the order or the number of
 * workers that run it.
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

/** The grid values of one parameter. */
export function gridValues(space: ParamSpace): ParamValue[] {
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
 * Most points a sweep may have, grid or random design. A grid is counted from its axes before
 * anything is expanded: `int:0..1000000000` used to build a billion-entry array and kill the
 * process (V8 fatal), three 1,000-value axes a billion points.
 */
export const MAX_SWEEP_POINTS = 1_000_000;
/** Most tasks (points × seeds) a sweep may have: each is an object queued and a row kept. */
export const MAX_SWEEP_TASKS = 1_000_000;

/** Values on one axis of the grid, counted without making them (the space is checked). */
export function axisPoints(space: ParamSpace): number {
  if (Array.isArray(space)) return space.length;
  const r = space as IntRange | FloatRange;
  if (r.kind === "int") return Math.floor((r.max - r.min) / (r.step ?? 1)) + 1;
  return r.steps ?? 5;
}

/** Points of a grid over `params`, counted without making them (may exceed the ceiling). */
export function gridPoints(params: Readonly<Record<string, ParamSpace>>): number {
  let points = 1;
  for (const space of Object.values(params)) points *= axisPoints(space);
  return points;
}

/** Checks a whole spec (before any work starts), ceilings included. */
export function checkSpec(spec: SweepSpec): void {
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
  const seeds = checkInt("seeds", spec.seeds ?? 1, 1, 100_000, CTX);
  checkInt("seed", spec.seed ?? 1, 0, 2 ** 32 - 1, CTX);
  const d = spec.design ?? "grid";
  let points: number;
  if (d === "grid") {
    points = gridPoints(spec.params);
    if (points > MAX_SWEEP_POINTS)
      throw new ParameterError(
        "params",
        spec.params,
        `a grid of at most ${MAX_SWEEP_POINTS} points (these axes make ${points}); narrow ` +
          "the ranges, use fewer values or steps, or a random design",
        CTX,
      );
  } else {
    if (d === null || typeof d !== "object" || d.kind !== "random")
      throw new ParameterError("design", d, '"grid" or {kind: "random", points}', CTX);
    points = checkInt("design.points", d.points, 1, MAX_SWEEP_POINTS, CTX);
  }
  if (points * seeds > MAX_SWEEP_TASKS)
    throw new ParameterError(
      "seeds",
      seeds,
      `at most ${Math.floor(MAX_SWEEP_TASKS / points)} for ${points} points (points × seeds ` +
        `at most ${MAX_SWEEP_TASKS})`,
      CTX,
    );
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
