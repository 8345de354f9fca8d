export * from "./errors.js";
export * from "./event-queue.js";
export * from "./event.js";
// Processes; a plain-call step (KfnOrDone) is run with runRest.
export {
  Process,
  runRest,
  spin,
  Spin,
  waitFor,
  WaitFor,
  type Kfn,
  type KfnOrDone,
  type Yieldable,
} from "./process.js";
export * from "./rng.js";
export * from "./simulation.js";
export type { TaskRunner } from "./task-runner.js";
export * from "./trace.js";
export * from "./user-interrupt.js";
