/**
 * Tree RCU: grace periods, quiescent states and callbacks for one RCU flavour.
 *
 * Kernel: kernel/rcu/tree.c, tree.h, tree_plugin.h and include/linux/rcupdate.h at v4.14 (the
 * release that made x86 free page tables through call_rcu_sched, kernel.md §1.2, §3.2), with the
 * v4.20/v5.0 flavour consolidation as the `"unified"` flavour (kernel.md §4.1). One machine-wide
 * rcu_node (no tree levels: the model has at most a few dozen CPUs and no hotplug).
 *
 * Invariant (the grace-period guarantee): a callback queued by call_rcu*() at time t runs only
 * after a grace period that started after t has ended, and such a grace period ends only when
 * every CPU has recorded a quiescent state after the grace period started, at a point where none
 * of the reader kinds its flavour honours was active (readers.ts). So a callback never runs
 * before every reader that began before its call_rcu has ended.
 *
 * Race modelled: mm frees a page-table batch with call_rcu_sched(tlb_remove_table_rcu) while an
 * IRQ-off gup_fast walker on another CPU still holds a pointer into it (kernel.md §3.1, §3.3).
 * The walker's CPU cannot take the tick or switch context with IRQs off, so it cannot record the
 * quiescent state the grace period waits for; the batch is freed only after the walk.
 *
 * The path through the model, with the kernel functions it follows (v4.14):
 *  1. call_rcu_sched / call_rcu → __call_rcu: enqueue on the CPU's callback list with IRQs off,
 *     tagged with the grace period it needs (rcu_cbs_completed: completed + 1 when idle,
 *     completed + 2 while a grace period runs). Callbacks keep the CPU's tick on (rcu_needs_cpu).
 *  2. The CPU's next tick: rcu_check_callbacks, then RCU_SOFTIRQ (rcu_process_callbacks) on the
 *     interrupt's exit: the CPU notices grace-period changes (note_gp_changes), reports a recorded
 *     quiescent state (rcu_check_quiescent_state), asks for a grace period
 *     (rcu_start_future_gp → wake the GP kthread) and invokes ready callbacks (rcu_do_batch).
 *  3. rcu_gp_kthread: rcu_gp_init (gpnum++, every CPU must report), then waits
 *     jiffies_till_first_fqs, scans (rcu_gp_fqs: idle CPUs are in an extended quiescent state),
 *     then every jiffies_till_next_fqs, until all CPUs have reported; rcu_gp_cleanup.
 *  4. Quiescent states are recorded by rcu_note_context_switch (a task leaving a CPU), by a tick
 *     that interrupted user mode or idle (rcu_sched_qs), and, for "preempt"/"unified", by a tick
 *     that interrupted kernel code outside the flavour's readers.
 *
 * Not modelled: rcu_node tree levels and CPU hotplug; expedited grace periods; RCU_NOCB and
 * RCU_FAST_NO_HZ; jiffies_till_sched_qs help (cond_resched_rcu_qs, resched IPIs); preempted
 * rcu_read_lock readers and priority boosting (tasks never migrate in hw's CPU model); softirq
 * BH-off readers and ksoftirqd (callbacks left after MAX_SOFTIRQ_RESTART passes wait for the
 * next tick); the GP kthread's own CPU time (it runs on `gpKthreadCpu` without taking it from
 * the task there); stall warnings.
 *
 * Profile fields: `flavour`, `hz`, `blimit`, `qhimark`, `qlowmark`, `nohzIdle`,
 * `jiffiesTillFirstFqs`, `jiffiesTillNextFqs`, `gpKthreadCpu`, `fqsReaderSampling` and the costs
 * (params.ts).
 */
import { KernelStateError, ParameterError } from "../sim/errors.js";
import type { SimEvent } from "../sim/event.js";
import { waitFor, type Kfn } from "../sim/process.js";
import type { Rng } from "../sim/rng.js";
import { Priority, type Simulation } from "../sim/simulation.js";
import type { Cpu } from "../hw/cpu.js";
import {
  local_irq_restore,
  local_irq_save,
  preempt_disable,
  preempt_enable,
} from "../hw/irqflags.js";
import type { Machine } from "../hw/machine.js";
import { resolveRcuParams, type RcuParams, type ResolvedRcuParams } from "./params.js";
import { blocksQs, type ReaderContext } from "./readers.js";
import { SchedulerTick, type TickListener } from "../hw/tick.js";

/** An RCU callback: runs on the CPU that queued it, in RCU_SOFTIRQ, after a grace period. */
export type RcuCallback = (cpu: Cpu) => Kfn<void>;

