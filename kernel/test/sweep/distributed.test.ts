import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Queue, UnrecoverableError, Worker, type Job } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  probeRedis,
  RedisUnavailableError,
  removeOrphanJobs,
  ResultCollector,
  runDistributedSweep,
  runSweep,
  startSweepWorker,
  SweepTimeout,
  taskTimeoutText,
  type SweepRow,
  type SweepSpec,
} from "../../src/sweep/index.js";
import { jobReturn, ORPHAN_FAILURE, type JobData, type JobReturn } from "../../src/sweep/jobs.js";
import { sweepTasks } from "../../src/sweep/space.js";
import { rowOf, runOne, runTask } from "../../src/sweep/task.js";
import { setNotebookRuntime } from "../../src/display/runtime.js";
import { recordingRuntime } from "../support/runtime.js";
import { freePort, TestRedis } from "./redis.js";

const BIN = fileURLToPath(new URL("../../bin/mmulab.js", import.meta.url));

let redis: TestRedis;
beforeAll(async () => {
  redis = await TestRedis.start();
});
afterAll(async () => {
  await redis?.stop();
});

let queues = 0;
const queueName = () => `test-${process.pid}-${++queues}`;

const bull = () => ({ host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: null });

/** Every job of a queue, in any state. */
async function jobsLeft(queue: string): Promise<number> {
  const q = new Queue(queue, { connection: bull() });
  try {
    const counts = await q.getJobCounts();
    return Object.values(counts).reduce((a, b) => a + b, 0);
  } finally {
    await q.close();
  }
}

async function until(what: string, pred: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A synthetic sweep's rows computed here without its busy-waits (synthetic's metrics do not
 * depend on sleepMs), so that checking a slow sweep does not run it twice. */
function rowsOf(spec: SweepSpec): SweepRow[] {
  return sweepTasks(spec).map((t) => rowOf(t, runOne(t.run, { ...t.params, sleepMs: 0 }, t.seed)));
}

function slowSpec(n: number, sleepMs: number): SweepSpec {
  return {
    run: "synthetic",
    params: { x: { kind: "int", min: 1, max: n } },
    fixed: { sleepMs, failWhen: 3 },
    seeds: 1,
    seed: 11,
  };
}

