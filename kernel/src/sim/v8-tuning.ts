/**
 * V8 flags for a process that builds and drops many small simulations (race trials, sweeps, the
 * explorer): no allocation-site pretenuring, young-generation collection on the allocating
 * thread. Host processes call it (the mmulab command, the notebook executor, the sweep worker
 * threads); the library never does, since the flags hold for every isolate in the process. Why
 * and what it measured: docs/benchmarks.md, "Performance devices in model code".
 */
import { setFlagsFromString } from "node:v8";

let applied = false;

/** Turns V8's allocation-site pretenuring and its GC helper threads for young-generation work off
 * for this process (idempotent). */
export function tuneV8ForShortLivedSimulations(): void {
  if (applied) return;
  applied = true;
  setFlagsFromString("--no-allocation-site-pretenuring");
  setFlagsFromString("--no-parallel-scavenge");
  setFlagsFromString("--no-concurrent-array-buffer-sweeping");
}