/** One completed grace period. */
export interface GracePeriodRecord {
  readonly gpnum: number;
  /** rcu_gp_init, ns. */
  readonly start: number;
  /** rcu_gp_cleanup, ns. */
  readonly end: number;
}

/** One callback's life. */
export interface CallbackRecord {
  /** Enqueue order over the whole Rcu instance. */
  readonly seq: number;
  readonly cpu: number;
  readonly name: string;
  /** The grace period it waits for (rcu_cbs_completed at enqueue). */
  readonly gp: number;
  /** When it was enqueued (after the enqueue cost), ns. */
  readonly queuedAt: number;
  /** When its function started, ns; null while pending. */
  invokedAt: number | null;
}

/** kernel/softirq.c: __do_softirq restarts at most this many times per interrupt exit. */
export const MAX_SOFTIRQ_RESTART = 10;
/** kernel/softirq.c MAX_SOFTIRQ_TIME: msecs_to_jiffies(2). */
const MAX_SOFTIRQ_TIME_MS = 2;

interface PendingCallback {
  readonly fn: RcuCallback;
  readonly record: CallbackRecord;
}

/** struct rcu_data (v4.14), one per CPU. */
class RcuData {
  readonly cpu: Cpu;
  /** The segmented callback list (rcu_segcblist) as one queue: grace-period tags never decrease
   * in enqueue order, so the DONE segment (tag ≤ completed) is always a prefix. */
  private cbs: PendingCallback[] = [];
  private head = 0;
  /** Last grace period this CPU has noticed start / end (rdp->gpnum, rdp->completed). */
  gpnum = 0;
  completed = 0;
  /** rdp->cpu_no_qs.b.norm: no quiescent state recorded yet for the noticed grace period. */
  cpuNoQs = false;
  /** rdp->core_needs_qs: the noticed grace period still waits for this CPU. */
  coreNeedsQs = false;
  /** rcu_read_lock() nesting of the task on this CPU (t->rcu_read_lock_nesting). */
  rcuReadLockNesting = 0;
  /** Tasks on this CPU asleep in synchronize_*(): for RCU the CPU runs the idle loop. */
  sleeping = 0;
  /** rdp->blimit = LONG_MAX after qhimark was crossed. */
  blimitLifted = false;
  /** rdp->qlen_last_fqs_check. */
  qlenLastFqsCheck = 0;

  constructor(cpu: Cpu) {
    this.cpu = cpu;
  }

  get qlen(): number {
    return this.cbs.length - this.head;
  }

  push(cb: PendingCallback): void {
    this.cbs.push(cb);
  }

  /** The grace period the newest callback waits for; 0 when empty. */
  lastTag(): number {
    return this.qlen === 0 ? 0 : this.cbs[this.cbs.length - 1]!.record.gp;
  }

  /** First callback of the DONE segment, if any. */
  peekReady(): PendingCallback | undefined {
    const cb = this.cbs[this.head];
    return cb !== undefined && cb.record.gp <= this.completed ? cb : undefined;
  }

  readyCount(): number {
    let n = 0;
    for (let i = this.head; i < this.cbs.length && this.cbs[i]!.record.gp <= this.completed; i++)
      n++;
    return n;
  }

  shift(): void {
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.cbs.length) {
      this.cbs = this.cbs.slice(this.head);
      this.head = 0;
    }
  }
}

/** wakeme_after_rcu: synchronize_rcu's callback completes its waiter (module-level, not a
 * closure per call: docs/benchmarks.md). */
// eslint-disable-next-line require-yield -- complete() takes no modelled time
function* wakeme_after_rcu(done: SimEvent<void>): Kfn<void> {
  done.succeed();
}

export class Rcu implements TickListener {
  readonly machine: Machine;
  readonly sim: Simulation;
  readonly params: ResolvedRcuParams;
  /** rsp->name: the tracepoints' rcuname. */
  readonly name: "rcu_sched" | "rcu_preempt";
  readonly tick: SchedulerTick;
  private readonly rda: RcuData[];
  /** rsp->gpnum: the last grace period started. */
  private _gpnum = 0;
  /** rsp->completed: the last grace period ended. */
  private _completed = 0;
  /** rnp->qsmask: CPUs the current grace period still waits for. */
  private readonly qsmask: boolean[];
  private qsmaskCount = 0;
  private gpStart = 0;
  /** RCU_GP_FLAG_INIT. */
  private gpFlagInit = false;
  /** Highest grace period some callback needs (need_future_gp). */
  private neededGp = 0;
  private kthreadWait: SimEvent<void> | null = null;
  /** The GP kthread's CPU went through idle since the first FQS snapshot of this GP. */
  private kthreadCpuIdleSinceSnap = false;
  private running = false;
  /** Bumped by start(): a kthread from before a stop() exits instead of running twice. */
  private kthreadGen = 0;
  private hooked = false;
  private cbSeq = 0;
  private pending = 0;
  private readonly _gracePeriods: GracePeriodRecord[] = [];
  private readonly _callbacks: CallbackRecord[] = [];
  /** FQS scans run so far. */
  fqsScans = 0;
  /** Own random stream (Rng.fork) for RCU's cost jitter. */
  private readonly rng: Rng;

