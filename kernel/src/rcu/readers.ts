/**
 * Which reader kinds hold up a CPU's quiescent state: the single seam between the RCU flavours.
 *
 * Kernel: kernel/rcu/tree.c and tree_plugin.h at v4.14 (rcu_check_callbacks → rcu_sched_qs when
 * the tick came from user mode or idle; rcu_preempt_check_callbacks → rcu_preempt_qs when
 * t->rcu_read_lock_nesting == 0) and v5.0 (rcu_flavor_check_callbacks with CONFIG_PREEMPT: a QS
 * unless rcu_read_lock_nesting > 0 or preempt_count() & (PREEMPT_MASK | SOFTIRQ_MASK)).
 * Reference: kernel.md §3.2, §4.1 and §6 item 13.
 *
 * Invariant: a quiescent state is recorded for a CPU only at a point where none of the reader
 * kinds its flavour honours is active there. Every QS source (tick, context switch, FQS sample)
 * asks `blocksQs`, so the flavours differ only in the set below, never in a code path.
 *
 * Race modelled: an IRQ-off `gup_fast` walker (or a preempt-off one) on one CPU against
 * `call_rcu*` + free on another. RCU-sched and the unified RCU count both regions as readers;
 * pre-v4.20 rcu_preempt counts neither, which is why mm used call_rcu_sched until v4.20.
 *
 * Profile field: `flavour` (params.ts).
 */
import type { Flavour } from "./params.js";

/**
 * - `irqOff`: RFLAGS.IF = 0 (local_irq_disable/save, or inside a hard-IRQ handler).
 * - `preemptOff`: preempt_count > 0 (preempt_disable, rcu_read_lock_sched, get_cpu).
 * - `rcuReadLock`: inside rcu_read_lock() (nesting counter owned by the Rcu instance).
 * - `kernel`: interrupted kernel code. v4.14 RCU-sched cannot tell preemptible kernel code from
 *   an implicit rcu_read_lock_sched section (with !CONFIG_PREEMPT all kernel code is
 *   non-preemptible), so it takes a tick as a QS only from user mode or idle.
 */
export type ReaderKind = "irqOff" | "preemptOff" | "rcuReadLock" | "kernel";

export const FLAVOUR_READERS: Readonly<Record<Flavour, ReadonlySet<ReaderKind>>> = Object.freeze({
  sched: new Set<ReaderKind>(["irqOff", "preemptOff", "kernel"]),
  preempt: new Set<ReaderKind>(["rcuReadLock"]),
  unified: new Set<ReaderKind>(["irqOff", "preemptOff", "rcuReadLock"]),
});

/** The state of the context a QS source looks at. */
export interface ReaderContext {
  /** IF was 0 in that context. */
  readonly irqsOff: boolean;
  readonly preemptCount: number;
  readonly rcuReadLockNesting: number;
  /** Arbitrary kernel code was running there (not user mode, not idle, not the scheduler). */
  readonly inKernelCode: boolean;
}

/** The reader kinds active in `ctx`, in a fixed order. */
function activeReaderKinds(ctx: ReaderContext): ReaderKind[] {
  const kinds: ReaderKind[] = [];
  if (ctx.irqsOff) kinds.push("irqOff");
  if (ctx.preemptCount > 0) kinds.push("preemptOff");
  if (ctx.rcuReadLockNesting > 0) kinds.push("rcuReadLock");
  if (ctx.inKernelCode) kinds.push("kernel");
  return kinds;
}

/** True when some reader kind that `flavour` honours is active in `ctx`: no QS here. */
export function blocksQs(flavour: Flavour, ctx: ReaderContext): boolean {
  const honoured = FLAVOUR_READERS[flavour];
  return activeReaderKinds(ctx).some((k) => honoured.has(k));
}
