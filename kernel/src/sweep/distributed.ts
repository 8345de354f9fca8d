/**
 * The distributed engine: the same sweep as a BullMQ queue on Redis. `runDistributedSweep` adds one
 * job per task (job id = sweep id + point + seed repetition) and collects results by polling the
 * jobs it still misses; workers (`mmulab sweep-worker --redis URL`, or {@link startSweepWorker},
 * queue-worker.ts) run anywhere that reaches the Redis.
 *
 * A result is keyed by the job the client sent, never by what the worker says, and checked against
 * it (jobs.ts): a result for another point, another seed or with malformed metrics is rejected,
 * the job sent again (at most `attempts` times in all), and then reported as a failed row.
 *
 * Nothing waits without a bound:
 * - a task runs at most `taskTimeoutMs` on a worker, which ends the thread computing it; the job
 *   fails with a SweepTaskTimeout and becomes a failed row (not retried: it would time out again);
 * - a job whose worker died or stopped renewing its lock is put back by BullMQ's stalled-job check
 *   and, after stalling more than the workers' `maxStalled` times, fails and becomes a failed row;
 *   a job whose worker threw (a thread that crashed) is retried up to `attempts` times;
 * - the sweep throws {@link SweepTimeout} after `deadlineMs` in all or `idleTimeoutMs` without a new
 *   row, and {@link RedisUnavailableError} when Redis has not answered for `timeoutMs`; both carry
 *   the rows collected so far in `partial` (a sweep cancelled or timed out first collects the
 *   results already in Redis).
 * A job lost altogether (a Redis restarted without its data) is added again under the same id.
 * However the sweep ends, its outstanding jobs are removed; if Redis cannot be reached then, the
 * sweep's lease lapses and the next client or worker to see the queue removes them (jobs.ts).
 */
import { randomUUID } from "node:crypto";
import { Queue, type Job } from "bullmq";
import { progress, type ProgressUpdater } from "../display/progress.js";
import { checkInt } from "../sim/errors.js";
import type { TaskRunner } from "../sim/task-runner.js";
import {
  DEFAULT_TASK_TIMEOUT_MS,
  MAX_TASK_TIMEOUT_MS,
  SweepCancelled,
  SweepTimeout,
} from "./errors.js";
import {
  checkJobReturn,
  DEFAULT_SWEEP_QUEUE,
  endSweep,
  ORPHAN_FAILURE,
  recordSweepJobs,
  removeSweepJobs,
  removeOrphanJobs,
  renewSweepLease,
  type JobData,
  type JobReturn,
} from "./jobs.js";
import type { SweepProgress } from "./local.js";
import { connection, probeRedis, RedisUnavailableError, withTimeout } from "./redis.js";
import { sortRows, type SweepResult } from "./results.js";
import { sweepTasks, type SweepSpec, type SweepTask } from "./space.js";
import { rowOf, taskKey, type SweepRow, type TaskOutcome } from "./task.js";

export { DEFAULT_SWEEP_QUEUE, removeOrphanJobs } from "./jobs.js";
export { parseRedisUrl, probeRedis, RedisUnavailableError } from "./redis.js";
export {
  startSweepWorker,
  type SweepWorkerHandle,
  type SweepWorkerOptions,
} from "./queue-worker.js";

/** Rows keyed by point and seed repetition: adding a row twice counts once. */
export class ResultCollector {
  private readonly rows = new Map<string, SweepRow>();
  duplicates = 0;
  /** Adds a row; false (and counted as a duplicate) when its point and seed are already in. */
  add(row: SweepRow): boolean {
    const k = taskKey(row);
    if (this.rows.has(k)) {
      this.duplicates++;
      return false;
    }
    this.rows.set(k, row);
    return true;
  }
  has(k: string): boolean {
    return this.rows.has(k);
  }
  get size(): number {
    return this.rows.size;
  }
  sorted(): SweepRow[] {
    return sortRows(this.rows.values());
  }
}

