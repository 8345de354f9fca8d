export * from "./pgtable.js";
export * from "./tlb.js";
