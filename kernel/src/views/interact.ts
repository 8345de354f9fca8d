/**
 * The plot side of `interact(fn, controls)` (sweep/interact.ts): controls become slider axes, and
 * what a notebook function returns for one slider position becomes that frame's traces. Pure:
 * no comm, no display, so a test can check every rule here.
 *
 * A control is a list of values (numbers, strings or booleans: one slider stop each) or a range
 * `{min, max, step?}` (stops min, min + step, … up to max; step defaults to 1). A function may
 * return a plot payload, a list of plotly traces, `{data, layout?}`, or named numbers (a metrics
 * record, as run functions return), which are drawn as one bar per name.
 */
import type { PlotlyJson, PlotPayload, SweepAxis } from "../contract/mime.js";
import { checkPlotPayload } from "../contract/payload.js";
import { ParameterError } from "../sim/errors.js";

export type ControlValue = number | string | boolean;

/** A range control: slider stops from `min` to `max` by `step` (default 1). */
export interface RangeControl {
  readonly min: number;
  readonly max: number;
  readonly step?: number;
}

export type Control = readonly ControlValue[] | RangeControl;

export type Controls = Readonly<Record<string, Control>>;

/** The values a function is called with: one per control. */
export type ControlValues<C extends Controls> = {
  readonly [K in keyof C]: C[K] extends readonly (infer V)[] ? V : number;
};

/** What an interact function may return for one slider position. */
export type InteractOutput =
  | PlotPayload
  | readonly PlotlyJson[]
  | { readonly data: readonly PlotlyJson[]; readonly layout?: PlotlyJson }
  | Readonly<Record<string, number>>;

/** Most stops on one control: each is a slider position the kernel may be asked for. */
export const MAX_CONTROL_VALUES = 10_000;

const CTX = "interact";

/** The stops of one control, checked (a clear error names the control and what it accepts). */
export function controlValues(name: string, c: unknown): ControlValue[] {
  if (Array.isArray(c)) {
    const values = c as unknown[];
    if (values.length === 0 || values.length > MAX_CONTROL_VALUES)
      throw new ParameterError(
        name,
        c,
        `a list of 1 … ${MAX_CONTROL_VALUES} values or a range {min, max, step?}`,
        CTX,
      );
    values.forEach((v, i) => {
      const ok =
        typeof v === "string" ||
        typeof v === "boolean" ||
        (typeof v === "number" && Number.isFinite(v));
      if (!ok)
        throw new ParameterError(`${name}[${i}]`, v, "a finite number, a string or a boolean", CTX);
    });
    if (new Set(values.map((v) => String(v))).size !== values.length)
      throw new ParameterError(name, c, "values that differ from each other", CTX);
    return values as ControlValue[];
  }
  if (c === null || typeof c !== "object")
    throw new ParameterError(name, c, "a list of values or a range {min, max, step?}", CTX);
  const r = c as Partial<RangeControl>;
  const step = r.step ?? 1;
  if (typeof r.min !== "number" || !Number.isFinite(r.min))
    throw new ParameterError(`${name}.min`, r.min, "a finite number", CTX);
  if (typeof r.max !== "number" || !Number.isFinite(r.max) || r.max < r.min)
    throw new ParameterError(`${name}.max`, r.max, `a finite number ≥ min (${r.min})`, CTX);
  if (typeof step !== "number" || !Number.isFinite(step) || step <= 0)
    throw new ParameterError(`${name}.step`, step, "a positive finite number", CTX);
  const n = Math.floor((r.max - r.min) / step + 1e-9) + 1;
  if (n > MAX_CONTROL_VALUES)
    throw new ParameterError(
      `${name}.step`,
      step,
      `at most ${MAX_CONTROL_VALUES} stops from ${r.min} to ${r.max}`,
      CTX,
    );
  // min + i·step, rounded to the step's decimals so 0.1 steps read 0.3, not 0.30000000000000004
  const decimals = Math.min(12, Math.max(0, -Math.floor(Math.log10(step)) + 2));
  return Array.from({ length: n }, (_, i) => Number((r.min! + i * step).toFixed(decimals)));
}

/** Slider axes of the controls, in their order. Booleans travel as "true"/"false" (the plot
 * contract's axis values are numbers and strings). */