export interface DistributedSweepOptions {
  /** redis://host:port[/db] */
  readonly redis: string;
  readonly queue?: string;
  readonly onProgress?: SweepProgress;
  /** Show a progress display in the notebook kernel, or on stderr when it is a terminal, from
   * the first row on (default true). */
  readonly progress?: boolean;
  readonly signal?: AbortSignal;
  /** Poll interval for results, ms (default 50). */
  readonly pollMs?: number;
  /** Fail when Redis has not answered for this long mid-sweep, ms (default 30 000). */
  readonly timeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /** Runs of a job before it is reported failed: retries of a job whose worker threw, and
   * results rejected by the checks (default 3). */
  readonly attempts?: number;
  /** Deadline of one task on a worker, ms (default 600 000). */
  readonly taskTimeoutMs?: number;
  /** Deadline of the whole sweep, ms (default: none). */
  readonly deadlineMs?: number;
  /** Give up when no new row came for this long, ms (default taskTimeoutMs + 120 000: a task's
   * deadline plus the time BullMQ takes to notice a dead worker with the default 30 s lock). */
  readonly idleTimeoutMs?: number;
  /** How long the sweep's jobs outlive a client that stopped renewing its lease, ms (default
   * 60 000); then any client or worker on the queue removes them. */
  readonly leaseMs?: number;
}

