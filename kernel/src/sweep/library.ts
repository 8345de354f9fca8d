/**
 * The simulator as a run function defined from source sees it: the third argument of every
 * function registered with `defineRunFunction` (run-source.ts), on this thread and on the worker
 * threads alike. A function sent to a worker travels as its source text, without the cell's
 * imports, so the library comes to it as a value instead: `(params, seed, { runTrial }) => …`.
 *
 * Everything below the sweep layer that a model run needs: the engine, hardware, mm, x86 flush
 * backends, RCU, gup, version profiles, systems and the experiments.
 */
import * as profiles from "../config/profiles.js";
import * as irqoffMunmap from "../experiments/irqoff-munmap.js";
import * as kernbench from "../experiments/kernbench.js";
import * as scenarios from "../experiments/scenarios.js";
import * as x86 from "../arch/x86/index.js";
import * as gup from "../gup/index.js";
import * as hw from "../hw/index.js";
import * as mm from "../mm/index.js";
import * as rcu from "../rcu/index.js";
import * as sim from "../sim/index.js";
import * as build from "../system/build.js";
import * as host from "../system/host.js";

export const RUN_LIBRARY = Object.freeze({
  ...sim,
  ...hw,
  ...mm,
  ...x86,
  ...rcu,
  ...gup,
  ...profiles,
  ...build,
  ...host,
  ...scenarios,
  ...irqoffMunmap,
  ...kernbench,
});

/** The library a run function defined from source receives as its third argument. */
export type RunLibrary = typeof RUN_LIBRARY;
