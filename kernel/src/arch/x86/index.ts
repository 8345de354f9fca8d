export * from "./pgtable.js";
export * from "./tlb.js";
export * from "./backends.js";
export * from "./page-walker.js";