export function controlAxes(controls: unknown): { axes: SweepAxis[]; values: ControlValue[][] } {
  if (controls === null || typeof controls !== "object" || Array.isArray(controls))
    throw new ParameterError("controls", controls, "an object of named controls", CTX);
  const names = Object.keys(controls);
  if (names.length === 0)
    throw new ParameterError("controls", controls, "at least one control", CTX);
  const values = names.map((n) => controlValues(n, (controls as Record<string, unknown>)[n]));
  const axes = names.map((name, i) => ({
    name,
    label: name,
    values: values[i]!.map((v) => (typeof v === "boolean" ? String(v) : v)),
  }));
  return { axes, values };
}

/** The control values at a slider key (one axis value per control), or a ParameterError. */
export function valuesAt(
  axes: readonly SweepAxis[],
  values: readonly (readonly ControlValue[])[],
  key: unknown,
): Record<string, ControlValue> {
  if (!Array.isArray(key) || key.length !== axes.length)
    throw new ParameterError("key", key, `an array of ${axes.length} value(s)`, CTX);
  const out: Record<string, ControlValue> = {};
  axes.forEach((a, i) => {
    const j = a.values.indexOf(key[i] as string | number);
    if (j < 0) throw new ParameterError(a.name, key[i], `one of the control's values`, CTX);
    out[a.name] = values[i]![j]!;
  });
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** A function's output as traces and an optional layout, checked like a plot payload. */
export function outputFigure(out: unknown): { data: PlotlyJson[]; layout?: PlotlyJson } {
  let data: unknown;
  let layout: unknown;
  if (Array.isArray(out)) data = out;
  else if (isObject(out) && Array.isArray(out["data"])) {
    data = out["data"];
    layout = out["layout"];
  } else if (isObject(out) && Object.values(out).every((v) => typeof v === "number")) {
    const names = Object.keys(out);
    data = [{ type: "bar", name: "value", x: names, y: names.map((n) => out[n] as number) }];
  } else
    throw new ParameterError(
      "fn",
      out,
      "a function returning a plot payload, a list of plotly traces, {data, layout?} or named numbers",
      CTX,
    );
  // The contract's own check: JSON, finite numbers, traces as objects.
  const probe = { version: 1, data, layout: layout ?? {} };
  checkPlotPayload(probe);
  return layout === undefined
    ? { data: [...probe.data] as PlotlyJson[] }
    : { data: [...probe.data] as PlotlyJson[], layout: probe.layout };
}

export interface InteractFrame {
  readonly key: readonly (number | string)[];
  readonly data: readonly PlotlyJson[];
}

/**
 * Which slider keys to compute before the plot is shown (the frames a notebook keeps for readers
 * without a kernel): every combination when there are at most `max`, otherwise the first point
 * and every point that differs from it in one control only (each slider moved alone from the
 * start), up to `max`.
 */
export function precomputedKeys(axes: readonly SweepAxis[], max: number): (number | string)[][] {
  if (max <= 0) return [axes.map((a) => a.values[0]!)];
  const total = axes.reduce((n, a) => n * a.values.length, 1);
  if (total <= max) {
    let keys: (number | string)[][] = [[]];
    for (const a of axes) keys = keys.flatMap((k) => a.values.map((v) => [...k, v]));
    return keys;
  }
  const first = axes.map((a) => a.values[0]!);
  const keys = [first];
  for (let i = 0; i < axes.length && keys.length < max; i++)
    for (const v of axes[i]!.values.slice(1)) {
      if (keys.length >= max) break;
      const k = [...first];
      k[i] = v;
      keys.push(k);
    }
  return keys;
}

/** The plot payload of an interact: the first frame drawn, the frames, the kernel's id. */
export function interactPlot(o: {
  readonly title: string;
  readonly axes: readonly SweepAxis[];
  readonly frames: readonly InteractFrame[];
  readonly layout: PlotlyJson;
  readonly id: string;
  readonly yRange?: "auto" | "fixed";
}): PlotPayload {
  const first = o.frames[0];
  const payload: PlotPayload = {
    version: 1,
    title: o.title,
    data: first?.data ?? [],
    layout: o.layout,
    sweep: {
      axes: o.axes,
      frames: o.frames,
      id: o.id,
      ...(o.yRange === undefined ? {} : { yRange: o.yRange }),
    },
  };
  checkPlotPayload(payload);
  return payload;
}

/** For messages: "cpus = 4, backend = xen-pv". */
export function describeValues(values: Readonly<Record<string, ControlValue>>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
    .join(", ");
}
