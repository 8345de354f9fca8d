/**
 * Local parallel sweeps on a pool of worker threads (piscina). Every task's seed is fixed by the
 * sweep seed and its point, so the rows are identical for any number of workers (0 runs inline).
 * Aborting (AbortSignal, or a notebook interrupt) cancels queued tasks, terminates running ones (by
 * ending the thread pool, unless another sweep shares it) and rejects with {@link SweepCancelled},
 * which carries the rows finished so far. A task on a thread that runs past `taskTimeoutMs` has its
 * thread ended and becomes a failed row (SweepTaskTimeout); inline (0 workers) there is no thread to
 * end, and no deadline. The worker threads apply sim/v8-tuning.ts, whose V8 flags hold for the
 * whole process, the thread that started the sweep included.
 */
import { setMaxListeners } from "node:events";
import { availableParallelism } from "node:os";
import { Piscina } from "piscina";
import { progress as notebookProgress, type ProgressUpdater } from "../display/progress.js";
import { onInterrupt } from "../display/runtime.js";
import { checkInt } from "../sim/errors.js";
import type { TaskRunner } from "../sim/task-runner.js";
import {
  DEFAULT_TASK_TIMEOUT_MS,
  MAX_TASK_TIMEOUT_MS,
  SweepCancelled,
  SweepTimeout,
  taskTimeoutText,
} from "./errors.js";
import { sortRows, type SweepResult } from "./results.js";
import { sweepTasks, type SweepSpec, type SweepTask } from "./space.js";
import { executeTask, rowOf, type SweepRow } from "./task.js";
import {
  packTasks,
  unpackOutcomes,
  WATCH_FIELDS,
  type PackedOutcomes,
  type TaskChunk,
} from "./wire.js";

export type SweepProgress = (done: number, total: number, row: SweepRow) => void;

export interface RunSweepOptions {
  /** Worker threads; 0 runs inline in this thread. Default: available parallelism. */
  readonly workers?: number;
  readonly onProgress?: SweepProgress;
  readonly signal?: AbortSignal;
  /** Show a progress display in the notebook kernel, or on stderr when it is a terminal
   * (default true). */
  readonly progress?: boolean;
  /** Deadline of one task on a worker thread, ms (default 600 000; none inline). */
  readonly taskTimeoutMs?: number;
  /** Deadline of the whole sweep, ms: then it stops as when cancelled, and rejects with a
   * {@link SweepTimeout} carrying the rows finished (default: none). */
  readonly deadlineMs?: number;
}

/** The compiled worker entry: beside this file in dist; from the sources (vitest), in dist. */
export function workerUrl(name: string): URL {
  const here = import.meta.url;
  return here.endsWith(".ts")
    ? new URL(`../../dist/sweep/${name}.js`, here)
    : new URL(`./${name}.js`, here);
}

function abortError(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** Runs a sweep locally; rows sorted by point and seed. */
export async function runSweep(spec: SweepSpec, o: RunSweepOptions = {}): Promise<SweepResult> {
  const tasks = sweepTasks(spec);
  const workers = o.workers ?? availableParallelism();
  checkInt("workers", workers, 0, 1024, "runSweep");
  const taskTimeoutMs = checkInt(
    "taskTimeoutMs",
    o.taskTimeoutMs ?? DEFAULT_TASK_TIMEOUT_MS,
    1,
    MAX_TASK_TIMEOUT_MS,
    "runSweep",
  );
  if (o.deadlineMs !== undefined)
    checkInt("deadlineMs", o.deadlineMs, 1, Number.MAX_SAFE_INTEGER, "runSweep");
  const ctl = new AbortController();
  // one listener per queued task on the pool
  setMaxListeners(0, ctl.signal);
  const forward = () => ctl.abort();
  o.signal?.addEventListener("abort", forward, { once: true });
  if (o.signal?.aborted === true) ctl.abort();
  const offInterrupt = onInterrupt(forward);
  let timedOut = false;
  const deadline =
    o.deadlineMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          ctl.abort();
        }, o.deadlineMs);
  // in a notebook, or on a terminal's stderr (the CLI); nothing in a pipe or a log
  const bar: ProgressUpdater | null =
    o.progress !== false ? notebookProgress(tasks.length, { label: `sweep ${spec.run}` }) : null;
  const rows: SweepRow[] = [];
  const record = (row: SweepRow) => {
    rows.push(row);
    o.onProgress?.(rows.length, tasks.length, row);
    bar?.(rows.length, row.status === "failed" ? `point ${row.point} failed` : "");
  };
  const cancelled = () =>
    timedOut
      ? new SweepTimeout(
          { spec, rows: sortRows(rows) },
          tasks.length,
          "deadline",
          `deadline of ${o.deadlineMs} ms passed`,
        )
      : new SweepCancelled({ spec, rows: sortRows(rows) }, tasks.length);
  try {
    if (workers === 0) {
      for (const t of tasks) {
        // yield so that an abort can arrive between tasks
        await new Promise<void>((r) => setImmediate(r));
        if (abortError(ctl.signal)) throw cancelled();
        record(executeTask(t));
      }
    } else {
      await threadRunner(workers, taskTimeoutMs).run(tasks, (_, row) => record(row), ctl.signal);
      if (abortError(ctl.signal)) throw cancelled();
    }
    bar?.finish(`${rows.filter((r) => r.status === "failed").length} failed`);
    return { spec, rows: sortRows(rows) };
  } catch (e) {
    bar?.finish(timedOut ? "deadline passed" : "cancelled");
    if (abortError(ctl.signal) && !(e instanceof SweepCancelled || e instanceof SweepTimeout))
      throw cancelled();
    throw e;
  } finally {
    clearTimeout(deadline);
    offInterrupt();
    o.signal?.removeEventListener("abort", forward);
  }
}

