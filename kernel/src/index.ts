/**
 * mmulab's public API: everything a notebook or script imports as `from "mmulab"` (the
 * @mmulab/kernel package). Layers, bottom up: the engine (sim), hardware (hw), memory management
 * (mm), x86 flushing (arch/x86), RCU (rcu), gup_fast (gup), version profiles (config), and the
 * experiments built from them.
 */
export const VERSION = "0.1.0";

export * from "./sim/index.js";
export * from "./hw/index.js";
export * from "./mm/index.js";
export * from "./arch/x86/index.js";
export * from "./rcu/index.js";
export * from "./gup/index.js";
export * from "./config/profiles.js";
// the contract: MIME and payload types, the comm protocols (the payload checks come with display)
export * from "./contract/mime.js";
export * from "./contract/comm.js";
export * from "./system/build.js";
export * from "./system/host.js";
export { contextSwitchMm } from "./system/context-switch.js";
export * from "./experiments/scenarios.js";
export * from "./experiments/race-matrix.js";
export * from "./experiments/timeline.js";
export * from "./experiments/irqoff-munmap.js";
export * from "./experiments/ebizzy-vms.js";
export * from "./explore/index.js";
// kernbench: single builds, the seed's table, and kernbench's own averaging.
export * from "./experiments/kernbench.js";
export * from "./experiments/kernbench-stats.js";
export * from "./experiments/kernbench-table.js";
export { HOSTS, HOST_NAMES, kernbenchHost, type HostProfile } from "./workloads/hosts.js";
export type { BuildStats } from "./workloads/kernbench.js";

// Notebook displays and comms: `import { display, progress, … } from "mmulab"` in a cell.
export * from "./display/index.js";
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
export * from "./sweep/index.js";
// Ground truth: the model's counts against Debian's kernel under qemu.
export * from "./config/kconfig.js";
export {
  runValidationModel,
  VALIDATION_LAYOUT,
  VALIDATION_WORKLOADS,
  type ModelCounts,
  type ValidationParams,
  type ValidationWorkload,
} from "./workloads/validation.js";
export * from "./validate/index.js";
