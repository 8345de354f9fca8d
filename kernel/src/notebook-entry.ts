/**
 * `mmulab/notebook`: what a notebook (or a script) adds on top of the simulator library — sweeps
 * on worker threads (piscina), live sweeps that answer a plot's sliders over the `mmulab.sweep`
 * comm, and the comm registry for cells that open their own comms.
 *
 * Kept apart from `mmulab` so that importing the simulator loads no worker pool.
 */
export {
  closeSweepPools,
  runOnPool,
  runSweep,
  workerUrl,
  type RunSweepOptions,
  type SweepProgress,
} from "./sweep/local.js";
export { liveSweepHandler, serveLiveSweep } from "./sweep/live.js";
export {
  Comm,
  commTargets,
  openComm,
  registerCommTarget,
  registerSweepHandler,
  setSweepHandler,
  type CommMessage,
  type CommMsgHandler,
  type CommTarget,
  type SweepHandler,
} from "./notebook/comm.js";
