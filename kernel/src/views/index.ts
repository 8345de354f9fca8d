/** Views: plot, timeline and table payloads built from results (interact's frames so far). */
export * from "./interact.js";
