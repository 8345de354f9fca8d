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
 * Young-generation collections stay on the thread that allocates. Node gives V8 a pool of four
 * helper threads whatever the machine, and V8 splits a scavenge into up to one task per megabyte
 * of young generation, capped at the pool size plus one: five tasks, each scavenge a barrier
 * among them. A simulation's young generation holds little that survives, so the split buys
 * nothing, and when every core runs a simulation (a sweep with a worker per core) the helpers
 * only take turns on cores that are busy. Freeing typed arrays' backing stores after a scavenge
 * stays on the allocating thread for the same reason. On 6,000 race trials per sweep,
 * alternated runs on this two-core machine: one worker 492–578 ms against 589–608 ms with the
 * helpers, two workers 274–293 ms against 336–388 ms; a worker then does all of its own
 * collection and still uses less CPU than it did with helpers (460 against 540 ms).
 *
 * V8 flags belong to the process, not to a thread, so this changes the heuristics for every
 * isolate in it. Kernbench builds run in a tuned process measured the same either way (three
 * alternated processes of three 6-CPU builds each); the build processes of `runBuilds` set their
 * own flags. V8 reads these flags as a collection starts or ends, so setting them while other
 * isolates run is safe.
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
