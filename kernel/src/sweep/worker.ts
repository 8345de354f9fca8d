/** Piscina worker entry: runs a chunk of sweep tasks per call (see local.ts). */
import { executeTask, type SweepRow } from "./task.js";
import type { SweepTask } from "./space.js";

export default function run(tasks: readonly SweepTask[]): SweepRow[] {
  return tasks.map(executeTask);
}
