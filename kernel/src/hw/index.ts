export * from "./costs.js";
export * from "./cpu.js";
export * from "./irqflags.js";
export * from "./machine.js";
export * from "./smp.js";
export * from "./host.js";
export * from "./tlb-cache.js";
export * from "./tick.js";
