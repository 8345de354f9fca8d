import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  distributedBench,
  inlineMsPerJob,
  startBenchRedis,
  SWEEP_JOBS,
  type BenchRedis,
} from "../../src/bench/suites/sweep-distributed.js";
import { probeRedis, runDistributedSweep, startSweepWorker } from "../../src/sweep/distributed.js";

// the measurement behind sweep/distributed-job-overhead, on this build's engine: what it times
// and counts must be what its fields say, or the paired runner compares nothing
describe("distributed sweep benchmark", () => {
  let redis: BenchRedis;
  beforeAll(async () => {
    redis = await startBenchRedis(probeRedis);
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it("times whole sweeps, the worker's last job inside each, and counts both processes' CPU", async () => {
    const bench = await distributedBench(
      { runDistributedSweep, startSweepWorker, probeRedis },
      redis,
      `bench-test-${process.pid}`,
    );
    try {
      for (let i = 0; i < 2; i++) {
        const t = await bench.sweep();
        // the last job completes before the client sees it at its next poll and ends
        expect(t.toLastJobMs).toBeGreaterThan(0);
        expect(t.toLastJobMs).toBeLessThan(t.wallMs);
        // 300 jobs through BullMQ and a worker thread: far more than nothing on both sides
        expect(t.cpuMs).toBeGreaterThan(0.001);
        expect(t.redisCpuMs).toBeGreaterThan(0.001);
      }
    } finally {
      await bench.close();
    }
  }, 60_000);

  it("stops its redis-server: the port answers no more", async () => {
    const other = await startBenchRedis(probeRedis);
    await probeRedis(other.url, 1000);
    await other.stop();
    await expect(probeRedis(other.url, 300)).rejects.toThrow();
  }, 30_000);

  it("reports the inline time per job of the sweep's tasks, timed after warming them", () => {
    let calls = 0;
    const ms = inlineMsPerJob(() => {
      calls++;
      const t0 = performance.now();
      while (performance.now() - t0 < 3);
    });
    expect(calls).toBe(10);
    expect(ms).toBeGreaterThanOrEqual(3 / SWEEP_JOBS);
  });
});
