export * from "./mime.js";
export * from "./payload.js";
