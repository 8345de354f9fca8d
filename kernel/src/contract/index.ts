export * from "./mime.js";
export * from "./payload.js";
export * from "./comm.js";
export * from "./timeline-comm.js";
export * from "./timeline-palette.js";
export * from "./timeline-trace.js";
