/**
 * mmulab's public API: everything a notebook or script imports as `from "mmulab"` (the
 * @mmulab/kernel package). Layers, bottom up: the engine (sim), hardware (hw), memory management
 * (mm), x86 flushing (arch/x86), RCU (rcu), gup_fast (gup), version profiles (config), systems,
 * workloads and the experiments built from them, and their displays.
 *
 * The other entry points, by audience: `mmulab/notebook` (sweeps on worker threads, live sweeps,
 * comms), `mmulab/distributed` (sweeps on BullMQ), `mmulab/contract` (the MIME and comm contract
 * shared with the lab extension), and the `mmulab` CLI. None of bullmq, zeromq, tslab or piscina is
 * in this entry's import graph (kernel/test/architecture/entries.test.ts).
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
// the later table-freeing paths' scenarios (pte_offset_map walkers, retract, PT_RECLAIM, mremap,
// hugetlb sharing), which the bug registry's §5–§7 entries run
export {
  PATH_SCENARIO_NAMES,
  runPathTrial,
  type PathScenarioName,
  type PathTrialOptions,
  type PathTrialResult,
} from "./experiments/path-scenarios.js";
export * from "./experiments/race-matrix.js";
export * from "./experiments/irqoff-munmap.js";
export * from "./experiments/ebizzy-vms.js";
// The bug registry (docs/bugs.md): each page-table freeing bug's before/after runs, computed by runBug.
export * from "./experiments/bugs/index.js";
export * from "./explore/index.js";
// kernbench: single builds, the seed's table, and kernbench's own averaging.
export * from "./experiments/kernbench.js";
export * from "./experiments/kernbench-stats.js";
export * from "./experiments/kernbench-table.js";
export * from "./experiments/seed-comparison.js";
export * from "./experiments/significance.js";
export { HOSTS, HOST_NAMES, kernbenchHost, type HostProfile } from "./workloads/hosts.js";
// the literature's host/guest flush experiments, and will-it-scale's tlb_flush2_threads
export * from "./experiments/published.js";
export * from "./workloads/willitscale.js";
export {
  makeBuild,
  processLife,
  type BuildParams,
  type BuildStats,
  type ProcKind,
  type ProcessLife,
} from "./workloads/kernbench.js";
// The task scheduler the workloads run on, and the microworkloads (madvise storm, ebizzy, …).
export * from "./sched/scheduler.js";
export * from "./sched/cputime.js";
export * from "./workloads/micro.js";

// Notebook displays: `import { display, progress, … } from "mmulab"` in a cell. They write to the
// notebook runtime seam (notebook/), so a script can import them too; outside a kernel they print.
export * from "./views/index.js";
export * from "./display/index.js";
// Sweeps as data: designs, the run-function registry, tasks and results. Running them on worker
// threads or live from a plot's sliders is `mmulab/notebook`; on a BullMQ queue, `mmulab/distributed`.
export * from "./sweep/space.js";
export * from "./sweep/run-functions.js";
export * from "./sweep/task.js";
export * from "./sweep/results.js";
export * from "./sweep/errors.js";
// Run functions written in a notebook: they reach worker threads as source (run-source.ts).
export * from "./sweep/run-source.js";
export { RUN_LIBRARY, type RunLibrary } from "./sweep/library.js";
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
