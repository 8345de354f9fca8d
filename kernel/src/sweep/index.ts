/** Parameter sweeps: designs, run-function registry, local pool, distributed engine. */
export * from "./space.js";
export * from "./run-functions.js";
export * from "./task.js";
export * from "./results.js";
export * from "./errors.js";
export * from "./local.js";
export * from "./distributed.js";
export * from "./live.js";
export * from "./interact.js";
export * from "./run-source.js";
export { RUN_LIBRARY, type RunLibrary } from "./library.js";
