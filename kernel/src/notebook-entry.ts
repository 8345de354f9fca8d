/**
 * `mmulab/notebook`: what a notebook (or a script) adds on top of the simulator library — sweeps
 * on worker threads (piscina), live sweeps and `interact` that answer a plot's sliders over the
 * `mmulab.sweep` comm, and the comm registry for cells that open their own comms.
 *
 * Kept apart from `mmulab` so that importing the simulator loads no worker pool.
 */
export {
  closeSweepPools,
  runSweep,
  threadRunner,
  workerUrl,
  type RunSweepOptions,
  type SweepProgress,
} from "./sweep/local.js";
export { liveSweepHandler, serveLiveSweep } from "./sweep/live.js";
// interact(fn, controls): a notebook function re-run by the kernel on each slider move
export * from "./sweep/interact.js";
export {
  Comm,
  commTargets,
  openComm,
  registerCommTarget,
  registerSweepHandler,
  type CommMessage,
  type CommMsgHandler,
  type CommTarget,
  type SweepHandler,
} from "./notebook/comm.js";
