/**
 * The measurement behind `sweep/distributed-job-overhead`: the wall time per trivial job of a
 * 300-job distributed sweep (BullMQ on a loopback redis-server this module starts, one in-process
 * worker with one thread), less the time the same tasks take inline. The engine is a parameter, so
 * that `bench/pair-distributed.mjs` can drive two builds with this same code and alternate them.
 *
 * What used to set the figure's spread (docs/benchmarks.md, "sweep/distributed-job-overhead"):
 * the benchmark timed the second sweep of a fresh worker, while the client, BullMQ and the worker
 * thread were still compiling (the process's CPU per job falls from about 1.4 to 0.35 ms over the
 * first fifteen sweeps), and one sweep is one sample of a loaded machine. Now a run warms the
 * engine with {@link WARMUP_SWEEPS} sweeps and reports the median of {@link SAMPLE_SWEEPS}, less
 * the inline time of warm tasks.
 * A sweep's end is where its caller sees it, the resolution of `runDistributedSweep`; the
 * worker's completion of the last job (its `onJob`) is recorded too, to show how much of the wall
 * is the client noticing it at its next poll.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { freePort } from "../../notebook-kernel/client.js";
import { median } from "../harness.js";

/** Jobs per sweep: the sweep the figure has always been of (a client polls every job it still
 * misses, so the cost per job depends on the sweep's size). */
export const SWEEP_JOBS = 300;
/** Sweeps before timing: the process's CPU per job has settled after about fifteen. */
export const WARMUP_SWEEPS = 20;
/** Timed sweeps of one run; their median is the run's value. */
export const SAMPLE_SWEEPS = 15;
/** The client's poll interval, as the benchmark always had it. */
export const POLL_MS = 10;

/** The parts of a build's distributed engine the benchmark drives (sweep/distributed.ts). */
export interface DistributedEngine {
  readonly runDistributedSweep: (
    spec: SweepSpecLike,
    o: { redis: string; queue: string; pollMs: number; progress: boolean },
  ) => Promise<unknown>;
  readonly startSweepWorker: (o: {
    redis: string;
    queue: string;
    concurrency: number;
    onJob: () => void;
  }) => Promise<{ close(): Promise<void> }>;
  readonly probeRedis: (url: string, timeoutMs: number) => Promise<unknown>;
}

/** The benchmark's sweep as a plain object (the builds' own SweepSpec types may differ). */
export interface SweepSpecLike {
  readonly run: "synthetic";
  readonly params: {
    readonly x: { readonly kind: "int"; readonly min: number; readonly max: number };
  };
}

export const SWEEP_SPEC: SweepSpecLike = {
  run: "synthetic",
  params: { x: { kind: "int", min: 1, max: SWEEP_JOBS } },
};

/** One timed sweep, per job. */
export interface SweepTiming {
  /** Call to resolution, ms per job. */
  readonly wallMs: number;
  /** Call to the worker's completion of the sweep's last job, ms per job. */
  readonly toLastJobMs: number;
  /** CPU time of this process, all threads, ms per job. */
  readonly cpuMs: number;
  /** CPU time of the redis-server, ms per job. */
  readonly redisCpuMs: number;
}

/** A loopback redis-server in a private directory, no persistence. */
export interface BenchRedis {
  readonly url: string;
  /** Its CPU time so far, ms (user + system). */
  cpuMs(): number;
  stop(): Promise<void>;
}

function redisBinary(): string {
  const which = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" });
  const bin = which.stdout.trim();
  if (bin === "") throw new Error("redis-server is not installed (apt-get install redis-server)");
  return bin;
}

/** CPU time of all the threads of a process so far, ms, from /proc/PID/task/TID/schedstat (its
 * first field is the time on a CPU in ns; stat's utime and stime tick at 10 ms, too coarse for
 * one sweep); 0 where there is no /proc. */
function procCpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`))
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    return ns / 1e6;
  } catch {
    return 0;
  }
}

export async function startBenchRedis(probe: DistributedEngine["probeRedis"]): Promise<BenchRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "mmulab-bench-redis-"));
  const proc: ChildProcess = spawn(
    redisBinary(),
    ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""],
    { stdio: "ignore" },
  );
  const url = `redis://127.0.0.1:${port}`;
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null)
      await new Promise<void>((r) => {
        proc.once("exit", () => r());
        proc.kill("SIGTERM");
      });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; ; i++) {
      try {
        await probe(url, 500);
        break;
      } catch (e) {
        if (i > 100) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, cpuMs: () => procCpuMs(proc.pid), stop };
}

/** A worker of `engine` on its own queue, and timed sweeps through it. */
export interface DistributedBench {
  sweep(): Promise<SweepTiming>;
  close(): Promise<void>;
}

export async function distributedBench(
  engine: DistributedEngine,
  redis: BenchRedis,
  queue: string,
): Promise<DistributedBench> {
  let lastJob = 0;
  const worker = await engine.startSweepWorker({
    redis: redis.url,
    queue,
    concurrency: 8,
    onJob: () => {
      lastJob = performance.now();
    },
  });
  return {
    async sweep() {
      const r0 = redis.cpuMs();
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await engine.runDistributedSweep(SWEEP_SPEC, {
        redis: redis.url,
        queue,
        pollMs: POLL_MS,
        progress: false,
      });
      const t1 = performance.now();
      const c = process.cpuUsage(c0);
      return {
        wallMs: (t1 - t0) / SWEEP_JOBS,
        toLastJobMs: (lastJob - t0) / SWEEP_JOBS,
        cpuMs: (c.user + c.system) / 1000 / SWEEP_JOBS,
        redisCpuMs: (redis.cpuMs() - r0) / SWEEP_JOBS,
      };
    },
    close: () => worker.close(),
  };
}

/** The same tasks run inline on this thread, ms per job: the median of five runs after five
 * unmeasured ones (a cold first run compiles, and read 0.003–0.03 ms a job under load). */
export function inlineMsPerJob(runInline: () => void): number {
  for (let i = 0; i < 5; i++) runInline();
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    runInline();
    times.push(performance.now() - t0);
  }
  return median(times) / SWEEP_JOBS;
}

/** One run of the benchmark: a fresh redis-server and worker, warmed, then the median wall per
 * job of the timed sweeps less the inline time. */
export async function distributedOverhead(
  engine: DistributedEngine,
  runInline: () => void,
): Promise<number> {
  const inline = inlineMsPerJob(runInline);
  const redis = await startBenchRedis(engine.probeRedis);
  try {
    const bench = await distributedBench(engine, redis, "bench");
    try {
      for (let i = 0; i < WARMUP_SWEEPS; i++) await bench.sweep();
      const walls: number[] = [];
      for (let i = 0; i < SAMPLE_SWEEPS; i++) walls.push((await bench.sweep()).wallMs);
      return median(walls) - inline;
    } finally {
      await bench.close();
    }
  } finally {
    await redis.stop();
  }
}