export interface DistributedSweepResult extends SweepResult {
  readonly sweepId: string;
  /** Completions of a point and seed already collected (ignored). */
  readonly duplicates: number;
  /** Results that failed the checks against their job (each job was sent again). */
  readonly rejected: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const CTX = "runDistributedSweep";

/** A failed job's reason as a row's error: "Name: message", like a run function's failure. */
function failedText(reason: string): string {
  return /^[A-Z]\w*: /.test(reason) ? reason : `SweepJobFailed: ${reason}`;
}

const failedOutcome = (error: string): TaskOutcome => ({ status: "failed", metrics: {}, error });

/**
 * Runs a sweep through Redis; needs at least one worker on the queue. The progress display counts
 * the rows collected, and ends where they stopped when the sweep is cancelled or times out.
 */
export async function runDistributedSweep(
  spec: SweepSpec,
  o: DistributedSweepOptions,
): Promise<DistributedSweepResult> {
  // made on the first row, when the total is known (the closure sets it, hence the holder)
  const shown: { bar: ProgressUpdater | null } = { bar: null };
  const onProgress: SweepProgress = (done, total, row) => {
    if (o.progress !== false)
      shown.bar ??= progress(total, {
        label: `sweep ${spec.run} on ${o.queue ?? DEFAULT_SWEEP_QUEUE}`,
      });
    shown.bar?.(done, row.status === "failed" ? `point ${row.point} failed` : "");
    o.onProgress?.(done, total, row);
  };
  try {
    const r = await distributedSweep(spec, { ...o, onProgress });
    shown.bar?.finish(`${r.rows.filter((x) => x.status === "failed").length} failed`);
    return r;
  } catch (e) {
    shown.bar?.finish(
      e instanceof SweepCancelled
        ? "cancelled"
        : e instanceof SweepTimeout
          ? "timed out"
          : "failed",
    );
    throw e;
  }
}

async function distributedSweep(
  spec: SweepSpec,
  o: DistributedSweepOptions,
): Promise<DistributedSweepResult> {
  const tasks = sweepTasks(spec);
  const runner = queueRunner(spec, o);
  let finished = 0;
  await runner.run(tasks, (_, row) => o.onProgress?.(++finished, tasks.length, row), o.signal);
  return { spec, ...runner.collected };
}

/** What a {@link queueRunner} collected in its last run. */
export interface QueueRunnerResult {
  readonly rows: SweepRow[];
  readonly sweepId: string;
  readonly duplicates: number;
  readonly rejected: number;
}

/**
 * The {@link TaskRunner} of sweeps on a BullMQ queue: one job per task, results polled and
 * checked against their jobs (see the top of this file). `spec` is the sweep the tasks belong
 * to: the errors it rejects with (SweepCancelled, SweepTimeout, RedisUnavailableError) carry the
 * rows collected so far as that sweep's partial result. `collected` holds the last run's rows
 * (sorted) and counts.
 */
export function queueRunner(
  spec: SweepSpec,
  o: Omit<DistributedSweepOptions, "signal" | "onProgress" | "progress">,
): TaskRunner<SweepTask, SweepRow> & { readonly collected: QueueRunnerResult } {
  const runner = {
    collected: { rows: [], sweepId: "", duplicates: 0, rejected: 0 } as QueueRunnerResult,
    async run(
      tasks: readonly SweepTask[],
      onRow: (index: number, row: SweepRow) => void,
      signal?: AbortSignal,
    ): Promise<void> {
      runner.collected = await runOnQueue(spec, o, tasks, onRow, signal);
    },
  };
  return runner;
}

async function runOnQueue(
  spec: SweepSpec,
  o: Omit<DistributedSweepOptions, "signal" | "onProgress" | "progress">,
  tasks: readonly SweepTask[],
  onRow: (index: number, row: SweepRow) => void,
  signal: AbortSignal | undefined,
): Promise<QueueRunnerResult> {
  const attempts = checkInt("attempts", o.attempts ?? 3, 1, 100, CTX);
  const pollMs = checkInt("pollMs", o.pollMs ?? 50, 1, 60_000, CTX);
  const timeoutMs = checkInt("timeoutMs", o.timeoutMs ?? 30_000, 100, MAX_TASK_TIMEOUT_MS, CTX);
  const taskTimeoutMs = checkInt(
    "taskTimeoutMs",
    o.taskTimeoutMs ?? DEFAULT_TASK_TIMEOUT_MS,
    1,
    MAX_TASK_TIMEOUT_MS,
    CTX,
  );
  const idleTimeoutMs = checkInt(
    "idleTimeoutMs",
    o.idleTimeoutMs ?? taskTimeoutMs + 120_000,
    100,
    2 * MAX_TASK_TIMEOUT_MS,
    CTX,
  );
  const deadlineMs =
    o.deadlineMs === undefined
      ? Number.POSITIVE_INFINITY
      : checkInt("deadlineMs", o.deadlineMs, 1, Number.MAX_SAFE_INTEGER, CTX);
  const leaseMs = checkInt("leaseMs", o.leaseMs ?? 60_000, 500, MAX_TASK_TIMEOUT_MS, CTX);
  const started = Date.now();
  await probeRedis(o.redis, o.connectTimeoutMs ?? 2000);
  const sweepId = randomUUID().slice(0, 12);
  const queue = new Queue<JobData, JobReturn>(o.queue ?? DEFAULT_SWEEP_QUEUE, {
    connection: connection(o.redis),
  });
  queue.on("error", () => {
    /* reconnects; the poll loop bounds the outage */
  });
  const n = tasks.length;
  // the job each task is waiting on now; a task whose result was rejected gets a new one
  const base = (t: SweepTask) => `${sweepId}-${t.point}-${t.rep}`;
  const jobIds = tasks.map(base);
  const rejects = new Uint8Array(n);
  let rejected = 0;
  const done = new Uint8Array(n);
  let pending = Array.from({ length: n }, (_, i) => i);
  const got = new ResultCollector();
  const record = (k: number, row: SweepRow) => {
    done[k] = 1;
    if (got.add(row)) onRow(k, row);
  };
  const partial = (): SweepResult => ({ spec, rows: got.sorted() });
  let leaseAt = 0;
  // renewed a few times a lease, and between the batches of a long add or poll: adding or
  // polling a million jobs takes longer than a lease
  const keepAlive = async (force = false) => {
    if (!force && Date.now() - leaseAt < leaseMs / 3) return;
    await withTimeout(renewSweepLease(queue, sweepId, leaseMs), timeoutMs, "renewing the lease");
    leaseAt = Date.now();
  };
  const add = async (which: readonly number[]) => {
    await keepAlive(true);
    for (let i = 0; i < which.length; i += 500) {
      // a cancel while adding is seen by the poll loop, which removes what was added
      if (signal?.aborted === true) return;
      await keepAlive();
      const part = which.slice(i, i + 500);
      await withTimeout(
        recordSweepJobs(
          queue,
          sweepId,
          part.map((k) => jobIds[k]!),
        ),
        timeoutMs,
        "recording jobs",
      );
      await withTimeout(
        queue.addBulk(
          part.map((k) => {
            const t = tasks[k]!;
            return {
              name: t.run,
              data: { ...t, sweep: sweepId, timeoutMs: taskTimeoutMs },
              opts: {
                jobId: jobIds[k]!,
                attempts,
                backoff: { type: "fixed" as const, delay: 100 },
                removeOnComplete: false,
                removeOnFail: false,
              },
            };
          }),
        ),
        timeoutMs,
        "adding jobs",
      );
    }
  };
  // removes what is left of this sweep; bounded, since Redis may be the reason it ends
  const cleanup = async () => {
    await withTimeout(
      endSweep(
        queue,
        sweepId,
        pending.map((k) => jobIds[k]!),
      ),
      Math.min(timeoutMs, 5000),
      "removing jobs",
    ).catch(() => undefined);
  };
  // Redis stopped answering: nothing more is asked of it
  let gone = false;
  try {
    await withTimeout(removeOrphanJobs(queue), timeoutMs, "removing orphan jobs").catch(
      () => undefined,
    );
    try {
      await add(pending);
    } catch (e) {
      gone = true;
      throw new RedisUnavailableError(
        o.redis,
        `adding the sweep's jobs failed (${e instanceof Error ? e.message : String(e)})`,
        partial(),
      );
    }
    let lastOk = Date.now();
    let lastRow = Date.now();
    // reads the jobs of every pending task and records the finished ones; then, unless `last`,
    // sends again the jobs lost or rejected and removes the finished ones
    const collect = async (last: boolean) => {
      pending = pending.filter((k) => done[k] === 0);
      const lost: number[] = [];
      const again: number[] = [];
      const finished: string[] = [];
      const before = got.size;
      for (let i = 0; i < pending.length; i += 200) {
        if (!last) await keepAlive();
        const chunk = pending.slice(i, i + 200);
        const jobs = await withTimeout(
          Promise.all(chunk.map((k) => queue.getJob(jobIds[k]!))),
          Math.min(timeoutMs, 5000),
          "polling jobs",
        );
        chunk.forEach((k, j) => {
          const job: Job<JobData, JobReturn> | undefined = jobs[j];
          const t = tasks[k]!;
          if (!job) return void lost.push(k);
          if (job.finishedOn === undefined) return;
          finished.push(jobIds[k]!);
          const value: unknown = job.returnvalue;
          const reason: unknown = job.failedReason;
          const failed =
            (value === null || value === undefined) && typeof reason === "string" && reason !== "";
          // a worker took this sweep for gone: its lease lapsed while this client was stalled
          // (its event loop, or its link to Redis); the job is sent again like a rejected one
          const orphaned = failed && job.failedReason.startsWith(ORPHAN_FAILURE);
          if (failed && !orphaned)
            return void record(k, rowOf(t, failedOutcome(failedText(job.failedReason))));
          const outcome = orphaned ? job.failedReason : checkJobReturn(t, value);
          if (typeof outcome !== "string") return void record(k, rowOf(t, outcome));
          if (last) return;
          if (!orphaned) rejected++;
          if (++rejects[k]! >= attempts)
            return void record(
              k,
              rowOf(
                t,
                failedOutcome(
                  orphaned
                    ? `${outcome} (${rejects[k]} times)`
                    : `SweepResultRejected: ${outcome} (${rejects[k]} times)`,
                ),
              ),
            );
          jobIds[k] = `${base(t)}-r${rejects[k]}`;
          again.push(k);
        });
      }
      if (got.size > before) lastRow = Date.now();
      if (last) return;
      await withTimeout(
        removeSweepJobs(queue, sweepId, finished),
        Math.min(timeoutMs, 5000),
        "removing finished jobs",
      );
      if (lost.length + again.length > 0) await add([...lost, ...again]);
      pending = pending.filter((k) => done[k] === 0);
    };
    // a sweep that stops early first takes the results that are in (bounded: Redis may be gone)
    const stop = async (error: () => Error): Promise<never> => {
      await withTimeout(collect(true), Math.min(timeoutMs, 5000), "last poll").catch(
        () => undefined,
      );
      await cleanup();
      throw error();
    };
    while (pending.length > 0) {
      if (signal?.aborted === true) await stop(() => new SweepCancelled(partial(), n));
      const now = Date.now();
      if (now - started > deadlineMs || now - lastRow > idleTimeoutMs) {
        const idle = now - started <= deadlineMs;
        await stop(
          () =>
            new SweepTimeout(
              partial(),
              n,
              idle ? "idle" : "deadline",
              idle
                ? `no result for ${idleTimeoutMs} ms (is a sweep-worker running on queue ${queue.name}?)`
                : `deadline of ${deadlineMs} ms passed`,
            ),
        );
      }
      try {
        await keepAlive();
        await collect(false);
        lastOk = Date.now();
      } catch (e) {
        if (Date.now() - lastOk >= timeoutMs) {
          // no cleanup: it would wait for Redis again; the lease lapses and the jobs are
          // removed by the next client or worker that sees the queue
          gone = true;
          throw new RedisUnavailableError(
            o.redis,
            `no answer for ${timeoutMs} ms mid-sweep (${e instanceof Error ? e.message : String(e)})`,
            partial(),
          );
        }
      }
      if (pending.length > 0) await sleep(pollMs);
    }
    await cleanup();
    return { rows: got.sorted(), sweepId, duplicates: got.duplicates, rejected };
  } finally {
    // closing waits for the commands in flight, and disconnecting for a connection that may
    // never come back: neither is waited for when Redis is gone
    if (gone) void queue.disconnect().catch(() => undefined);
    else
      await withTimeout(queue.close(), 3000, "closing queue").catch(
        () => void queue.disconnect().catch(() => undefined),
      );
  }
}
