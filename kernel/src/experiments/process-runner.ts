/**
 * A {@link TaskRunner} on child processes (node:child_process `fork`): a process rather than a
 * worker thread when the work needs V8 flags of its own, which hold for a whole process
 * (kernbench's builds: kernbench-table.ts `buildProcessFlags`). Each process takes one task at a
 * time and gets the next as it answers; the pool lives for one `run`.
 *
 * The child side is {@link serveTasks}: the entry module calls it with the function to run.
 */
import { fork } from "node:child_process";
import type { TaskRunner } from "../sim/task-runner.js";

interface TaskMessage<T> {
  readonly id: number;
  readonly task: T;
}

type ResultMessage<R> =
  { readonly id: number; readonly result: R } | { readonly id: number; readonly error: string };

/** Runs tasks on up to `processes` children forked from `entry` (a module calling serveTasks). */
export function processRunner<T, R>(
  entry: string,
  processes: number,
  execArgv: readonly string[] = [],
): TaskRunner<T, R> {
  return {
    async run(tasks, done, signal) {
      const n = Math.min(processes, tasks.length);
      if (n <= 0) return;
      let next = 0;
      const pool = Array.from({ length: n }, () =>
        fork(entry, [], { execArgv: [...execArgv], serialization: "advanced" }),
      );
      const stop = () => {
        for (const child of pool) child.kill();
      };
      signal?.addEventListener("abort", stop, { once: true });
      try {
        await Promise.all(
          pool.map(
            (child) =>
              new Promise<void>((resolve, reject) => {
                let busy = false;
                const feed = () => {
                  if (next >= tasks.length || signal?.aborted === true) return resolve();
                  const id = next++;
                  busy = true;
                  child.send({ id, task: tasks[id]! } satisfies TaskMessage<T>);
                };
                child.on("message", (m: ResultMessage<R>) => {
                  busy = false;
                  if ("error" in m) return reject(new Error(m.error));
                  done(m.id, m.result);
                  feed();
                });
                child.on("error", reject);
                child.on("exit", (code, sig) => {
                  if (signal?.aborted === true) return resolve();
                  if (busy) reject(new Error(`a worker process died (${sig ?? code})`));
                });
                feed();
              }),
          ),
        );
      } finally {
        signal?.removeEventListener("abort", stop);
        for (const child of pool) if (child.connected) child.disconnect();
      }
    },
  };
}

/** The child side of {@link processRunner}: runs each task sent with `fn` and answers with its
 * result or its error's message; leaves when the pool closes the channel. */
export function serveTasks<T, R>(fn: (task: T) => R): void {
  process.on("message", (m: TaskMessage<T>) => {
    let answer: ResultMessage<R>;
    try {
      answer = { id: m.id, result: fn(m.task) };
    } catch (e) {
      answer = { id: m.id, error: e instanceof Error ? e.message : String(e) };
    }
    process.send?.(answer);
  });
  process.on("disconnect", () => process.exit(0));
}
