export * from "./gup-fast.js";
