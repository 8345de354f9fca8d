/**
 * The worker side of the distributed engine: takes jobs from the sweep queue and runs each on a
 * worker thread of its own pool (piscina), one job a thread. It may hold more jobs than it has
 * threads (`concurrency`), so that the next job is fetched while one computes; a held job waits
 * for a free thread, and its deadline starts when it gets one.
 *
 * Jobs always run on a thread, never on the thread that talks to Redis, so that:
 * - the worker keeps renewing its job locks however long a task computes (a task longer than the
 *   lock used to stall, and go round every worker in turn);
 * - a task past its deadline (the job's `timeoutMs`, at most the worker's `taskTimeoutMs`) is
 *   ended by terminating its thread (piscina starts a fresh one); the job fails with a
 *   SweepTaskTimeout, unrecoverable, so it is not run again;
 * - `close()` (SIGTERM, SIGINT for `mmulab sweep-worker`) is prompt: the worker stops taking jobs,
 *   gives the running ones `graceMs` to finish, then ends their threads and puts their jobs back in
 *   the queue (BullMQ's moveToWait, which counts no attempt), where another worker takes them at
 *   once instead of after the lock expires.
 * A job whose data is not a sweep task fails at once; a job of a sweep whose client is gone
 * (jobs.ts) is failed without being run, and the orphan's jobs are removed.
 */
import { hostname } from "node:os";
import { Queue, UnrecoverableError, WaitingError, Worker, type Job } from "bullmq";
import { Piscina } from "piscina";
import { checkInt } from "../sim/errors.js";
import { DEFAULT_TASK_TIMEOUT_MS, MAX_TASK_TIMEOUT_MS, taskTimeoutText } from "./errors.js";
import {
  checkJobData,
  DEFAULT_SWEEP_QUEUE,
  jobReturn,
  ORPHAN_FAILURE,
  removeOrphanJobs,
  sweepAlive,
  type JobData,
  type JobReturn,
} from "./jobs.js";
import { workerUrl } from "./local.js";
import { connection, probeRedis, RedisUnavailableError, withTimeout } from "./redis.js";
import { rowOf, type SweepRow } from "./task.js";
import { packTasks, unpackOutcomes, type PackedOutcomes, type TaskChunk } from "./wire.js";

export interface SweepWorkerOptions {
  readonly redis: string;
  readonly queue?: string;
  /** Worker threads, one job computing on each (default 1). */
  readonly threads?: number;
  /** Jobs held at once, computing or waiting for a thread (default: threads). */
  readonly concurrency?: number;
  /** Job lock duration and stalled-job check interval, ms (default 30 000). */
  readonly lockMs?: number;
  /** Times a job may stall (its worker died or lost its lock) before it fails (default 1). */
  readonly maxStalled?: number;
  /** The longest this worker runs one task, ms; a job asking for less gets less (default: a
   * day, so the client's `taskTimeoutMs` decides). */
  readonly taskTimeoutMs?: number;
  /** On close, how long running jobs may go on before they are handed back, ms (default 5000). */
  readonly graceMs?: number;
  readonly connectTimeoutMs?: number;
  /** Called after every job this worker finished. */
  readonly onJob?: (row: SweepRow) => void;
}

export interface SweepWorkerHandle {
  /** Jobs finished by this worker. */
  readonly processed: () => number;
  /** Stops taking jobs; running ones get `graceMs` to finish, then go back to the queue. */
  close(): Promise<void>;
}

/** A task ran past its deadline; unrecoverable, so BullMQ does not run it again. */
export class SweepTaskTimeoutError extends UnrecoverableError {
  constructor(timeoutMs: number) {
    super(taskTimeoutText(timeoutMs));
    this.name = "SweepTaskTimeoutError";
  }
}

const CTX = "startSweepWorker";
/** How long a sweep's lease, once seen, is taken as alive without asking Redis again. */
const ALIVE_CACHE_MS = 1000;
const JANITOR_MS = 60_000;