describe("distributed sweeps on BullMQ/Redis", () => {
  it("gives the same rows as a local sweep, failed points included", async () => {
    const queue = queueName();
    const spec: SweepSpec = { ...slowSpec(6, 0), seeds: 2 };
    const w = await startSweepWorker({ redis: redis.url, queue, lockMs: 2000 });
    try {
      // in a notebook, with its progress display
      const rt = recordingRuntime();
      setNotebookRuntime(rt);
      const r = await runDistributedSweep(spec, { redis: redis.url, queue }).finally(() =>
        setNotebookRuntime(null),
      );
      const local = await runSweep(spec, { workers: 0 });
      expect(r.rows).toEqual(local.rows);
      expect(r.rows.filter((x) => x.status === "failed").map((x) => x.params.x)).toEqual([3, 3]);
      expect(r.duplicates).toBe(0);
      expect(rt.shown.at(-1)?.bundle["text/plain"]).toMatch(
        new RegExp(`sweep synthetic on ${queue} .* 100% \\(12 / 12\\) .* — 2 failed`),
      );
    } finally {
      await w.close();
    }
  });

  it("counts a point and seed completed twice once", () => {
    const c = new ResultCollector();
    const row: SweepRow = {
      point: 1,
      rep: 0,
      seed: 5,
      params: { x: 1 },
      status: "ok",
      metrics: { f: 1 },
    };
    expect(c.add(row)).toBe(true);
    expect(c.add({ ...row, metrics: { f: 2 } })).toBe(false);
    expect(c.size).toBe(1);
    expect(c.duplicates).toBe(1);
    expect(c.sorted()[0]!.metrics.f).toBe(1);
  });

  it("loses no result when a sweep-worker process is killed mid-sweep", async () => {
    const queue = queueName();
    const spec = slowSpec(16, 120);
    const child: ChildProcess = spawn(
      process.execPath,
      [BIN, "sweep-worker", "--redis", redis.url, "--queue", queue, "--lock-ms", "800"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const waitFor = (pred: () => boolean, what: string) =>
      new Promise<void>((resolve, reject) => {
        const t = setInterval(() => {
          if (pred()) {
            clearInterval(t);
            resolve();
          } else if (child.exitCode !== null) {
            clearInterval(t);
            reject(new Error(`sweep-worker exited before ${what}: ${stderr}`));
          }
        }, 10);
      });
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(() => out.includes("sweep-worker ready"), "ready");
      const sweep = runDistributedSweep(spec, { redis: redis.url, queue });
      await waitFor(() => (out.match(/^job /gm) ?? []).length >= 3, "3 jobs");
      child.kill("SIGKILL");
      const byChild = (out.match(/^job /gm) ?? []).length;
      const w = await startSweepWorker({ redis: redis.url, queue, lockMs: 800 });
      try {
        const r = await sweep;
        expect(r.rows).toEqual((await runSweep(spec, { workers: 0 })).rows);
        expect(r.rows).toHaveLength(16);
        // the killed worker's unfinished job was retried here
        expect(w.processed()).toBeGreaterThanOrEqual(16 - byChild);
      } finally {
        await w.close();
      }
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });

  it("loses no result when Redis restarts mid-sweep", async () => {
    const queue = queueName();
    const spec = slowSpec(14, 60);
    const w = await startSweepWorker({ redis: redis.url, queue, lockMs: 800 });
    try {
      const state: { restarted: Promise<void> | null } = { restarted: null };
      const r = await runDistributedSweep(spec, {
        redis: redis.url,
        queue,
        onProgress: (done) => {
          if (done === 4 && state.restarted === null)
            state.restarted = (async () => {
              await redis.stopProcess();
              await new Promise((res) => setTimeout(res, 300));
              await redis.startProcess();
            })();
        },
      });
      expect(state.restarted).not.toBeNull();
      await state.restarted;
      expect(r.rows).toEqual((await runSweep(spec, { workers: 0 })).rows);
    } finally {
      await w.close();
    }
  });

  it("reports an unreachable Redis with a typed error, fast", async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const t0 = Date.now();
    await expect(runDistributedSweep(slowSpec(2, 0), { redis: url })).rejects.toThrow(
      RedisUnavailableError,
    );
    await expect(startSweepWorker({ redis: url })).rejects.toThrow(
      /Redis at redis:\/\/127\.0\.0\.1/,
    );
    await expect(probeRedis("redis://192.0.2.1:6379", 300)).rejects.toThrow(RedisUnavailableError);
    expect(Date.now() - t0).toBeLessThan(3000);
    await expect(runDistributedSweep(slowSpec(2, 0), { redis: "http://x" })).rejects.toThrow(
      /redis = "http:\/\/x" is not accepted/,
    );
  });

  it("finishes a job that runs longer than the worker's lock", async () => {
    // before: the job computed on the thread that renews locks, stalled, and the sweep hung
    const queue = queueName();
    const spec: SweepSpec = { run: "synthetic", params: { x: [1, 2] }, fixed: { sleepMs: 1200 } };
    const w = await startSweepWorker({ redis: redis.url, queue, lockMs: 300, threads: 2 });
    try {
      const r = await runDistributedSweep(spec, { redis: redis.url, queue });
      expect(r.rows).toEqual(rowsOf(spec));
      expect(w.processed()).toBe(2);
    } finally {
      await w.close();
    }
  }, 20_000);

  it("ends a job past its deadline on the worker and reports it as the local sweep does", async () => {
    // before: a job that never ended held one worker after another, and the sweep hung
    const queue = queueName();
    const spec: SweepSpec = {
      run: "synthetic",
      params: { x: [1, 2, 3], sleepMs: [0, 1e12] },
      seed: 5,
    };
    const w = await startSweepWorker({ redis: redis.url, queue, threads: 2 });
    try {
      // the deadline leaves a loaded machine room to start the worker's fresh threads: at 400 ms
      // a task that does nothing ran past it twice at load averages of 13-17
      const timeoutMs = 2_000;
      const r = await runDistributedSweep(spec, {
        redis: redis.url,
        queue,
        taskTimeoutMs: timeoutMs,
      });
      expect(r.rows).toEqual((await runSweep(spec, { workers: 2, taskTimeoutMs: timeoutMs })).rows);
      const hung = r.rows.filter((x) => x.params.sleepMs === 1e12);
      expect(hung.map((x) => x.error)).toEqual(Array(3).fill(taskTimeoutText(timeoutMs)));
      // the worker goes on with fresh threads
      const after = await runDistributedSweep(slowSpec(4, 0), { redis: redis.url, queue });
      expect(after.rows).toEqual((await runSweep(slowSpec(4, 0), { workers: 0 })).rows);
    } finally {
      await w.close();
    }
  }, 60_000);

  it("reports a job stalled more often than allowed as a failed row", async () => {
    // a worker that blocks its event loop longer than its lock: every run of the job stalls.
    // before: BullMQ failed the job, the client waited for five attempts that never came
    const queue = queueName();
    const stuck = new Worker<JobData, JobReturn>(
      queue,
      (job: Job<JobData, JobReturn>) => {
        const end = Date.now() + 700;
        while (Date.now() < end);
        return Promise.resolve(jobReturn(job.data, runTask(job.data)));
      },
      { connection: bull(), lockDuration: 200, stalledInterval: 200, maxStalledCount: 1 },
    );
    stuck.on("error", () => undefined);
    try {
      const r = await runDistributedSweep(slowSpec(1, 0), { redis: redis.url, queue });
      expect(r.rows).toHaveLength(1);
      expect(r.rows[0]).toMatchObject({ point: 0, status: "failed" });
      expect(r.rows[0]!.error).toBe("SweepJobFailed: job stalled more than allowable limit");
      expect(await jobsLeft(queue)).toBe(0);
    } finally {
      await stuck.close(true);
    }
  }, 20_000);

  it("keys results by the job it sent and rejects another point's result or forged metrics", async () => {
    // before: a result for another point was filed under that point; the sweep waited forever
    // for the point it had asked for
    const queue = queueName();
    const spec = slowSpec(6, 0);
    const forger = new Worker<JobData, unknown>(
      queue,
      (job: Job<JobData, unknown>) => {
        const t = job.data;
        const honest = jobReturn(t, runTask(t));
        if (t.params.x === 1) return Promise.resolve({ ...honest, point: t.point + 1 });
        if (t.params.x === 2) return Promise.resolve({ ...honest, metrics: { f: "forged" } });
        if (t.params.x === 4) return Promise.resolve({ ...honest, seed: t.seed ^ 1 });
        if (t.params.x === 5) return Promise.resolve(null);
        if (t.params.x === 6) return Promise.resolve({ ...honest, metrics: { f: 1, g: 2 } });
        return Promise.resolve(honest);
      },
      { connection: bull() },
    );
    forger.on("error", () => undefined);
    try {
      const r = await runDistributedSweep(spec, { redis: redis.url, queue, attempts: 2 });
      const local = (await runSweep(spec, { workers: 0 })).rows;
      expect(r.rows.map((x) => x.params)).toEqual(local.map((x) => x.params));
      expect(r.rows[2]).toEqual(local[2]);
      expect(r.rejected).toBe(10);
      const errors = r.rows.map((x) => x.error ?? "");
      expect(errors[0]).toMatch(
        /^SweepResultRejected: result is for point 1 rep 0 seed \d+, not the job's point 0 .*\(2 times\)$/,
      );
      expect(errors[1]).toMatch(/^SweepResultRejected: metric "f" is not a number/);
      expect(errors[3]).toMatch(/^SweepResultRejected: result is for point 3 rep 0 seed/);
      expect(errors[4]).toMatch(/^SweepResultRejected: result is null/);
      expect(errors[5]).toMatch(
        /^SweepResultRejected: result has metrics f, g, not synthetic's f, h/,
      );
      // x = 3 fails honestly (failWhen), and its row is the local one
      expect(r.rows.filter((x) => x.error?.startsWith("SweepResultRejected"))).toHaveLength(5);
      expect(await jobsLeft(queue)).toBe(0);
    } finally {
      await forger.close(true);
    }
  }, 20_000);

  it("sends a job again when a worker took the live sweep for an orphan", async () => {
    // a client whose lease lapsed while it was stalled (event loop, link to Redis) is still
    // there: its jobs failed as orphans are sent again, not reported as failed rows
    const queue = queueName();
    const spec = slowSpec(4, 0);
    const refused = new Set<number>();
    const w = new Worker<JobData, JobReturn>(
      queue,
      (job: Job<JobData, JobReturn>) => {
        const t = job.data;
        if (!refused.has(t.point)) {
          refused.add(t.point);
          throw new UnrecoverableError(`${ORPHAN_FAILURE}: sweep ${t.sweep} has no client`);
        }
        return Promise.resolve(jobReturn(t, runTask(t)));
      },
      { connection: bull() },
    );
    w.on("error", () => undefined);
    try {
      const r = await runDistributedSweep(spec, { redis: redis.url, queue });
      expect(r.rows).toEqual((await runSweep(spec, { workers: 0 })).rows);
      expect(refused.size).toBe(4);
      expect(r.rejected).toBe(0);
      expect(await jobsLeft(queue)).toBe(0);
    } finally {
      await w.close(true);
    }
  });

  it("gives up on a sweep without progress or past its deadline, keeping rows, removing jobs", async () => {
    // before: with no worker on the queue the client polled forever
    const queue = queueName();
    const idle: unknown = await runDistributedSweep(slowSpec(3, 0), {
      redis: redis.url,
      queue,
      idleTimeoutMs: 500,
    }).catch((e: unknown) => e);
    expect(idle).toBeInstanceOf(SweepTimeout);
    expect((idle as SweepTimeout).reason).toBe("idle");
    expect((idle as SweepTimeout).partial.rows).toEqual([]);
    expect((idle as Error).message).toMatch(/no result for 500 ms/);
    expect(await jobsLeft(queue)).toBe(0);
    const w = await startSweepWorker({ redis: redis.url, queue });
    try {
      const spec = slowSpec(20, 100);
      const late: unknown = await runDistributedSweep(spec, {
        redis: redis.url,
        queue,
        deadlineMs: 700,
      }).catch((e: unknown) => e);
      expect(late).toBeInstanceOf(SweepTimeout);
      expect((late as SweepTimeout).reason).toBe("deadline");
      const rows = (late as SweepTimeout).partial.rows;
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.length).toBeLessThan(20);
      const all = rowsOf(spec);
      for (const row of rows) expect(row).toEqual(all[row.point]);
      // the job running when the sweep gave up is left to its worker, and removed after it
      const janitor = new Queue(queue, { connection: bull() });
      try {
        await until("the jobs removed", async () => {
          await removeOrphanJobs(janitor);
          return (await jobsLeft(queue)) === 0;
        });
      } finally {
        await janitor.close();
      }
    } finally {
      await w.close();
    }
  }, 20_000);

  it("keeps the rows computed when Redis stays away, and removes the orphan jobs when it is back", async () => {
    // before: the RedisUnavailableError carried no rows, and the jobs stayed in Redis for good
    const queue = queueName();
    const spec = slowSpec(14, 100);
    const w = await startSweepWorker({ redis: redis.url, queue, lockMs: 800 });
    try {
      const state: { stopped: Promise<void> | null } = { stopped: null };
      const e: unknown = await runDistributedSweep(spec, {
        redis: redis.url,
        queue,
        timeoutMs: 1000,
        leaseMs: 1000,
        onProgress: (done) => {
          if (done === 4) state.stopped ??= redis.stopProcess();
        },
      }).catch((x: unknown) => x);
      expect(state.stopped).not.toBeNull();
      await state.stopped;
      expect(e).toBeInstanceOf(RedisUnavailableError);
      const partial = (e as RedisUnavailableError).partial!;
      expect(partial.rows.length).toBeGreaterThanOrEqual(4);
      expect(partial.rows.length).toBeLessThan(14);
      const all = rowsOf(spec);
      for (const row of partial.rows) expect(row).toEqual(all[row.point]);
      await new Promise((r) => setTimeout(r, 1100));
      await redis.startProcess();
      // the worker meets a job of the sweep whose lease lapsed and removes them all
      await until("the orphan jobs removed", async () => (await jobsLeft(queue)) === 0);
    } finally {
      await w.close();
    }
  }, 30_000);

  it("cancels a CLI sweep on SIGINT: rows so far in --csv, its jobs removed from Redis", async () => {
    // before: the client died at once, and its jobs stayed in Redis for good
    const queue = queueName();
    const dir = mkdtempSync(join(tmpdir(), "mmulab-sweep-"));
    const csv = join(dir, "rows.csv");
    const w = await startSweepWorker({ redis: redis.url, queue });
    const child: ChildProcess = spawn(
      process.execPath,
      [
        BIN,
        "sweep",
        "--run",
        "synthetic",
        "--param",
        "x=int:1..12",
        "--fixed",
        "sleepMs=150",
      ].concat(["--redis", redis.url, "--queue", queue, "--csv", csv]),
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      // the third finished a job's length (150 ms) before the fourth: it is in Redis by now
      await until("four jobs done", () => Promise.resolve(w.processed() >= 4));
      child.kill("SIGINT");
      expect(await exited).toBe(1);
      expect(err).toMatch(/sweep cancelled after \d+ of 12 tasks/);
      const rows = readFileSync(csv, "utf8").trim().split("\n").length - 1;
      expect(rows).toBeGreaterThanOrEqual(3);
      expect(rows).toBeLessThan(12);
      expect(err).toContain(`${rows} finished rows written to ${csv}`);
      // the job the worker held when the client left is removed once it is done
      await until("the jobs removed", async () => (await jobsLeft(queue)) === 0);
      expect(w.processed()).toBeLessThan(12);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await w.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it("hands its running job back on SIGTERM and exits, without waiting for the job", async () => {
    // before: the worker computed on its only thread and never saw the signal
    const queue = queueName();
    const spec: SweepSpec = { run: "synthetic", params: { x: [1, 2] }, fixed: { sleepMs: 2500 } };
    const child: ChildProcess = spawn(
      process.execPath,
      [BIN, "sweep-worker", "--redis", redis.url, "--queue", queue, "--lock-ms", "60000"].concat([
        "--grace-ms",
        "200",
      ]),
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    const probe = new Queue(queue, { connection: bull() });
    try {
      await until("the worker ready", () => Promise.resolve(out.includes("sweep-worker ready")));
      // with the 60 s lock, a job the child kept would stall this sweep past its idle timeout
      const sweep = runDistributedSweep(spec, { redis: redis.url, queue, idleTimeoutMs: 15_000 });
      await until("a job running on the child", async () => (await probe.getActiveCount()) > 0);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(out).toMatch(/sweep-worker stopped after 0 jobs/);
      const w = await startSweepWorker({ redis: redis.url, queue, threads: 2 });
      try {
        const r = await sweep;
        expect(r.rows).toEqual(rowsOf(spec));
        expect(w.processed()).toBe(2);
      } finally {
        await w.close();
      }
    } finally {
      await probe.close();
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  }, 30_000);
});