/** Idle worker threads exit after this long; a notebook's next sweep within it starts at once. */
const POOL_IDLE_MS = 30_000;

interface PoolEntry {
  readonly pool: Piscina<TaskChunk, PackedOutcomes>;
  /** Sweeps running on it now. */
  users: number;
  /** Destroyed: a chunk it lost is not sent to it again. */
  closed: boolean;
}

const pools = new Map<number, PoolEntry>();

/**
 * The pool of `threads` workers, created on first use and kept for later sweeps: starting a
 * thread loads the simulator (a few hundred ms), which would otherwise be paid by every sweep and
 * swamp a short one. Idle threads exit after {@link POOL_IDLE_MS}; an idle pool does not keep
 * the process alive. Each thread takes two chunks at a time, so that it finds its next chunk
 * waiting when it finishes one instead of waiting for this thread to send it.
 */
function poolFor(threads: number): PoolEntry {
  let entry = pools.get(threads);
  if (entry === undefined) {
    const pool = new Piscina<TaskChunk, PackedOutcomes>({
      filename: workerUrl("worker").href,
      minThreads: 0,
      maxThreads: threads,
      concurrentTasksPerWorker: 2,
      idleTimeout: POOL_IDLE_MS,
      resourceLimits: { maxYoungGenerationSizeMb: 12 },
    });
    const e: PoolEntry = { pool, users: 0, closed: false };
    // An aborted sweep destroys its pool (below); a chunk that finished just then answers a task
    // piscina has already dropped, which it emits as an 'error' ("Unexpected message from
    // Worker"). That answer is expected and its rows are not wanted. Any other pool error is
    // thrown, as it would be without a listener.
    pool.on("error", (err: unknown) => {
      if (!e.closed) throw err;
    });
    entry = e;
    pools.set(threads, entry);
  }
  return entry;
}

/** Stops the warm worker pools (tests, or a host that wants its threads back at once). */
export async function closeSweepPools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  for (const e of all) e.closed = true;
  await Promise.all(all.map((e) => e.pool.destroy()));
}

/** A task that ended its thread twice (a crash, not a deadline) becomes a failed row. */
const THREAD_LOSSES = 2;

/**
 * The {@link TaskRunner} of sweeps on worker threads: tasks on the pool of `workers` threads,
 * each reported as its row as it finishes. Tasks go in
 * chunks, two in flight per thread. A chunk is about a sixteenth of a thread's share, up to 256
 * tasks, and chunks shrink near the end (at most a quarter of a thread's share of what is left),
 * so no thread sits idle while another works through a long last chunk.
 *
 * Why not a signal per chunk: piscina gives a thread no second task while it runs an abortable
 * one, so every chunk waited for a round trip through this thread (0.4–1 ms here, 30–50 ms of a
 * 6,000-trial sweep on two threads). An abort stops the feeding instead, and when no other sweep
 * shares the pool, destroys it, which ends the chunks in flight at once; the next sweep starts a
 * fresh pool. A pool another sweep is using is left to finish its two chunks per thread.
 *
 * Deadlines without a signal: each lane (one chunk in flight) has a slot in shared memory where
 * the thread running its chunk keeps the running task's start time and its own threadId (wire.ts).
 * A watchdog here ends the thread of a task past `taskTimeoutMs` (piscina starts another on
 * demand). Every chunk that thread held is lost, this sweep's or another's: the timed-out task
 * becomes a failed row, the chunk's other tasks are run again (their results are the same
 * whoever computes them), and a task whose thread died under it twice otherwise becomes a failed
 * row too.
 */
