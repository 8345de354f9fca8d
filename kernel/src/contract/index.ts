export * from "./mime.js";
export * from "./payload.js";
export * from "./comm.js";
