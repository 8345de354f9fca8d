/** The bug registry (docs/bugs.md): definitions, the registry, and runBug. */
export * from "./types.js";
export * from "./registry.js";
export * from "./run.js";
