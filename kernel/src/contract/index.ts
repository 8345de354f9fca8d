export * from "./mime.js";
