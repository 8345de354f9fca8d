/**
 * One worker-runner interface (sim/task-runner.ts), three implementations: worker threads
 * (piscina), child processes (the kernbench build pool) and a BullMQ queue. The same sweep tasks
 * on each come back as the same rows at the same indices as when run inline; a process runner
 * passes a task's error on, and an abort stops it without waiting for the tasks not yet sent.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processRunner } from "../../src/experiments/process-runner.js";
import type { TaskRunner } from "../../src/sim/task-runner.js";
import { queueRunner, startSweepWorker } from "../../src/sweep/distributed.js";
import { closeSweepPools, threadRunner } from "../../src/sweep/local.js";
import { sweepTasks, type SweepSpec, type SweepTask } from "../../src/sweep/space.js";
import { executeTask, type SweepRow } from "../../src/sweep/task.js";
import { TestRedis } from "./redis.js";

const DIST = new URL("../../dist/", import.meta.url).href;

const spec: SweepSpec = {
  run: "synthetic",
  params: { x: { kind: "int", min: 1, max: 5 } },
  fixed: { failWhen: 3 },
  seeds: 2,
  seed: 5,
};

/** A child entry (the kernel's compiled process runner) that runs sweep tasks, or throws. */
function entryFile(dir: string): string {
  const file = join(dir, "entry.mjs");
  writeFileSync(
    file,
    `import { serveTasks } from ${JSON.stringify(`${DIST}experiments/process-runner.js`)};
import { executeTask } from ${JSON.stringify(`${DIST}sweep/task.js`)};
serveTasks((t) => {
  if (t.params.x === 99) throw new Error("task 99 refuses");
  return executeTask(t);
});
`,
  );
  return file;
}

async function collect<T, R>(
  runner: TaskRunner<T, R>,
  tasks: readonly T[],
  signal?: AbortSignal,
): Promise<(R | undefined)[]> {
  const out = new Array<R | undefined>(tasks.length);
  await runner.run(tasks, (i, r) => void (out[i] = r), signal);
  return out;
}

let redis: TestRedis;
let dir: string;
beforeAll(async () => {
  redis = await TestRedis.start();
  dir = mkdtempSync(join(tmpdir(), "mmulab-runner-"));
});
afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
  await closeSweepPools();
});

describe("TaskRunner: threads, processes and a BullMQ queue", () => {
  const tasks = sweepTasks(spec);
  const inline = tasks.map(executeTask);

  it("gives the inline rows at the tasks' indices on each implementation", async () => {
    expect(inline.filter((r) => r.status === "failed")).toHaveLength(2);
    expect(await collect(threadRunner(2), tasks)).toEqual(inline);
    expect(await collect(processRunner<SweepTask, SweepRow>(entryFile(dir), 2), tasks)).toEqual(
      inline,
    );
    const queue = `runner-${process.pid}`;
    const w = await startSweepWorker({ redis: redis.url, queue, lockMs: 2000 });
    try {
      const runner = queueRunner(spec, { redis: redis.url, queue });
      expect(await collect(runner, tasks)).toEqual(inline);
      expect(runner.collected.rows).toEqual(inline);
      expect(runner.collected.duplicates).toBe(0);
    } finally {
      await w.close();
    }
  });

  it("a process runner rejects with a task's error and stops at an abort", async () => {
    const bad = tasks.map((t, i) => (i === 3 ? { ...t, params: { ...t.params, x: 99 } } : t));
    await expect(collect(processRunner(entryFile(dir), 2), bad)).rejects.toThrow("task 99 refuses");
    const ctl = new AbortController();
    const seen: number[] = [];
    await processRunner<SweepTask, SweepRow>(entryFile(dir), 1).run(
      tasks,
      (i) => {
        seen.push(i);
        if (seen.length === 2) ctl.abort();
      },
      ctl.signal,
    );
    expect(seen).toEqual([0, 1]);
  });
});