  constructor(machine: Machine, params: RcuParams = {}) {
    this.params = resolveRcuParams(params, machine.nrCpus);
    this.machine = machine;
    this.sim = machine.sim;
    this.name = this.params.flavour === "sched" ? "rcu_sched" : "rcu_preempt";
    this.tick = SchedulerTick.of(machine, {
      hz: this.params.hz,
      nohzIdle: this.params.nohzIdle,
      tickNs: this.params.tickNs,
    });
    this.rda = machine.cpus.map((c) => new RcuData(c));
    this.qsmask = new Array<boolean>(machine.nrCpus).fill(false);
    this.rng = this.sim.rng.fork();
  }

  /** A cost with the machine's jitter, from RCU's own random stream. */
  private jitter(ns: number): number {
    return this.rng.jitter(ns, this.machine.costs.jitter);
  }

  // ---------------------------------------------------------------- lifecycle

  /** Hooks the context-switch notifier, starts the ticks and the GP kthread. */
  start(): void {
    if (this.running) return;
    this.running = true;
    if (!this.hooked) {
      this.machine.onContextSwitch((cpu) => this.rcu_note_context_switch(cpu));
      this.hooked = true;
    }
    this.tick.addListener(this);
    this.tick.start();
    this.sim.process(`${this.name}/rcu_gp_kthread`, this.rcu_gp_kthread(++this.kthreadGen));
  }