/** Starts a worker on the sweep queue; resolves once it is connected. */
export async function startSweepWorker(o: SweepWorkerOptions): Promise<SweepWorkerHandle> {
  const threads = checkInt("threads", o.threads ?? 1, 1, 1024, CTX);
  const concurrency = checkInt("concurrency", o.concurrency ?? threads, 1, 1024, CTX);
  const lockMs = checkInt("lockMs", o.lockMs ?? 30_000, 100, 3_600_000, CTX);
  const maxStalled = checkInt("maxStalled", o.maxStalled ?? 1, 0, 100, CTX);
  const ceiling = checkInt(
    "taskTimeoutMs",
    o.taskTimeoutMs ?? MAX_TASK_TIMEOUT_MS,
    1,
    MAX_TASK_TIMEOUT_MS,
    CTX,
  );
  const graceMs = checkInt("graceMs", o.graceMs ?? 5000, 0, 3_600_000, CTX);
  await probeRedis(o.redis, o.connectTimeoutMs ?? 2000);
  const name = o.queue ?? DEFAULT_SWEEP_QUEUE;
  const pool = new Piscina<TaskChunk, PackedOutcomes>({
    filename: workerUrl("worker").href,
    minThreads: threads,
    maxThreads: threads,
  });
  // the janitor's handle on the queue (a Worker cannot remove jobs)
  const queue = new Queue(name, { connection: connection(o.redis) });
  queue.on("error", () => {
    /* reconnects */
  });
  // one pass at a time; a request during a pass runs another after it (a job that was locked
  // during the pass may be free now)
  let janitor: Promise<unknown> | null = null;
  let again = false;
  const removeOrphans = (): void => {
    if (janitor !== null) {
      again = true;
      return;
    }
    janitor = withTimeout(removeOrphanJobs(queue), 30_000, "removing orphan jobs")
      .catch(() => undefined)
      .finally(() => {
        janitor = null;
        if (again) {
          again = false;
          removeOrphans();
        }
      });
  };
  const alive = new Map<string, number>();
  const sweepIsAlive = async (sweep: string): Promise<boolean> => {
    const seen = alive.get(sweep);
    if (seen !== undefined && Date.now() - seen < ALIVE_CACHE_MS) return true;
    if (!(await sweepAlive(queue, sweep))) return false;
    if (alive.size > 1000) alive.clear();
    alive.set(sweep, Date.now());
    return true;
  };
  // a thread for each computing job; a job waits here, not in piscina's queue, so that its
  // deadline counts from when it computes
  let free = threads;
  const waiting: (() => void)[] = [];
  const acquire = (cancelled: AbortSignal | undefined): Promise<boolean> => {
    if (free > 0) {
      free--;
      return Promise.resolve(true);
    }
    if (cancelled?.aborted === true) return Promise.resolve(false);
    return new Promise((resolve) => {
      const go = () => {
        cancelled?.removeEventListener("abort", quit);
        resolve(true);
      };
      const quit = () => {
        waiting.splice(waiting.indexOf(go), 1);
        resolve(false);
      };
      waiting.push(go);
      cancelled?.addEventListener("abort", quit, { once: true });
    });
  };
  const release = () => {
    const next = waiting.shift();
    if (next !== undefined) next();
    else free++;
  };
  const handBack = async (job: Job<JobData, JobReturn>, token: string | undefined) => {
    if (token === undefined) throw new Error("no lock token to hand the job back with");
    await withTimeout(job.moveToWait(token), 5000, "handing the job back");
    throw new WaitingError();
  };
  const ended = new Set<string>();
  let processed = 0;
  const worker = new Worker<JobData, JobReturn>(
    name,
    async (job, token, cancelled) => {
      const t = checkJobData(job.data);
      if (typeof t === "string") throw new UnrecoverableError(`SweepJobInvalid: ${t}`);
      if (!(await sweepIsAlive(job.data.sweep)))
        throw new UnrecoverableError(`${ORPHAN_FAILURE}: sweep ${job.data.sweep} has no client`);
      if (!(await acquire(cancelled))) return handBack(job, token);
      const timeoutMs = Math.min(job.data.timeoutMs ?? DEFAULT_TASK_TIMEOUT_MS, ceiling);
      const ctl = new AbortController();
      const timer = setTimeout(() => ctl.abort("timeout"), timeoutMs);
      const shutdown = () => ctl.abort("shutdown");
      if (cancelled?.aborted === true) shutdown();
      else cancelled?.addEventListener("abort", shutdown, { once: true });
      let packed: PackedOutcomes;
      try {
        packed = await pool.run(packTasks([t]), { signal: ctl.signal });
      } catch (e) {
        if (ctl.signal.reason === "timeout") throw new SweepTaskTimeoutError(timeoutMs);
        if (ctl.signal.reason === "shutdown") return handBack(job, token);
        throw e;
      } finally {
        clearTimeout(timer);
        cancelled?.removeEventListener("abort", shutdown);
        release();
      }
      const outcome = unpackOutcomes(packed)[0]!;
      // a client that ended meanwhile removed its other jobs; this one is removed once done.
      // Asked afresh, not from the cache: a client that ended within the last second would
      // otherwise leave this job until the next janitor pass
      const gone = await withTimeout(sweepAlive(queue, job.data.sweep), 5000, "lease").then(
        (up) => !up,
        () => false,
      );
      if (gone) ended.add(job.id!);
      processed++;
      o.onJob?.(rowOf(t, outcome));
      return jobReturn(t, outcome);
    },
    {
      connection: connection(o.redis),
      concurrency,
      lockDuration: lockMs,
      stalledInterval: lockMs,
      maxStalledCount: maxStalled,
      name: `${hostname()}:${process.pid}`,
    },
  );
  worker.on("error", () => {
    /* reconnects */
  });
  // once the job is no longer locked, the janitor can remove it with the rest of its sweep
  worker.on("completed", (job) => {
    if (ended.delete(job.id!)) removeOrphans();
  });
  worker.on("failed", (_job, e) => {
    if (e.message.startsWith(ORPHAN_FAILURE)) removeOrphans();
  });
  try {
    await withTimeout(worker.waitUntilReady(), o.connectTimeoutMs ?? 5000, "worker connect");
  } catch (e) {
    void worker.disconnect().catch(() => undefined);
    void queue.disconnect().catch(() => undefined);
    await pool.destroy();
    throw new RedisUnavailableError(o.redis, e instanceof Error ? e.message : String(e));
  }
  removeOrphans();
  const sweepTimer = setInterval(removeOrphans, JANITOR_MS);
  sweepTimer.unref();
  return {
    processed: () => processed,
    async close() {
      clearInterval(sweepTimer);
      const closing = worker.close();
      const grace = setTimeout(() => worker.cancelAllJobs("shutdown"), graceMs);
      try {
        // handing a job back needs Redis; without it, the job's lock expires and the stalled-job
        // check of another worker puts it back
        await withTimeout(closing, graceMs + 5000, "closing the worker");
      } catch {
        // disconnecting waits for a connection that may never come back: not awaited
        void worker.disconnect().catch(() => undefined);
      } finally {
        clearTimeout(grace);
      }
      await withTimeout(janitor ?? Promise.resolve(), 2000, "janitor").catch(() => undefined);
      await withTimeout(queue.close(), 2000, "closing the queue").catch(
        () => void queue.disconnect().catch(() => undefined),
      );
      await pool.destroy();
    },
  };
}
