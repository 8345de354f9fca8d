/**
 * Build process entry: runs the kernbench builds a process runner sends (kernbench-table.ts,
 * process-runner.ts). A child process rather than a worker thread, so that it can have its own
 * V8 flags (buildProcessFlags).
 */
import { runKernbench } from "./kernbench.js";
import { serveTasks } from "./process-runner.js";

serveTasks(runKernbench);
