/**
 * V8 tuning for a process that builds and drops many small simulations: race trials, sweeps,
 * the exhaustive explorer.
 *
 * V8 pretenures the object and array literals whose objects it sees survive scavenges: once a
 * literal's allocation site is marked "tenure", its objects are allocated straight in the old
 * generation. A simulation's objects live exactly as long as its run, yet within the first few
 * thousand race trials V8's --trace-pretenuring shows the literals of a system tenured, each
 * after a window in which every object it made survived (what started it we did not pin down).
 * After 6,000 trials, 58 of the objects a new trial builds (CPU statistics and queues, RCU
 * lists, allocator statistics, …) started life in the old generation. A dead old
 * object keeps the young objects it points to alive until the next full collection, so every
 * trial's system was then promoted, about 11 KB a trial, and the concurrent marking that followed
 * kept a second core a third busy: a two-thread sweep could not reach 2× one thread. Without
 * pretenuring a trial's objects die young. On one thread, 6,000 warm trials took 0.49–0.83 s
 * with 0.06 s of GC helper-thread time, against 0.79–1.16 s and 0.22–0.32 s (three runs each,
 * alternated; kernel/test/sim/v8-tuning.test.ts checks the objects stay young).
 *
 * V8 flags belong to the process, not to a thread, so this changes the heuristic for every
 * isolate in it; long-running kernbench builds measured the same either way.
 */
import { setFlagsFromString } from "node:v8";

let applied = false;

/** Turns V8's allocation-site pretenuring off for this process (idempotent). */
export function tuneV8ForShortLivedSimulations(): void {
  if (applied) return;
  applied = true;
  setFlagsFromString("--no-allocation-site-pretenuring");
}
