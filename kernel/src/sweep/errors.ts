/**
 * How a sweep ends without all its rows: each error carries the rows that did finish
 * (`partial`), so that a cancelled, timed-out or cut-off sweep loses no work already done.
 */
import { MmulabError, SimulationStopped } from "../sim/errors.js";
import type { SweepResult } from "./results.js";

/** The sweep was cancelled; `partial` holds the rows that finished. */
export class SweepCancelled extends SimulationStopped {
  readonly partial: SweepResult;
  constructor(partial: SweepResult, total: number) {
    super(`sweep cancelled after ${partial.rows.length} of ${total} tasks`);
    this.partial = partial;
  }
}

/**
 * A sweep passed its deadline (`deadlineMs`), or a distributed one went `idleTimeoutMs` without
 * a single new row (no worker on the queue, or every worker stuck); `partial` holds the rows that
 * finished. A distributed sweep removed its outstanding jobs first.
 */
export class SweepTimeout extends MmulabError {
  readonly partial: SweepResult;
  readonly reason: "deadline" | "idle";
  constructor(partial: SweepResult, total: number, reason: "deadline" | "idle", detail: string) {
    super(`sweep stopped after ${partial.rows.length} of ${total} tasks: ${detail}`);
    this.partial = partial;
    this.reason = reason;
  }
}

/**
 * The error text of a task that ran past its deadline, the same on a local thread and on a
 * distributed worker so that the rows do not depend on where the task ran.
 */
export function taskTimeoutText(timeoutMs: number): string {
  return `SweepTaskTimeout: task ran longer than ${timeoutMs} ms; its thread was ended`;
}

/** Default per-task deadline: 120× the slowest built-in task (a kernbench build at -j1024 on
 * the 16-CPU host, 5 s here), so it cuts off only a task that will not end. */
export const DEFAULT_TASK_TIMEOUT_MS = 600_000;
/** Longest per-task deadline accepted: a day. */
export const MAX_TASK_TIMEOUT_MS = 86_400_000;
