/**
 * Tick-based CPU-time accounting (kernel/sched/cputime.c, CONFIG_TICK_CPU_ACCOUNTING, the
 * default of the 2017 distribution kernels, and what VIRT_CPU_ACCOUNTING_GEN falls back to on
 * every CPU that is not nohz_full).
 *
 * The scheduler knows a task's runtime to the nanosecond (`sum_exec_runtime`), but how much of
 * it was user and how much system time is only sampled: on every scheduler tick
 * (`account_process_tick`, HZ times a second) the whole jiffy is charged as user or system time
 * depending on the mode the tick interrupted. getrusage(), wait4() and so GNU time then split
 * the precise runtime in the ratio of those samples (`cputime_adjust`): stime = rtime ×
 * stime_ticks / (stime_ticks + utime_ticks); a task with no system tick is all user time, one
 * with only system ticks all system time. The total user + system is exact; the split carries
 * sampling noise of about √(runtime × TICK_NSEC × p(1 − p)) per process (p: its system share),
 * which does not average out of a build's totals: it is part of every real kernbench's std
 * columns (docs/model.md, "Run-to-run variance").
 */
import type { TaskStats } from "./scheduler.js";

/** getrusage's view of a task: its exact runtime split in the ratio of its tick samples. */
export interface AdjustedCputime {
  /** ns */
  readonly utime: number;
  readonly stime: number;
}

/**
 * cputime_adjust() for a task reaped once (wait_task_zombie → thread_group_cputime_adjusted):
 * `prev_cputime` starts at zero, so its monotonicity clamps do nothing.
 */
export function cputimeAdjust(s: TaskStats): AdjustedCputime {
  const rtime = s.utime + s.stime;
  if (s.sysTicks === 0) return { utime: rtime, stime: 0 };
  if (s.userTicks === 0) return { utime: 0, stime: rtime };
  const stime = (rtime * s.sysTicks) / (s.sysTicks + s.userTicks);
  return { utime: rtime - stime, stime };
}
