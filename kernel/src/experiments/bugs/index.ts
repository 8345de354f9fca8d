/** The bug registry (issue 19): definitions, the registry, and runBug. */
export * from "./types.js";
export * from "./registry.js";
export * from "./run.js";