export function threadRunner(
  workers: number,
  taskTimeoutMs: number = DEFAULT_TASK_TIMEOUT_MS,
): TaskRunner<SweepTask, SweepRow> {
  return {
    run: (tasks, done, signal) =>
      runOnPool(tasks, workers, signal ?? new AbortController().signal, done, taskTimeoutMs),
  };
}

async function runOnPool(
  tasks: readonly SweepTask[],
  workers: number,
  signal: AbortSignal,
  done: (index: number, row: SweepRow) => void,
  taskTimeoutMs: number,
): Promise<void> {
  const index = new Map<SweepTask, number>();
  tasks.forEach((t, i) => index.set(t, i));
  const record = (row: SweepRow, t: SweepTask) => done(index.get(t)!, row);
  const threads = Math.max(1, Math.min(workers, tasks.length));
  const chunk = Math.max(1, Math.min(256, Math.floor(tasks.length / (threads * 16))));
  const entry = poolFor(workers);
  entry.users++;
  const cancel = (): void => {
    if (entry.users > 1) return;
    if (pools.get(workers) === entry) pools.delete(workers);
    entry.closed = true;
    void entry.pool.destroy();
  };
  signal.addEventListener("abort", cancel, { once: true });
  const lanes = threads * 2;
  const state = new Int32Array(new SharedArrayBuffer(lanes * WATCH_FIELDS * 4));
  const epoch = Date.now();
  const inFlight: (readonly SweepTask[] | null)[] = Array.from({ length: lanes }, () => null);
  const timedOut = new Set<SweepTask>();
  const losses = new Map<SweepTask, number>();
  const again: SweepTask[][] = [];
  let next = 0;
  const take = (): readonly SweepTask[] | undefined => {
    const retry = again.shift();
    if (retry !== undefined) return retry;
    if (next >= tasks.length) return undefined;
    const left = Math.ceil((tasks.length - next) / (threads * 4));
    const part = tasks.slice(next, next + Math.max(1, Math.min(chunk, left)));
    next += part.length;
    return part;
  };
  const watchdog = setInterval(
    () => {
      const now = Date.now() - epoch + 1;
      for (let l = 0; l < lanes; l++) {
        const part = inFlight[l];
        const at = l * WATCH_FIELDS;
        const began = Atomics.load(state, at);
        if (!part || began === 0 || now - began <= taskTimeoutMs) continue;
        const i = Atomics.load(state, at + 1);
        const thread = Atomics.load(state, at + 2);
        // a task and thread read while the thread moved on to its next task (wire.ts)
        if (Atomics.load(state, at) !== began) continue;
        const t = part[i];
        if (t === undefined || timedOut.has(t)) continue;
        timedOut.add(t);
        void entry.pool.threads.find((w) => w.threadId === thread)?.terminate();
      }
    },
    Math.max(10, Math.min(1000, Math.floor(taskTimeoutMs / 4))),
  );
  // a chunk whose thread ended before it answered: which task was running decides what is lost
  const lost = (part: readonly SweepTask[], lane: number, e: unknown): void => {
    const at = lane * WATCH_FIELDS;
    const running = Atomics.load(state, at) === 0 ? -1 : Atomics.load(state, at + 1);
    const rest: SweepTask[] = [];
    part.forEach((t, j) => {
      if (j !== running) return void rest.push(t);
      if (timedOut.has(t))
        return void record(
          rowOf(t, { status: "failed", metrics: {}, error: taskTimeoutText(taskTimeoutMs) }),
          t,
        );
      const n = (losses.get(t) ?? 0) + 1;
      losses.set(t, n);
      if (n < THREAD_LOSSES) return void rest.push(t);
      const why = e instanceof Error ? e.message : String(e);
      record(rowOf(t, { status: "failed", metrics: {}, error: `SweepThreadExited: ${why}` }), t);
    });
    if (rest.length > 0) again.push(rest);
  };
  const lane = async (l: number): Promise<void> => {
    const watch = { state, slot: l, epoch };
    for (let part = take(); part !== undefined && !signal.aborted; part = take()) {
      Atomics.store(state, l * WATCH_FIELDS, 0);
      inFlight[l] = part;
      let packed: PackedOutcomes;
      try {
        packed = await entry.pool.run(packTasks(part, watch));
      } catch (e) {
        if (signal.aborted) return;
        if (entry.closed) throw e;
        lost(part, l, e);
        continue;
      } finally {
        inFlight[l] = null;
      }
      const outcomes = unpackOutcomes(packed);
      part.forEach((t, i) => record(rowOf(t, outcomes[i]!), t));
    }
  };
  try {
    const settled = await Promise.allSettled(Array.from({ length: lanes }, (_, l) => lane(l)));
    for (const s of settled) if (s.status === "rejected" && !signal.aborted) throw s.reason;
  } finally {
    clearInterval(watchdog);
    entry.users--;
    signal.removeEventListener("abort", cancel);
  }
}
