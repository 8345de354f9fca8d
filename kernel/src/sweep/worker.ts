/** Piscina worker entry: runs a packed chunk of sweep tasks per call (see local.ts, wire.ts). */
import { tuneV8ForShortLivedSimulations } from "../sim/v8-tuning.js";
import { runChunk, type PackedOutcomes, type TaskChunk } from "./wire.js";

tuneV8ForShortLivedSimulations();

export default function run(chunk: TaskChunk): PackedOutcomes {
  return runChunk(chunk);
}
