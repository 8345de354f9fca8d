/**
 * The distributed engine: the same sweep as a BullMQ queue on Redis. `runDistributedSweep` adds one
 * job per task (job id = sweep id + point + seed repetition) and collects results by polling the
 * jobs it still misses; workers (`mmulab sweep-worker --redis URL`, or {@link startSweepWorker})
 * run anywhere that reaches the Redis. Collection is idempotent: a row is keyed by point and seed,
 * so a job completed twice counts once. A worker that dies holding a job loses its lock, and
 * BullMQ's stalled-job check puts the job back in the queue; a job lost altogether (a Redis
 * restarted without its data) is added again under the same id.
 *
 * Every step is bounded: an unreachable Redis is reported as a {@link RedisUnavailableError}
 * within `connectTimeoutMs`, and a Redis that disappears mid-sweep within `timeoutMs`.
 */
import { randomUUID } from "node:crypto";
import { connect } from "node:net";
import { Queue, Worker, type ConnectionOptions, type Job } from "bullmq";
import { Piscina } from "piscina";
import { checkInt, MmulabError, ParameterError } from "../sim/errors.js";
import { SweepCancelled } from "./errors.js";
import { workerUrl, type SweepProgress } from "./local.js";
import { sortRows, type SweepResult } from "./results.js";
import { sweepTasks, type SweepSpec, type SweepTask } from "./space.js";
import { executeTask, rowOf, taskKey, type SweepRow } from "./task.js";
import { packTasks, unpackOutcomes, type PackedOutcomes, type TaskChunk } from "./wire.js";

export const DEFAULT_SWEEP_QUEUE = "mmulab-sweep";

/** Redis could not be reached (or stopped answering for too long). */
export class RedisUnavailableError extends MmulabError {
  readonly url: string;
  constructor(url: string, reason: string) {
    super(`Redis at ${url} is unavailable: ${reason}`);
    this.url = url;
  }
}

interface RedisTarget {
  readonly host: string;
  readonly port: number;
  readonly db?: number;
  readonly username?: string;
  readonly password?: string;
}

export function parseRedisUrl(url: string): RedisTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ParameterError("redis", url, "a URL redis://host:port[/db]", "sweep");
  }
  if (u.protocol !== "redis:")
    throw new ParameterError("redis", url, "a URL redis://host:port[/db]", "sweep");
  const port = u.port === "" ? 6379 : Number(u.port);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  return {
    host: u.hostname === "" ? "127.0.0.1" : u.hostname.replace(/^\[|\]$/g, ""),
    port,
    ...(db !== undefined && Number.isInteger(db) ? { db } : {}),
    ...(u.username !== "" ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password !== "" ? { password: decodeURIComponent(u.password) } : {}),
  };
}

function connection(t: RedisTarget): ConnectionOptions {
  return {
    ...t,
    maxRetriesPerRequest: null,
    connectTimeout: 2000,
    retryStrategy: (times: number) => Math.min(100 * times, 1000),
  };
}

/** Opens a TCP connection and sends PING; rejects with RedisUnavailableError within timeoutMs. */
export function probeRedis(url: string, timeoutMs = 2000): Promise<void> {
  const t = parseRedisUrl(url);
  return new Promise((resolve, reject) => {
    const sock = connect({ host: t.host, port: t.port });
    const fail = (why: string) => {
      sock.destroy();
      reject(new RedisUnavailableError(url, why));
    };
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    sock.once("error", (e) => {
      clearTimeout(timer);
      fail(e.message);
    });
    sock.once("connect", () => sock.write("PING\r\n"));
    sock.once("data", (d) => {
      clearTimeout(timer);
      sock.destroy();
      const s = d.toString();
      if (s.startsWith("+PONG") || s.startsWith("-NOAUTH")) resolve();
      else reject(new RedisUnavailableError(url, `unexpected answer ${JSON.stringify(s.trim())}`));
    });
  });
}

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
  readonly signal?: AbortSignal;
  /** Poll interval for results, ms (default 50). */
  readonly pollMs?: number;
  /** Fail when Redis has not answered for this long mid-sweep, ms (default 30 000). */
  readonly timeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /** Attempts per job before it is reported failed (default 5). */
  readonly attempts?: number;
}

export interface DistributedSweepResult extends SweepResult {
  readonly sweepId: string;
  /** Completions of a point and seed already collected (ignored). */
  readonly duplicates: number;
}

