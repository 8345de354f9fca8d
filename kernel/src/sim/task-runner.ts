/**
 * Where a batch of independent tasks runs. Three implementations, one per kind of worker:
 * threads (sweep/local.ts `threadRunner`, piscina), child processes (experiments/process-runner.ts
 * `processRunner`, kernbench's builds, which need V8 flags of their own) and a BullMQ queue's
 * workers on any machine (sweep/distributed.ts `queueRunner`). A task fixes its own seed, so what
 * a caller builds from the results never depends on which worker ran which task or in what order.
 */
export interface TaskRunner<T, R> {
  /**
   * Runs every task once and calls `done(i, result)` as task `i` finishes, in any order.
   * Resolves when every task has reported, or soon after `signal` aborts (with the tasks that
   * finished reported); rejects on a failure the runner cannot turn into a result.
   */
  run(
    tasks: readonly T[],
    done: (index: number, result: R) => void,
    signal?: AbortSignal,
  ): Promise<void>;
}
