export * from "./errors.js";
export * from "./event-queue.js";
export * from "./event.js";
// Processes; KfnOrDone/runRest are the plain-call fast path's plumbing, not API.
export { Process, spin, Spin, waitFor, WaitFor, type Kfn, type Yieldable } from "./process.js";
export * from "./rng.js";
export * from "./simulation.js";
export * from "./trace.js";
export * from "./user-interrupt.js";
