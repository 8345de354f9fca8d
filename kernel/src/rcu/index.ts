/**
 * The RCU layer: RCU quiescent states, grace periods and callbacks, on the scheduling-clock tick
 * of hw/tick.ts
 * (Tree RCU at v4.14, with the v4.20 flavour consolidation). See tree.ts for the model and
 * docs/model.md ("RCU") for parameters, sources and measured grace-period latencies.
 */
export * from "./params.js";
export * from "./readers.js";
export * from "./tree.js";