type JobData = SweepTask & { readonly sweep: string };

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs a sweep through Redis; needs at least one worker on the queue. */
export async function runDistributedSweep(
  spec: SweepSpec,
  o: DistributedSweepOptions,
): Promise<DistributedSweepResult> {
  const tasks = sweepTasks(spec);
  const attempts = o.attempts ?? 5;
  checkInt("attempts", attempts, 1, 100, "runDistributedSweep");
  const pollMs = o.pollMs ?? 50;
  const timeoutMs = o.timeoutMs ?? 30_000;
  await probeRedis(o.redis, o.connectTimeoutMs ?? 2000);
  const sweepId = randomUUID().slice(0, 12);
  const queue = new Queue<JobData, SweepRow>(o.queue ?? DEFAULT_SWEEP_QUEUE, {
    connection: connection(parseRedisUrl(o.redis)),
  });
  queue.on("error", () => {
    /* reconnects; the poll loop bounds the outage */
  });
  const jobId = (t: SweepTask) => `${sweepId}-${t.point}-${t.rep}`;
  const jobOpts = (t: SweepTask) => ({
    jobId: jobId(t),
    attempts,
    backoff: { type: "fixed" as const, delay: 100 },
    removeOnComplete: false,
    removeOnFail: false,
  });
  const add = async (ts: readonly SweepTask[]) => {
    for (let i = 0; i < ts.length; i += 500)
      await withTimeout(
        queue.addBulk(
          ts.slice(i, i + 500).map((t) => ({
            name: t.run,
            data: { ...t, sweep: sweepId },
            opts: jobOpts(t),
          })),
        ),
        timeoutMs,
        "adding jobs",
      );
  };
  const got = new ResultCollector();
  const record = (row: SweepRow) => {
    if (got.add(row)) o.onProgress?.(got.size, tasks.length, row);
  };
  const cleanup = async () => {
    await Promise.allSettled(tasks.map((t) => withTimeout(queue.remove(jobId(t)), 2000, "remove")));
  };
  try {
    await add(tasks);
    let lastOk = Date.now();
    while (got.size < tasks.length) {
      if (o.signal?.aborted === true) {
        await cleanup();
        throw new SweepCancelled({ spec, rows: got.sorted() }, tasks.length);
      }
      const missing = tasks.filter((t) => !got.has(taskKey(t)));
      try {
        const lost: SweepTask[] = [];
        for (let i = 0; i < missing.length; i += 200) {
          const chunk = missing.slice(i, i + 200);
          const jobs = await withTimeout(
            Promise.all(chunk.map((t) => queue.getJob(jobId(t)))),
            Math.min(timeoutMs, 5000),
            "polling jobs",
          );
          chunk.forEach((t, j) => {
            const job: Job<JobData, SweepRow> | undefined = jobs[j];
            if (!job) lost.push(t);
            else if (job.finishedOn !== undefined && job.returnvalue) record(job.returnvalue);
            else if (
              job.finishedOn !== undefined &&
              job.failedReason &&
              job.attemptsMade >= attempts
            )
              record({
                point: t.point,
                rep: t.rep,
                seed: t.seed,
                params: t.params,
                status: "failed",
                metrics: {},
                error: `job failed: ${job.failedReason}`,
              });
          });
        }
        if (lost.length > 0) await add(lost);
        lastOk = Date.now();
      } catch (e) {
        if (Date.now() - lastOk > timeoutMs)
          throw new RedisUnavailableError(
            o.redis,
            `no answer for ${timeoutMs} ms mid-sweep (${e instanceof Error ? e.message : String(e)})`,
          );
      }
      if (got.size < tasks.length) await sleep(pollMs);
    }
    await cleanup();
    return { spec, rows: got.sorted(), sweepId, duplicates: got.duplicates };
  } finally {
    await withTimeout(queue.close(), 3000, "closing queue").catch(() => undefined);
  }
}

export interface SweepWorkerOptions {
  readonly redis: string;
  readonly queue?: string;
  /** Jobs at once (default 1, or `threads` when threads > 0). */
  readonly concurrency?: number;
  /** Run jobs on this many worker threads (default 0: in this thread). */
  readonly threads?: number;
  /** Job lock duration and stalled-job check interval, ms (default 30 000). */
  readonly lockMs?: number;
  readonly connectTimeoutMs?: number;
  /** Called after every job this worker finished. */
  readonly onJob?: (row: SweepRow) => void;
}

export interface SweepWorkerHandle {
  /** Jobs finished by this worker. */
  readonly processed: () => number;
  close(): Promise<void>;
}

/** Starts a worker on the sweep queue; resolves once it is connected. */
export async function startSweepWorker(o: SweepWorkerOptions): Promise<SweepWorkerHandle> {
  await probeRedis(o.redis, o.connectTimeoutMs ?? 2000);
  const threads = o.threads ?? 0;
  checkInt("threads", threads, 0, 1024, "startSweepWorker");
  const lockMs = o.lockMs ?? 30_000;
  checkInt("lockMs", lockMs, 100, 3_600_000, "startSweepWorker");
  const pool =
    threads > 0
      ? new Piscina<TaskChunk, PackedOutcomes>({
          filename: workerUrl("worker").href,
          minThreads: threads,
          maxThreads: threads,
        })
      : null;
  let processed = 0;
  const worker = new Worker<JobData, SweepRow>(
    o.queue ?? DEFAULT_SWEEP_QUEUE,
    async (job) => {
      const t: SweepTask = {
        run: job.data.run,
        point: job.data.point,
        rep: job.data.rep,
        seed: job.data.seed,
        params: job.data.params,
      };
      const row = pool
        ? rowOf(t, unpackOutcomes(await pool.run(packTasks([t])))[0]!)
        : executeTask(t);
      processed++;
      o.onJob?.(row);
      return row;
    },
    {
      connection: connection(parseRedisUrl(o.redis)),
      concurrency: o.concurrency ?? Math.max(1, threads),
      lockDuration: lockMs,
      stalledInterval: lockMs,
      maxStalledCount: 10,
    },
  );
  worker.on("error", () => {
    /* reconnects */
  });
  await withTimeout(worker.waitUntilReady(), o.connectTimeoutMs ?? 5000, "worker connect").catch(
    async (e: unknown) => {
      await worker.close(true).catch(() => undefined);
      throw new RedisUnavailableError(o.redis, e instanceof Error ? e.message : String(e));
    },
  );
  return {
    processed: () => processed,
    async close() {
      await withTimeout(worker.close(), 5000, "closing worker").catch(() =>
        worker.close(true).catch(() => undefined),
      );
      await pool?.destroy();
    },
  };
}
