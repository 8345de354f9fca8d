/** Piscina worker entry: runs a chunk of sweep tasks per call (see local.ts). */
import { tuneV8ForShortLivedSimulations } from "../sim/v8-tuning.js";
import { runTask, type TaskOutcome } from "./task.js";
import type { SweepTask } from "./space.js";

tuneV8ForShortLivedSimulations();

export default function run(tasks: readonly SweepTask[]): TaskOutcome[] {
  return tasks.map(runTask);
}
