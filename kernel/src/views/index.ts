export * from "./timeline-reduce.js";
export * from "./timeline-store.js";
