/**
 * `interact(fn, controls)`, after ipywidgets' `interact`: a plot with one slider per control,
 * drawn from a function written in the notebook. Each slider move asks the kernel, over the
 * `mmulab.sweep` comm, to run `fn` again with the slider values; the plot carries precomputed
 * frames too (every combination, or each slider moved alone from the start when there are too
 * many), so a notebook shown without a kernel still answers those positions.
 *
 *   const handle = await interact(
 *     ({ cpus, backend }) => sweepResultPlot(...) or [{ x, y, name }] or { munmapNs: … },
 *     { cpus: [2, 4, 8, 16], backend: ["native", "xen-pv"], stallNs: { min: 0, max: 1e5, step: 1e4 } },
 *   );
 *
 * `fn` runs in the kernel's own thread each time a slider moves, so it sees objects the notebook
 * has changed since (a later cell's `state.scale = 1000` changes the next answer). A top-level
 * `let` that a later cell reassigns is another matter: each cell is compiled as its own module
 * and names are carried to later cells by value, so `fn` keeps the binding of the cell that
 * defined it; keep what should change in an object, or re-run the interact cell. The controls,
 * their values and what fn may return are in views/interact.ts.
 */
import type { PlotlyJson, PlotPayload } from "../contract/mime.js";
import { displayPlot } from "../display/display.js";
import { QUIET_RESULT } from "../display/mime.js";
import { notebookRuntime } from "../display/runtime.js";
import { nextSweepId, registerSweepHandler } from "../notebook/comm.js";
import { checkInt, ParameterError } from "../sim/errors.js";
import {
  controlAxes,
  describeValues,
  interactPlot,
  outputFigure,
  precomputedKeys,
  valuesAt,
  type Controls,
  type ControlValues,
  type InteractFrame,
  type InteractOutput,
} from "../views/interact.js";

export type {
  Control,
  Controls,
  ControlValue,
  ControlValues,
  InteractOutput,
  RangeControl,
} from "../views/interact.js";

export interface InteractOptions {
  /** The plot's title (default "interact"). */
  readonly title?: string;
  /** Frames computed before the plot is shown, 0 … 10,000 (default 64). */
  readonly precompute?: number;
  /** One y range over every frame ("fixed") or each frame fitted ("auto", the default). */
  readonly yRange?: "auto" | "fixed";
  /** Layout for every frame whose output brings none (axis titles, log axes …). */
  readonly layout?: PlotlyJson;
  /** Show the plot now (default: when running in the notebook kernel). */
  readonly display?: boolean;
}

/** What interact returns: the plot, and a way to stop the kernel answering for it. */
export interface Interactive {
  readonly plot: PlotPayload;
  /** The plot's sweep id, under which the kernel answers its sliders. */
  readonly id: string;
  /** How many times `fn` ran (precomputed frames and live answers). */
  readonly calls: number;
  /** Stops answering this plot's sliders (they keep their precomputed frames). */
  close(): void;
}

const CTX = "interact";
export const MAX_PRECOMPUTED_FRAMES = 10_000;

/**
 * Shows a plot whose sliders re-run `fn` in the kernel (see the module comment). Resolves when
 * the precomputed frames are done; a throw from `fn` there rejects, naming the slider values.
 */
export async function interact<C extends Controls>(
  fn: (values: ControlValues<C>) => InteractOutput | Promise<InteractOutput>,
  controls: C,
  options: InteractOptions = {},
): Promise<Interactive> {
  if (typeof fn !== "function")
    throw new ParameterError("fn", fn, "a function of the control values", CTX);
  const { axes, values } = controlAxes(controls);
  const precompute = checkInt(
    "precompute",
    options.precompute ?? 64,
    0,
    MAX_PRECOMPUTED_FRAMES,
    CTX,
  );
  if (options.yRange !== undefined && options.yRange !== "auto" && options.yRange !== "fixed")
    throw new ParameterError("yRange", options.yRange, '"auto" or "fixed"', CTX);
  let calls = 0;
  const run = async (key: readonly unknown[]) => {
    const at = valuesAt(axes, values, key);
    calls++;
    let out: InteractOutput;
    try {
      out = await fn(at as ControlValues<C>);
    } catch (e) {
      if (e instanceof Error) e.message = `at ${describeValues(at)}: ${e.message}`;
      throw e;
    }
    return outputFigure(out);
  };
  const frames: InteractFrame[] = [];
  let layout: PlotlyJson | undefined;
  for (const key of precomputedKeys(axes, precompute)) {
    const fig = await run(key);
    frames.push({ key, data: fig.data });
    layout ??= fig.layout;
  }
  const id = nextSweepId();
  const plot = interactPlot({
    title: options.title ?? "interact",
    axes,
    frames: precompute === 0 ? [] : frames,
    layout: { ...(options.layout ?? {}), ...(layout ?? {}) },
    id,
    ...(options.yRange === undefined ? {} : { yRange: options.yRange }),
  });
  // without precomputed frames, the first point is still what the plot opens on
  const shown: PlotPayload = precompute === 0 ? { ...plot, data: frames[0]!.data } : plot;
  const close = registerSweepHandler(id, async (request) => {
    const key = request["key"];
    const fig = await run(Array.isArray(key) ? key : [key]);
    return {
      key: key ?? null,
      data: fig.data,
      ...(fig.layout === undefined ? {} : { layout: fig.layout }),
    };
  });
  if (options.display ?? notebookRuntime() !== null) displayPlot(shown);
  const handle = {
    plot: shown,
    id,
    get calls() {
      return calls;
    },
    close,
  };
  Object.defineProperty(handle, QUIET_RESULT, { value: true });
  return handle;
}
