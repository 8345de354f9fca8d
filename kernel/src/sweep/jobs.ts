/**
 * What a distributed sweep puts on its queue and what it takes back, and the bookkeeping that
 * lets anyone remove the jobs of a sweep whose client is gone.
 *
 * Neither side believes the other. A worker checks a job's data before running it; the client
 * checks a result against the job it sent (point, repetition, seed, and the shape of the
 * metrics) and builds the row from its own task, so a worker can neither answer for another
 * point nor change a point's parameters.
 *
 * Every sweep registers itself in Redis next to its queue: a lease key that its client renews
 * while it runs (`…:mmulab:sweep:<id>:alive`, expiring after `leaseMs`), the ids of the jobs it
 * added (`…:mmulab:sweep:<id>:jobs`), and its id in the queue's index of sweeps
 * (`…:mmulab:sweeps`). A sweep whose lease has lapsed is an orphan: its client ended without
 * cleaning up (it was killed, or gave up while Redis was unreachable). {@link removeOrphanJobs}
 * removes its jobs; clients run it when they start, workers when they start, every minute, and
 * whenever they are handed an orphan's job, which they fail at once instead of running.
 */
import type { Queue, QueueBase } from "bullmq";
import { runFunctionMetrics } from "./run-functions.js";
import type { Params, SweepTask } from "./space.js";
import type { TaskOutcome } from "./task.js";

export const DEFAULT_SWEEP_QUEUE = "mmulab-sweep";

/** How a worker fails a job of a sweep whose client is gone (its reason starts with this). */
export const ORPHAN_FAILURE = "SweepOrphan";

/** A job's data: one task of one sweep, and how long a worker may run it. */
export interface JobData extends SweepTask {
  readonly sweep: string;
  /** The task's deadline on the worker, ms. */
  readonly timeoutMs?: number;
}

/** A job's result: the task's outcome, with the task's point, repetition and seed echoed. */
export interface JobReturn extends TaskOutcome {
  readonly point: number;
  readonly rep: number;
  readonly seed: number;
}

/** Most metric names a result may carry (the built-in run functions return 4 to 8). */
export const MAX_METRICS = 256;
/** Longest error text a failed result may carry. */
const MAX_ERROR_CHARS = 4096;
/** Longest metric name. */
const MAX_METRIC_NAME = 200;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** The job's task, or why its data is not a sweep task. */
export function checkJobData(d: unknown): SweepTask | string {
  if (!isObject(d)) return "job data is not an object";
  if (typeof d.sweep !== "string" || d.sweep.length > 64) return "no sweep id";
  if (typeof d.run !== "string") return "no run function name";
  if (!isCount(d.point) || !isCount(d.rep)) return "point and rep must be integers ≥ 0";
  if (!isCount(d.seed) || d.seed > 0xffffffff) return "seed must be a uint32";
  if (!isObject(d.params)) return "params is not an object";
  for (const [k, v] of Object.entries(d.params))
    if (!(typeof v === "string" || typeof v === "boolean" || Number.isFinite(v)))
      return `params.${k} is not a finite number, string or boolean`;
  if (d.timeoutMs !== undefined && !(isCount(d.timeoutMs) && d.timeoutMs >= 1))
    return "timeoutMs must be an integer ≥ 1";
  return {
    run: d.run,
    point: d.point,
    rep: d.rep,
    seed: d.seed,
    params: d.params as Params,
  };
}

/**
 * The outcome a worker returned for task `t`, or why it is not one: it must echo the task's
 * point, repetition and seed, and be `{status: "ok", metrics}` with numeric metrics — exactly the
 * names the run function declares, when it declares them (run-functions.ts) — or
 * `{status: "failed", metrics: {}, error}`. A metric that was not finite travels through JSON as
 * null and comes back as NaN. A plausible number under the right name cannot be told from the
 * real one without running the task again: rows are deterministic, so `runSweep` of the same spec
 * checks any of them.
 */
export function checkJobReturn(t: SweepTask, v: unknown): TaskOutcome | string {
  if (!isObject(v)) return `result is ${v === null ? "null" : typeof v}, not an object`;
  if (v.point !== t.point || v.rep !== t.rep || v.seed !== t.seed)
    return (
      `result is for point ${String(v.point)} rep ${String(v.rep)} seed ${String(v.seed)}, ` +
      `not the job's point ${t.point} rep ${t.rep} seed ${t.seed}`
    );
  if (!isObject(v.metrics)) return "result has no metrics object";
  const names = Object.keys(v.metrics);
  if (names.length > MAX_METRICS)
    return `result has ${names.length} metrics (at most ${MAX_METRICS})`;
  const entries: [string, number][] = [];
  for (const k of names) {
    if (k.length > MAX_METRIC_NAME) return `a metric name is longer than ${MAX_METRIC_NAME}`;
    const m = v.metrics[k];
    if (m !== null && typeof m !== "number") return `metric ${JSON.stringify(k)} is not a number`;
    entries.push([k, m ?? NaN]);
  }
  // own properties whatever the names ("__proto__" included)
  const metrics: Record<string, number> = Object.fromEntries(entries);
  if (v.status === "ok") {
    if (v.error !== undefined) return "an ok result carries an error";
    const declared = runFunctionMetrics(t.run);
    if (
      declared !== undefined &&
      (names.length !== declared.length || declared.some((k) => !Object.hasOwn(metrics, k)))
    )
      return (
        `result has metrics ${names.join(", ") || "(none)"}, ` +
        `not ${t.run}'s ${declared.join(", ")}`
      );
    return { status: "ok", metrics };
  }
  if (v.status === "failed") {
    if (typeof v.error !== "string") return "a failed result has no error text";
    if (v.error.length > MAX_ERROR_CHARS)
      return `a failed result's error is longer than ${MAX_ERROR_CHARS}`;
    if (names.length > 0) return "a failed result carries metrics";
    return { status: "failed", metrics: {}, error: v.error };
  }
  return `result status ${JSON.stringify(v.status)} is neither "ok" nor "failed"`;
}

