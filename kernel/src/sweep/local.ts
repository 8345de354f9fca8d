/**
 * Local parallel sweeps on a pool of worker threads (piscina). Every task's seed is fixed by the
 * sweep seed and its point, so the rows are identical for any number of workers (0 runs inline).
 * Aborting (AbortSignal, or a notebook interrupt) cancels queued tasks, terminates running ones (by
 * ending the thread pool, unless another sweep shares it) and rejects with {@link SweepCancelled},
 * which carries the rows finished so far. The worker threads apply sim/v8-tuning.ts, whose V8 flags
 * hold for the whole process, the thread that started the sweep included.
 */
import { setMaxListeners } from "node:events";
import { availableParallelism } from "node:os";
import { Piscina } from "piscina";
import { progress as notebookProgress, type ProgressUpdater } from "../display/progress.js";
import { notebookRuntime, onInterrupt } from "../display/runtime.js";
import { checkInt, SimulationStopped } from "../sim/errors.js";
import { sortRows, type SweepResult } from "./results.js";
import { sweepTasks, type SweepSpec, type SweepTask } from "./space.js";
import { executeTask, rowOf, type SweepRow } from "./task.js";
import { packTasks, unpackOutcomes, type PackedOutcomes, type TaskChunk } from "./wire.js";

/** The sweep was cancelled; `partial` holds the rows that finished. */
export class SweepCancelled extends SimulationStopped {
  readonly partial: SweepResult;
  constructor(partial: SweepResult, total: number) {
    super(`sweep cancelled after ${partial.rows.length} of ${total} tasks`);
    this.partial = partial;
  }
}

export type SweepProgress = (done: number, total: number, row: SweepRow) => void;

export interface RunSweepOptions {
  /** Worker threads; 0 runs inline in this thread. Default: available parallelism. */
  readonly workers?: number;
  readonly onProgress?: SweepProgress;
  readonly signal?: AbortSignal;
  /** Show a progress display when running in the notebook kernel (default true). */
  readonly progress?: boolean;
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
  const ctl = new AbortController();
  // one listener per queued task on the pool
  setMaxListeners(0, ctl.signal);
  const forward = () => ctl.abort();
  o.signal?.addEventListener("abort", forward, { once: true });
  if (o.signal?.aborted === true) ctl.abort();
  const offInterrupt = onInterrupt(forward);
  const bar: ProgressUpdater | null =
    o.progress !== false && notebookRuntime() !== null
      ? notebookProgress(tasks.length, { label: `sweep ${spec.run}` })
      : null;
  const rows: SweepRow[] = [];
  const record = (row: SweepRow) => {
    rows.push(row);
    o.onProgress?.(rows.length, tasks.length, row);
    bar?.(rows.length, row.status === "failed" ? `point ${row.point} failed` : "");
  };
  const cancelled = () => new SweepCancelled({ spec, rows: sortRows(rows) }, tasks.length);
  try {
    if (workers === 0) {
      for (const t of tasks) {
        // yield so that an abort can arrive between tasks
        await new Promise<void>((r) => setImmediate(r));
        if (abortError(ctl.signal)) throw cancelled();
        record(executeTask(t));
      }
    } else {
      await runOnPool(tasks, workers, ctl.signal, record);
      if (abortError(ctl.signal)) throw cancelled();
    }
    bar?.finish(`${rows.filter((r) => r.status === "failed").length} failed`);
    return { spec, rows: sortRows(rows) };
  } catch (e) {
    bar?.finish("cancelled");
    if (abortError(ctl.signal) && !(e instanceof SweepCancelled)) throw cancelled();
    throw e;
  } finally {
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
    entry = { pool, users: 0 };
    pools.set(threads, entry);
  }
  return entry;
}

/** Stops the warm worker pools (tests, or a host that wants its threads back at once). */
export async function closeSweepPools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((e) => e.pool.destroy()));
}

/**
 * Runs tasks on the pool of `workers` threads, calling `record` as each finishes. Tasks go in
 * chunks, two in flight per thread. A chunk is about a sixteenth of a thread's share, up to 256
 * tasks, and chunks shrink near the end (at most a quarter of a thread's share of what is left),
 * so no thread sits idle while another works through a long last chunk.
 *
 * Why not a signal per chunk: piscina gives a thread no second task while it runs an abortable
 * one, so every chunk waited for a round trip through this thread (0.4–1 ms here, 30–50 ms of a
 * 6,000-trial sweep on two threads). An abort stops the feeding instead, and when no other sweep
 * shares the pool, destroys it, which ends the chunks in flight at once; the next sweep starts a
 * fresh pool. A pool another sweep is using is left to finish its two chunks per thread.
 */
export async function runOnPool(
  tasks: readonly SweepTask[],
  workers: number,
  signal: AbortSignal,
  record: (row: SweepRow) => void,
): Promise<void> {
  const threads = Math.max(1, Math.min(workers, tasks.length));
  const chunk = Math.max(1, Math.min(256, Math.floor(tasks.length / (threads * 16))));
  const entry = poolFor(workers);
  entry.users++;
  const cancel = (): void => {
    if (entry.users > 1) return;
    if (pools.get(workers) === entry) pools.delete(workers);
    void entry.pool.destroy();
  };
  signal.addEventListener("abort", cancel, { once: true });
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < tasks.length && !signal.aborted) {
      const left = Math.ceil((tasks.length - next) / (threads * 4));
      const part = tasks.slice(next, next + Math.max(1, Math.min(chunk, left)));
      next += part.length;
      const outcomes = unpackOutcomes(await entry.pool.run(packTasks(part)));
      part.forEach((t, i) => record(rowOf(t, outcomes[i]!)));
    }
  };
  try {
    const settled = await Promise.allSettled(Array.from({ length: threads * 2 }, lane));
    for (const s of settled) if (s.status === "rejected" && !signal.aborted) throw s.reason;
  } finally {
    entry.users--;
    signal.removeEventListener("abort", cancel);
  }
}
