/** Piscina worker entry: runs a chunk of sweep tasks per call (see local.ts). */
import { runTask, type TaskOutcome } from "./task.js";
import type { SweepTask } from "./space.js";

export default function run(tasks: readonly SweepTask[]): TaskOutcome[] {
  return tasks.map(runTask);
}
