/** Exhaustive exploration of the race scenarios. */
export * from "./options.js";
export * from "./rcu.js";
export * from "./world.js";
export * from "./explorer.js";
export * from "./promela.js";
export * from "./spin.js";
export * from "./bugs.js";
