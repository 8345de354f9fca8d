/**
 * The comm protocols between the kernel and the JupyterLab front end (Jupyter messaging spec,
 * "Custom Messages"). One target today: `mmulab.sweep`, live interactive sweeps. The kernel
 * registers it at start-up (notebook/comm.ts); the lab extension opens one comm per rendered
 * plot on its notebook's kernel (lab-extension/src/kernel-comm.ts) and asks for the traces at a
 * slider point (lab-extension/src/live-sweep.ts). Both sides take the names and shapes from here.
 *
 * Protocol version 2:
 *
 *   front end → kernel  comm_open  data {}                           kernel answers {ready, protocol}
 *   front end → kernel  comm_msg   data {id, sweep, key}             (SweepRequest)
 *   kernel → front end  comm_msg   data {id, ok: true, result}  or  {id, ok: false, error}
 *
 * `sweep` names the kernel's handler: a live plot carries it as its payload's `sweep.id`, and only
 * a plot that carries one asks the kernel at all. A request without it is refused (version 1 let
 * the kernel answer it with the most recently served sweep, so the sliders of a plot with only
 * precomputed frames showed another plot's data). A handler's `result` is {@link SweepSlice}.
 */
import type { JsonValue, PlotlyJson } from "./mime.js";

export const SWEEP_COMM_TARGET = "mmulab.sweep";
export const SWEEP_PROTOCOL_VERSION = 2;

/** The kernel's first message on a new `mmulab.sweep` comm. */
export interface SweepReady {
  readonly ready: true;
  readonly protocol: typeof SWEEP_PROTOCOL_VERSION;
}

/** A front end's request: the values of the plot's slider axes, in axis order. */
export interface SweepRequest {
  /** Chosen by the front end; the answer carries it back. */
  readonly id: number;
  /** The plot payload's `sweep.id`: which of the kernel's handlers answers. */
  readonly sweep: string;
  readonly key: readonly (number | string)[];
}

/** Why the kernel refused a request: the error's class name and message. */
export interface SweepErrorInfo {
  readonly name: string;
  readonly message: string;
}

/** The kernel's answer; `id` is the request's (null when the request had none). */
export type SweepResponse =
  | { readonly id: JsonValue; readonly ok: true; readonly result: JsonValue }
  | { readonly id: JsonValue; readonly ok: false; readonly error: SweepErrorInfo };

/** The `result` of a live-sweep handler: the traces of the plot at `key`, and (interact(), whose
 * function may change axis titles or types) the layout to draw them with. */
export interface SweepSlice {
  readonly key: readonly (number | string)[];
  readonly data: readonly PlotlyJson[];
  readonly layout?: PlotlyJson;
}

/** Comm data on the `mmulab.sweep` comm, either direction. */
export type SweepMessage = SweepReady | SweepRequest | SweepResponse;
