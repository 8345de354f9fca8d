export * from "./errors.js";
export * from "./event-queue.js";
export * from "./event.js";
export * from "./process.js";
export * from "./rng.js";
export * from "./simulation.js";
export * from "./trace.js";
export * from "./user-interrupt.js";
