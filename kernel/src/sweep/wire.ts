/**
 * What crosses the thread boundary between a sweep and its worker threads, packed.
 *
 * Structured cloning a chunk of task objects one way and of metric objects the other cost a few
 * microseconds per task on each side, and a worker waits for both while its next chunk is made
 * ready: 60–90 ms of a 6,000-trial sweep that ran for 330 ms on two threads was spent between
 * chunks. Packed, a chunk is a few arrays of numbers: the distinct parameter objects once, then a
 * parameter index and a seed per task; and back, one Float64Array of metrics for every task that
 * has the same metric names as the chunk's first successful one (all of them, for the built-in run
 * functions), with failures and other shapes as they are.
 */
import { threadId } from "node:worker_threads";
import type { Metrics } from "./run-functions.js";
import { ensureRunSource, runFunctionSource } from "./run-source.js";
import type { Params, SweepTask } from "./space.js";
import { runOne, type TaskOutcome } from "./task.js";

export interface TaskChunk {
  readonly run: string;
  /** The run function's source, when a notebook defined it (run-source.ts): the worker
   * compiles it, as it has no other way to the function. */
  readonly source?: string;
  /** The distinct parameter objects of the chunk. */
  readonly params: readonly Params[];
  /** Per task: its index in `params`. */
  readonly which: Int32Array;
  /** Per task: its seed (a uint32). */
  readonly seeds: Float64Array;
  /** Where the thread says which task it is running, for a deadline (local.ts). */
  readonly watch?: ChunkWatch;
}

/**
 * A chunk's slot in memory shared with the thread that sent it: while a task runs, the worker
 * thread keeps there when it started (ms since `epoch`, plus one; 0 when no task of the chunk
 * runs), which task of the chunk it is, and its own threadId, so that the sender can tell a task
 * past its deadline and end the thread running it.
 */
export interface ChunkWatch {
  /** WATCH_FIELDS Int32 fields a slot. */
  readonly state: Int32Array;
  readonly slot: number;
  readonly epoch: number;
}

export const WATCH_FIELDS = 3;

/** Packs tasks of one run function (a chunk is always cut from one sweep). */
export function packTasks(tasks: readonly SweepTask[], watch?: ChunkWatch): TaskChunk {
  const params: Params[] = [];
  const which = new Int32Array(tasks.length);
  const seeds = new Float64Array(tasks.length);
  tasks.forEach((t, i) => {
    // tasks come point-major, so a new parameter object is almost always the last one seen
    let k = params.length - 1;
    if (k < 0 || params[k] !== t.params) k = params.indexOf(t.params);
    if (k < 0) k = params.push(t.params) - 1;
    which[i] = k;
    seeds[i] = t.seed;
  });
  const run = tasks[0]?.run ?? "";
  const source = runFunctionSource(run);
  const chunk = { run, params, which, seeds, ...(source === undefined ? {} : { source }) };
  return watch === undefined ? chunk : { ...chunk, watch };
}

/** Runs a packed chunk (in a worker thread). */
export function runChunk(c: TaskChunk): PackedOutcomes {
  if (c.source !== undefined) ensureRunSource(c.run, c.source);
  const outcomes: TaskOutcome[] = [];
  const w = c.watch;
  const at = w === undefined ? 0 : w.slot * WATCH_FIELDS;
  for (let i = 0; i < c.seeds.length; i++) {
    if (w !== undefined) {
      // the start time last: a watcher that reads it, then the task and thread, then it again,
      // sees the same start time only if the task and thread are the ones that started then
      Atomics.store(w.state, at, 0);
      Atomics.store(w.state, at + 1, i);
      Atomics.store(w.state, at + 2, threadId);
      Atomics.store(w.state, at, Date.now() - w.epoch + 1);
    }
    outcomes.push(runOne(c.run, c.params[c.which[i]!]!, c.seeds[i]!));
  }
  if (w !== undefined) Atomics.store(w.state, at, 0);
  return packOutcomes(outcomes);
}

export interface PackedOutcomes {
  readonly count: number;
  readonly names: readonly string[];
  /** `names.length` values per task, in task order (zeros for tasks in `others`). */
  readonly values: Float64Array;
  readonly others: readonly (readonly [index: number, outcome: TaskOutcome])[];
}

function hasNames(m: Metrics, names: readonly string[]): boolean {
  const keys = Object.keys(m);
  return keys.length === names.length && keys.every((k, i) => k === names[i]);
}

export function packOutcomes(outcomes: readonly TaskOutcome[]): PackedOutcomes {
  const first = outcomes.find((o) => o.status === "ok");
  const names = first === undefined ? [] : Object.keys(first.metrics);
  const n = names.length;
  const values = new Float64Array(outcomes.length * n);
  const others: [number, TaskOutcome][] = [];
  outcomes.forEach((o, i) => {
    if (o.status !== "ok" || !hasNames(o.metrics, names)) others.push([i, o]);
    else for (let j = 0; j < n; j++) values[i * n + j] = o.metrics[names[j]!]!;
  });
  return { count: outcomes.length, names, values, others };
}

/** The outcomes of a packed chunk, in task order. */
export function unpackOutcomes(p: PackedOutcomes): TaskOutcome[] {
  const n = p.names.length;
  const out: TaskOutcome[] = [];
  for (let i = 0; i < p.count; i++) {
    const metrics: Record<string, number> = {};
    for (let j = 0; j < n; j++) metrics[p.names[j]!] = p.values[i * n + j]!;
    out.push({ status: "ok", metrics });
  }
  for (const [i, o] of p.others) out[i] = o;
  return out;
}