  /**
   * Ends the model: the GP kthread exits at its next step, quiescent states and callbacks are no
   * longer processed (pending ones stay in `pendingCallbacks`), and the ticks stop if no other
   * listener uses them. Not needed for `sim.run()` to return: ticks go dormant by themselves
   * once RCU is idle and nothing else is scheduled (tick.ts).
   */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.tick.removeListener(this);
    this.rcu_gp_kthread_wake();
  }

  get isRunning(): boolean {
    return this.running;
  }

  // ---------------------------------------------------------------- metrics

  /** rsp->gpnum. */
  get gpnum(): number {
    return this._gpnum;
  }

  /** rsp->completed. */
  get completed(): number {
    return this._completed;
  }

  get gpInProgress(): boolean {
    return this._gpnum !== this._completed;
  }

  /** Completed grace periods, in order. */
  get gracePeriods(): readonly GracePeriodRecord[] {
    return this._gracePeriods;
  }

  /** Every callback queued so far, in enqueue order. */
  get callbacks(): readonly CallbackRecord[] {
    return this._callbacks;
  }

  /** Callbacks queued and not yet invoked, all CPUs. */
  get pendingCallbacks(): number {
    return this.pending;
  }

  /** Queue → invoke latency of every invoked callback, ns, in enqueue order. */
  callbackLatencies(): number[] {
    const out: number[] = [];
    for (const r of this._callbacks) if (r.invokedAt !== null) out.push(r.invokedAt - r.queuedAt);
    return out;
  }

  /** Grace-period durations (end − start), ns. */
  gracePeriodDurations(): number[] {
    return this._gracePeriods.map((g) => g.end - g.start);
  }

  /** rcu_read_lock() nesting on `cpu` (this instance's counter). */
  readLockNesting(cpu: Cpu): number {
    return this.rdp(cpu).rcuReadLockNesting;
  }

  // ---------------------------------------------------------------- readers

  /** rcu_read_lock(): enters a read-side critical section (__rcu_read_lock: nesting++). A reader
   * for "preempt" and "unified"; RCU-sched does not wait for it (kernel.md §4.1). */
  rcu_read_lock(cpu: Cpu): void {
    this.rdp(cpu).rcuReadLockNesting++;
  }

  /** rcu_read_unlock(): leaves it. Unbalanced use is a KernelStateError. */
  rcu_read_unlock(cpu: Cpu): void {
    const rdp = this.rdp(cpu);
    if (rdp.rcuReadLockNesting === 0)
      throw new KernelStateError(
        "rcu_read_unlock",
        `cpu${cpu.id} is not inside rcu_read_lock() (unbalanced unlock)`,
      );
    rdp.rcuReadLockNesting--;
  }

  /** rcu_read_lock_sched() = preempt_disable() (include/linux/rcupdate.h). */
  rcu_read_lock_sched(cpu: Cpu): void {
    preempt_disable(cpu);
  }

  /** rcu_read_unlock_sched() = preempt_enable(). */
  rcu_read_unlock_sched(cpu: Cpu): void {
    preempt_enable(cpu);
  }

  // ---------------------------------------------------------------- updaters

  /**
   * call_rcu_sched (v4.14 kernel/rcu/tree.c): queues `fn` to run on `cpu` after an RCU-sched
   * grace period. On "unified" it is the v5.0 wrapper for call_rcu. On "preempt" it is refused:
   * the rcu_sched state is a separate engine, build a second Rcu with flavour "sched".
   */
  *call_rcu_sched(cpu: Cpu, fn: RcuCallback, name?: string): Kfn<void> {
    this.requireSchedApi("call_rcu_sched");
    yield* this.__call_rcu(cpu, fn, name ?? fn.name, "call_rcu_sched");
  }

  /** call_rcu: this instance's flavour (on "sched", the v4.14 !CONFIG_PREEMPT call_rcu, which
   * is call_rcu_sched). */
  *call_rcu(cpu: Cpu, fn: RcuCallback, name?: string): Kfn<void> {
    yield* this.__call_rcu(cpu, fn, name ?? fn.name, "call_rcu");
  }

  /** synchronize_sched (v4.14): blocks the calling task until a full RCU-sched grace period has
   * passed. Refused on "preempt" like call_rcu_sched. */
  *synchronize_sched(cpu: Cpu): Kfn<void> {
    this.requireSchedApi("synchronize_sched");
    yield* this.wait_rcu_gp(cpu, "synchronize_sched");
  }

  /** synchronize_rcu: the same for this instance's flavour. */
  *synchronize_rcu(cpu: Cpu): Kfn<void> {
    yield* this.wait_rcu_gp(cpu, "synchronize_rcu");
  }

  private requireSchedApi(api: string): void {
    if (this.params.flavour === "preempt")
      throw new KernelStateError(
        api,
        `this Rcu models rcu_preempt (flavour "preempt"); before v4.20 ${api} belongs to the ` +
          `separate rcu_sched state: build a second Rcu with flavour "sched" on the same machine`,
      );
  }

  /**
   * __call_rcu (v4.14): local_irq_save, enqueue on this CPU's list tagged with
   * rcu_cbs_completed(), trace rcu_callback, __call_rcu_core (qhimark: lift the batch limit and
   * ask for a grace period at once), local_irq_restore.
   */
  private *__call_rcu(cpu: Cpu, fn: RcuCallback, name: string, api: string): Kfn<void> {
    this.requireRunning(api);
    if (typeof fn !== "function")
      throw new ParameterError("fn", fn, "a generator function (cpu) => Kfn<void>", api);
    const rdp = this.rdp(cpu);
    const flags = local_irq_save(cpu);
    yield this.jitter(this.params.enqueueNs);
    const record: CallbackRecord = {
      seq: this.cbSeq++,
      cpu: cpu.id,
      name,
      gp: this.rcu_cbs_completed(),
      queuedAt: this.sim.now,
      invokedAt: null,
    };
    this._callbacks.push(record);
    rdp.push({ fn, record });
    this.pending++;
    this.sim.trace.instant(cpu.id, "rcu:rcu_callback", {
      rcuname: this.name,
      func: name,
      gp: record.gp,
      qlen: rdp.qlen,
    });
    // __call_rcu_core: too many callbacks → no batch limit, and a grace period now.
    if (rdp.qlen > rdp.qlenLastFqsCheck + this.params.qhimark) {
      rdp.blimitLifted = true;
      this.rcu_start_future_gp(record.gp);
      rdp.qlenLastFqsCheck = rdp.qlen;
    }
    this.tick.kick();
    yield* local_irq_restore(cpu, flags);
  }

  /**
   * wait_rcu_gp (v4.14 kernel/rcu/update.c): call_rcu(wakeme_after_rcu) and
   * wait_for_completion. The wait is a sleep: schedule() notes a context switch, and until the
   * wake-up RCU sees the CPU as idle (hw's CPU model has no blocking, so the task stays the
   * CPU's task meanwhile). With one CPU, synchronize_sched returns at once (rcu_blocking_is_gp).
   */
  private *wait_rcu_gp(cpu: Cpu, api: string): Kfn<void> {
    this.requireRunning(api);
    const rdp = this.rdp(cpu);
    // might_sleep(): a reader cannot wait for a grace period.
    const atomic =
      !cpu.irqsEnabled || cpu.inIrq || cpu.preemptCount > 0 || rdp.rcuReadLockNesting > 0;
    if (atomic)
      throw new KernelStateError(
        api,
        `called on cpu${cpu.id} in atomic context (IRQs ${cpu.irqsEnabled ? "on" : "off"}, ` +
          `in_irq ${String(cpu.inIrq)}, preempt_count ${cpu.preemptCount}, rcu_read_lock nesting ` +
          `${rdp.rcuReadLockNesting}): it sleeps`,
      );
    if (cpu.task !== this.sim.current)
      throw new KernelStateError(
        api,
        `must be called from the task running on cpu${cpu.id} (cpu.run)`,
      );
    if (this.params.flavour === "sched" && this.machine.nrCpus === 1) return;
    const done = this.sim.event<void>(`${api} cpu${cpu.id}`);
    yield* this.__call_rcu(cpu, () => wakeme_after_rcu(done), "wakeme_after_rcu", api);
    rdp.sleeping++;
    this.rcu_note_context_switch(cpu);
    try {
      yield waitFor(done);
    } finally {
      rdp.sleeping--;
    }
  }

  /** rcu_cbs_completed (v4.14): the grace period a callback queued now must wait for. */
  private rcu_cbs_completed(): number {
    return this.gpInProgress ? this._completed + 2 : this._completed + 1;
  }

  // ---------------------------------------------------------------- quiescent states

  /** The RCU view of a CPU in the idle loop (dyntick-idle, an extended quiescent state). */
  private rcuIdle(cpu: Cpu): boolean {
    return cpu.idle || (this.rdp(cpu).sleeping > 0 && !cpu.inIrq);
  }

  /** What the CPU is doing right now, as a remote observer (the FQS scan) would see it. */
  private liveContext(cpu: Cpu): ReaderContext {
    const rdp = this.rdp(cpu);
    return {
      irqsOff: !cpu.irqsEnabled,
      preemptCount: cpu.preemptCount,
      rcuReadLockNesting: rdp.rcuReadLockNesting,
      inKernelCode: !this.rcuIdle(cpu) && cpu.mode === "kernel",
    };
  }

  /**
   * rcu_note_context_switch (v4.14): a task leaves the CPU. rcu_sched_qs / rcu_preempt_qs record
   * a quiescent state, unless the task left a reader open (a workload bug in this model, since
   * tasks are never preempted: the region is treated as still running).
   */
  rcu_note_context_switch(cpu: Cpu): void {
    if (!this.running) return;
    const rdp = this.rdp(cpu);
    const ctx: ReaderContext = {
      irqsOff: !cpu.irqsEnabled,
      preemptCount: cpu.preemptCount,
      rcuReadLockNesting: rdp.rcuReadLockNesting,
      inKernelCode: false,
    };
    if (blocksQs(this.params.flavour, ctx)) {
      this.sim.trace.instant(cpu.id, "mmulab:rcu_ctxsw_in_reader", { rcuname: this.name });
      return;
    }
    this.rcu_qs(rdp);
  }

  /**
   * rcu_sched_qs / rcu_preempt_qs / rcu_qs: record a quiescent state for the grace period this
   * CPU has noticed. One recorded before the CPU noticed the grace period does not count
   * (cpu_no_qs is set only when it notices).
   */
  private rcu_qs(rdp: RcuData): void {
    if (!rdp.cpuNoQs) return;
    rdp.cpuNoQs = false;
    this.sim.trace.instant(rdp.cpu.id, "rcu:rcu_grace_period", {
      rcuname: this.name,
      gpnum: rdp.gpnum,
      gpevent: "cpuqs",
    });
  }

  /**
   * rcu_check_callbacks(user) (v4.14), the hard-IRQ part of the tick. The interrupted context had
   * IF = 1 (the tick was taken); it is a quiescent state unless it was inside a reader the
   * flavour honours ("sched": any kernel code; user mode and idle always qualify).
   */
  private rcu_check_callbacks(rdp: RcuData): void {
    const cpu = rdp.cpu;
    const ctx: ReaderContext = {
      irqsOff: false,
      preemptCount: cpu.preemptCount,
      rcuReadLockNesting: rdp.rcuReadLockNesting,
      inKernelCode: cpu.mode === "kernel" && rdp.sleeping === 0,
    };
    if (!blocksQs(this.params.flavour, ctx)) this.rcu_qs(rdp);
  }

  /** __note_gp_changes (v4.14): notice grace-period ends (advancing callbacks to DONE) and
   * starts (this CPU now owes a quiescent state if the grace period waits for it). */
  private note_gp_changes(rdp: RcuData): void {
    const id = rdp.cpu.id;
    if (rdp.completed !== this._completed) {
      rdp.completed = this._completed;
      this.sim.trace.instant(id, "rcu:rcu_grace_period", {
        rcuname: this.name,
        gpnum: rdp.completed,
        gpevent: "cpuend",
      });
    }
    if (rdp.gpnum !== this._gpnum) {
      rdp.gpnum = this._gpnum;
      const need = this.gpInProgress && this.qsmask[id] === true;
      rdp.cpuNoQs = need;
      rdp.coreNeedsQs = need;
      this.sim.trace.instant(id, "rcu:rcu_grace_period", {
        rcuname: this.name,
        gpnum: rdp.gpnum,
        gpevent: "cpustart",
      });
    }
  }

  /** rcu_check_quiescent_state (v4.14): report this CPU's recorded quiescent state. */
  private rcu_check_quiescent_state(rdp: RcuData): void {
    this.note_gp_changes(rdp);
    if (!rdp.coreNeedsQs) return;
    if (rdp.cpuNoQs) return;
    this.rcu_report_qs_rdp(rdp);
  }

  /** rcu_report_qs_rdp (v4.14): a quiescent state recorded in an earlier grace period is
   * discarded; otherwise this CPU's bit is cleared. */
  private rcu_report_qs_rdp(rdp: RcuData): void {
    if (rdp.gpnum !== this._gpnum || !this.gpInProgress) {
      rdp.cpuNoQs = true;
      return;
    }
    rdp.coreNeedsQs = false;
    if (this.qsmask[rdp.cpu.id]) this.rcu_report_qs_rnp(rdp.cpu.id);
  }

  /** rcu_report_qs_rnp / rcu_report_qs_rsp: clear a CPU's bit; the last one wakes the kthread. */
  private rcu_report_qs_rnp(cpuId: number): void {
    if (!this.qsmask[cpuId]) return;
    this.qsmask[cpuId] = false;
    this.qsmaskCount--;
    if (this.qsmaskCount === 0) this.rcu_gp_kthread_wake();
  }

  // ---------------------------------------------------------------- tick and softirq

  /** TickListener: rcu_check_callbacks, then RCU_SOFTIRQ on the interrupt's exit if
   * rcu_pending(). The softirq runs inside the handler, i.e. with IRQs still off (hw's CPU model
   * has no irq_exit hook that re-enables them). */
  *onTick(cpu: Cpu): Kfn<void> {
    if (!this.running) return;
    const rdp = this.rdp(cpu);
    this.rcu_check_callbacks(rdp);
    if (this.rcu_pending(rdp)) yield* this.rcu_process_callbacks(rdp);
  }

  /** TickListener, rcu_needs_cpu (v4.14 without RCU_FAST_NO_HZ): an idle CPU may stop its tick
   * unless it has callbacks. */
  canStopTick(cpu: Cpu): boolean {
    return !this.running || (this.rcuIdle(cpu) && this.rdp(cpu).qlen === 0);
  }

  /** TickListener: nothing queued, no grace period running or requested. */
  quiescent(): boolean {
    return !this.running || (this.pending === 0 && !this.gpInProgress && !this.gpFlagInit);
  }

  /** rcu_pending (v4.14), simplified: this CPU has RCU work at all. */
  private rcu_pending(rdp: RcuData): boolean {
    return (
      rdp.qlen > 0 ||
      rdp.coreNeedsQs ||
      rdp.gpnum !== this._gpnum ||
      rdp.completed !== this._completed
    );
  }

  /**
   * rcu_process_callbacks → __rcu_process_callbacks (v4.14): report a quiescent state, ask for a
   * grace period if this CPU's callbacks need one, then invoke ready callbacks, rerunning
   * rcu_do_batch as __do_softirq restarts (at most MAX_SOFTIRQ_RESTART passes or 2 ms).
   */
  private *rcu_process_callbacks(rdp: RcuData): Kfn<void> {
    this.rcu_check_quiescent_state(rdp);
    const need = rdp.lastTag();
    if (need > this._completed) this.rcu_start_future_gp(need);
    const t0 = this.sim.now;
    const jiffy = 1e9 / this.params.hz;
    const maxTime = Math.ceil((MAX_SOFTIRQ_TIME_MS * 1e6) / jiffy) * jiffy;
    for (let pass = 0; pass < MAX_SOFTIRQ_RESTART && this.sim.now - t0 < maxTime; pass++) {
      if (rdp.peekReady() === undefined) break;
      yield* this.rcu_do_batch(rdp);
    }
  }

  /** rcu_do_batch (v4.14): invoke up to blimit ready callbacks (all of them once the queue went
   * past qhimark), each charged callbackInvokeNs plus its own work. */
  private *rcu_do_batch(rdp: RcuData): Kfn<void> {
    const cpu = rdp.cpu;
    const bl = rdp.blimitLifted ? Number.POSITIVE_INFINITY : this.params.blimit;
    this.sim.trace.instant(cpu.id, "rcu:rcu_batch_start", {
      rcuname: this.name,
      qlen: rdp.qlen,
      blimit: Number.isFinite(bl) ? bl : -1,
    });
    let count = 0;
    while (count < bl) {
      const cb = rdp.peekReady();
      if (cb === undefined) break;
      rdp.shift();
      this.pending--;
      this.sim.trace.instant(cpu.id, "rcu:rcu_invoke_callback", {
        rcuname: this.name,
        func: cb.record.name,
      });
      yield this.jitter(this.params.callbackInvokeNs);
      cb.record.invokedAt = this.sim.now;
      yield* cb.fn(cpu);
      count++;
    }
    this.sim.trace.instant(cpu.id, "rcu:rcu_batch_end", {
      rcuname: this.name,
      callbacks_invoked: count,
    });
    if (rdp.blimitLifted && rdp.qlen <= this.params.qlowmark) rdp.blimitLifted = false;
    if (rdp.qlen === 0) rdp.qlenLastFqsCheck = 0;
    else if (rdp.qlen < rdp.qlenLastFqsCheck - this.params.qhimark) rdp.qlenLastFqsCheck = rdp.qlen;
  }

  /** rcu_start_future_gp / rcu_start_gp (v4.14): record that grace period `gp` is needed; if none
   * is running, set RCU_GP_FLAG_INIT and wake the kthread. A request made during a grace period
   * is honoured by rcu_gp_cleanup. */
  private rcu_start_future_gp(gp: number): void {
    if (gp > this.neededGp) this.neededGp = gp;
    if (!this.gpInProgress && !this.gpFlagInit && this.neededGp > this._completed) {
      this.gpFlagInit = true;
      this.sim.trace.instant(-1, "rcu:rcu_grace_period", {
        rcuname: this.name,
        gpnum: this._completed + 1,
        gpevent: "newreq",
      });
      this.rcu_gp_kthread_wake();
    }
  }

  // ---------------------------------------------------------------- the GP kthread

  /** rcu_gp_kthread_wake: swake_up(&rsp->gp_wq). */
  private rcu_gp_kthread_wake(): void {
    const ev = this.kthreadWait;
    if (ev !== null && !ev.triggered) ev.succeed();
  }

  /**
   * swait_event_idle(_timeout): sleep until `cond` holds, woken by rcu_gp_kthread_wake or by the
   * timer at `deadline`. Sleeping and waking are context switches on the kthread's CPU; a
   * wake-up costs gpKthreadWakeNs before the kthread runs.
   */
  private *swait(deadline: number | null, cond: () => boolean): Kfn<void> {
    if (cond()) return;
    const ev = this.sim.event<void>(`${this.name} gp_wq`);
    this.kthreadWait = ev;
    if (deadline !== null) {
      this.sim.schedule(
        Math.max(0, deadline - this.sim.now),
        () => {
          if (!ev.triggered) ev.succeed();
        },
        Priority.NORMAL,
      );
    }
    this.kthreadSwitch(true);
    yield waitFor(ev);
    this.kthreadWait = null;
    yield this.jitter(this.params.gpKthreadWakeNs);
    this.kthreadSwitch(false);
  }

  /** The GP kthread leaves (`out`) or takes (`!out`) its CPU: a context switch there, which is a
   * quiescent state for whatever was running (unless that is a reader); a CPU left idle has been
   * through dyntick-idle, which the next FQS scan sees. */
  private kthreadSwitch(out: boolean): void {
    const cpu = this.machine.cpus[this.params.gpKthreadCpu]!;
    const rdp = this.rdp(cpu);
    if (!blocksQs(this.params.flavour, this.liveContext(cpu))) this.rcu_qs(rdp);
    if (out && this.rcuIdle(cpu)) this.kthreadCpuIdleSinceSnap = true;
  }

  /** rcu_gp_kthread (v4.14): wait for a request, rcu_gp_init, the FQS loop, rcu_gp_cleanup. */
  private *rcu_gp_kthread(gen: number): Kfn<void> {
    const stopped = (): boolean => !this.running || gen !== this.kthreadGen;
    for (;;) {
      if (!this.gpInProgress) {
        yield* this.swait(null, () => this.gpFlagInit || stopped());
        if (stopped()) return;
        this.rcu_gp_init();
      }
      let first = true;
      let deadline = this.fqsDeadline(this.params.jiffiesTillFirstFqs);
      for (;;) {
        this.sim.trace.instant(-1, "rcu:rcu_grace_period", {
          rcuname: this.name,
          gpnum: this._gpnum,
          gpevent: "fqswait",
        });
        yield* this.swait(deadline, () => this.qsmaskCount === 0 || stopped());
        if (stopped()) return;
        if (this.qsmaskCount === 0) break;
        if (this.sim.now >= deadline) {
          this.rcu_gp_fqs(first);
          first = false;
          if (this.qsmaskCount === 0) break;
          deadline = this.fqsDeadline(this.params.jiffiesTillNextFqs);
        }
      }
      this.rcu_gp_cleanup();
    }
  }

  /** jiffies + j as a time: the kthread's schedule_timeout expires on that jiffy boundary. */
  private fqsDeadline(j: number): number {
    return this.tick.jiffyStart(this.tick.jiffies() + j);
  }

  /** rcu_gp_init (v4.14): a new grace period that waits for every online CPU. */
  private rcu_gp_init(): void {
    this.gpFlagInit = false;
    this._gpnum++;
    this.gpStart = this.sim.now;
    this.qsmask.fill(true);
    this.qsmaskCount = this.qsmask.length;
    this.sim.trace.instant(-1, "rcu:rcu_grace_period", {
      rcuname: this.name,
      gpnum: this._gpnum,
      gpevent: "start",
    });
    // The kthread's own CPU notices the new grace period at once.
    this.note_gp_changes(this.rda[this.params.gpKthreadCpu]!);
  }

  /**
   * rcu_gp_fqs → force_qs_rnp (v4.14). The first scan snapshots each CPU's dynticks counter
   * (dyntick_save_progress_counter) and reports the CPUs that are idle; later scans
   * (rcu_implicit_dynticks_qs) report CPUs that are idle or went through idle since. The
   * kthread's own CPU is running the scan, so it is never idle at the snapshot; it is reported
   * later if it went idle after the snapshot. With `fqsReaderSampling`, any CPU outside the
   * flavour's readers is reported too (the contract-level RCU).
   */
  private rcu_gp_fqs(first: boolean): void {
    this.fqsScans++;
    const k = this.params.gpKthreadCpu;
    if (first) this.kthreadCpuIdleSinceSnap = false;
    for (const cpu of this.machine.cpus) {
      if (!this.qsmask[cpu.id]) continue;
      const live = this.liveContext(cpu);
      const readerFree = !blocksQs(this.params.flavour, live);
      let qsevent: string | null = null;
      if (cpu.id === k) {
        if (!first && this.kthreadCpuIdleSinceSnap) qsevent = "dti";
      } else if (this.rcuIdle(cpu) && readerFree) {
        qsevent = "dti";
      }
      if (qsevent === null && this.params.fqsReaderSampling && readerFree) qsevent = "rdr";
      if (qsevent !== null) {
        this.sim.trace.instant(cpu.id, "rcu:rcu_fqs", {
          rcuname: this.name,
          gpnum: this._gpnum,
          cpu: cpu.id,
          qsevent,
        });
        this.rcu_report_qs_rnp(cpu.id);
      }
    }
  }

  /** rcu_gp_cleanup (v4.14): completed = gpnum; start the next grace period if one is needed. */
  private rcu_gp_cleanup(): void {
    this._completed = this._gpnum;
    this._gracePeriods.push({ gpnum: this._gpnum, start: this.gpStart, end: this.sim.now });
    this.sim.trace.instant(-1, "rcu:rcu_grace_period", {
      rcuname: this.name,
      gpnum: this._completed,
      gpevent: "end",
    });
    this.note_gp_changes(this.rda[this.params.gpKthreadCpu]!);
    if (this.neededGp > this._completed) this.gpFlagInit = true;
  }

  // ---------------------------------------------------------------- helpers

  private rdp(cpu: Cpu): RcuData {
    if (cpu.machine !== this.machine || this.rda[cpu.id] === undefined)
      throw new ParameterError(
        "cpu",
        cpu.id,
        `a CPU of this Rcu's machine (0 … ${this.machine.nrCpus - 1})`,
        this.name,
      );
    return this.rda[cpu.id]!;
  }

  private requireRunning(api: string): void {
    if (!this.running)
      throw new KernelStateError(api, `${this.name} is not running: call Rcu.start() first`);
  }
}
