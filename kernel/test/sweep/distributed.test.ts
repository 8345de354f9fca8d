import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  probeRedis,
  RedisUnavailableError,
  ResultCollector,
  runDistributedSweep,
  runSweep,
  startSweepWorker,
  type SweepRow,
  type SweepSpec,
} from "../../src/sweep/index.js";
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
      const r = await runDistributedSweep(spec, { redis: redis.url, queue });
      const local = await runSweep(spec, { workers: 0 });
      expect(r.rows).toEqual(local.rows);
      expect(r.rows.filter((x) => x.status === "failed").map((x) => x.params.x)).toEqual([3, 3]);
      expect(r.duplicates).toBe(0);
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
});