/** A task's outcome as a job returns it. */
export function jobReturn(t: SweepTask, o: TaskOutcome): JobReturn {
  const r = { point: t.point, rep: t.rep, seed: t.seed, status: o.status, metrics: o.metrics };
  return o.error === undefined ? r : { ...r, error: o.error };
}

const INDEX = "mmulab:sweeps";
export const aliveKey = (q: QueueBase, sweep: string): string =>
  q.toKey(`mmulab:sweep:${sweep}:alive`);
export const jobsKey = (q: QueueBase, sweep: string): string =>
  q.toKey(`mmulab:sweep:${sweep}:jobs`);

// BullMQ's client interface offers hashes, strings with an expiry and no sets: the index of
// sweeps and each sweep's job ids are hashes (field = id)

/** Registers a sweep (or renews its lease) for `leaseMs`. */
export async function renewSweepLease(q: Queue, sweep: string, leaseMs: number): Promise<void> {
  const c = await q.client;
  await Promise.all([
    c.hset(q.toKey(INDEX), { [sweep]: Date.now() }),
    c.set(aliveKey(q, sweep), "1", { PX: leaseMs }),
  ]);
}

/** Records job ids as belonging to a sweep (before the jobs are added). */
export async function recordSweepJobs(
  q: Queue,
  sweep: string,
  ids: readonly string[],
): Promise<void> {
  if (ids.length === 0) return;
  const c = await q.client;
  await c.hset(jobsKey(q, sweep), Object.fromEntries(ids.map((id) => [id, 1])));
}

/** Removes finished jobs of a sweep (they are not locked) and forgets them. */
export async function removeSweepJobs(
  q: Queue,
  sweep: string,
  ids: readonly string[],
): Promise<void> {
  if (ids.length === 0) return;
  const c = await q.client;
  await Promise.all(ids.map((id) => q.remove(id)));
  await c.hdel(jobsKey(q, sweep), ...ids);
}

/** Whether a sweep's client still holds its lease. */
export async function sweepAlive(q: QueueBase, sweep: string): Promise<boolean> {
  const c = await q.client;
  return (await c.get(aliveKey(q, sweep))) !== null;
}

/**
 * Removes a sweep's jobs (those it recorded and `more`) and, when none is left, its bookkeeping.
 * A job a worker holds now cannot be removed: it stays recorded for a later pass. Returns the
 * number of jobs removed.
 */
export async function purgeSweep(
  q: Queue,
  sweep: string,
  more: readonly string[] = [],
): Promise<number> {
  const c = await q.client;
  const ids = [...new Set([...Object.keys(await c.hgetall(jobsKey(q, sweep))), ...more])];
  const held = new Set<string>();
  for (let i = 0; i < ids.length; i += 500) {
    const part = ids.slice(i, i + 500);
    const codes = await Promise.all(part.map((id) => q.remove(id)));
    part.forEach((id, j) => {
      if (codes[j] !== 1) held.add(id);
    });
  }
  if (held.size === 0) {
    await c.del(jobsKey(q, sweep), aliveKey(q, sweep));
    await c.hdel(q.toKey(INDEX), sweep);
  } else {
    const gone = ids.filter((id) => !held.has(id));
    if (gone.length > 0) await c.hdel(jobsKey(q, sweep), ...gone);
  }
  return ids.length - held.size;
}

/** Ends a sweep: drops its lease, so that jobs a worker still holds are orphans at once, and
 * removes its jobs (those it recorded and `more`). */
export async function endSweep(
  q: Queue,
  sweep: string,
  more: readonly string[] = [],
): Promise<number> {
  const c = await q.client;
  await c.del(aliveKey(q, sweep));
  return purgeSweep(q, sweep, more);
}

/** Removes the jobs of every sweep on this queue whose client's lease has lapsed. */
export async function removeOrphanJobs(q: Queue): Promise<number> {
  const c = await q.client;
  let removed = 0;
  for (const sweep of Object.keys(await c.hgetall(q.toKey(INDEX))))
    if (!(await sweepAlive(q, sweep))) removed += await purgeSweep(q, sweep);
  return removed;
}
