/**
 * A CPU: what runs on it, its interrupt flag, and the interrupts waiting for that flag.
 *
 * Invariant (x86, SDM vol. 3 §6.8.1): while RFLAGS.IF = 0 a maskable interrupt stays pending in
 * the local APIC; it is taken at the first instruction after IF becomes 1 again. The kernel's
 * IPI-based TLB shootdown relies on exactly this: a sender spinning in `csd_lock_wait` cannot
 * get past a target that has interrupts off (reference/kernel.md §2.4), which is what keeps an
 * IRQ-off `gup_fast` walk safe on native x86.
 *
 * A CPU runs one context at a time: a task (a kernel code path started with `run`) or an
 * interrupt handler that has suspended the task. Handlers run with IF = 0, as the interrupt gate
 * leaves them; interrupts that arrive meanwhile are taken one after another before the task
 * continues. A vCPU can also be descheduled by its host (`hostPreempt`): then nothing on it makes
 * progress and nothing is delivered, whatever its IF says. A guest kernel thread (a kworker) can
 * take the CPU from the task for a few µs of the CPU's own time (`runKthread`): if the host
 * deschedules the vCPU meanwhile, the kworker's rest waits for the vCPU like everything else.
 */
import { KernelStateError } from "../sim/errors.js";
import { Signal } from "../sim/event.js";
import type { Process, Kfn } from "../sim/process.js";
import type { OpenSpan } from "../sim/trace.js";
import type { Machine } from "./machine.js";
import { TranslationCaches } from "./tlb-cache.js";

/** The interrupt vectors the model uses (arch/x86/include/asm/irq_vectors.h). */
export type Vector = "CALL_FUNCTION" | "CALL_FUNCTION_SINGLE" | "RESCHEDULE" | "LOCAL_TIMER";

/** A cross-call function. `returnsAtOnce`, where given, runs it on `cpu` if it returns at once
 * and changes nothing but this CPU's counters — and would, whenever in the current handler it
 * ran, because what it reads only this CPU changes — and says whether it did: the csdBatch
 * shortcut (hw/machine.ts) runs such calls without an event each. */
export interface CsdFunc {
  (cpu: Cpu): Kfn<void>;
  readonly returnsAtOnce?: (cpu: Cpu) => boolean;
  /** Where given, `returnsAtOnce` is this: the call returns at once on a CPU that has caught up
   * with generation `gen` of `key` (a TLB flush request for one mm, numbered by the mm's
   * tlb_gen), which lets the csdBatch shortcut ask a CPU once per run of such calls. */
  readonly catchUp?: CsdCatchUp;
}

/** One kind of call that returns at once on a CPU that has caught up with it (CsdFunc.catchUp). */
export interface CsdCatchUp {
  /** What the calls of one kind share (a flush request's mm). */
  readonly key: object;
  /** This call's generation. */
  readonly gen: number;
  /** The newest generation of `key` a call returns at once for on `cpu` now (-Infinity: none;
   * Infinity: any); only `cpu` changes it, so it holds while `cpu` stays in its handler. */
  through(cpu: Cpu): number;
  /** `n` calls of `key` returned at once on `cpu`: what returnsAtOnce would have counted. */
  ranAtOnce(cpu: Cpu, n: number): void;
}

/**
 * A queued cross-call (kernel/smp.c `struct __call_single_data`): one record per call, queued
 * on each target's call_single_queue; `ack` is the target's unlock, which the sender's
 * csd_lock_wait counts.
 */
export interface Csd {
  readonly func: CsdFunc;
  readonly name: string;
  /** This target's csd is unlocked at `at` (now, or later within the handler's current batch). */
  ack(at: number): void;
  /** An unlock given ahead is taken back: the target stalled before it was due. */
  unack(): void;
}

/**
 * The csdBatch shortcut's state on one CPU (hw/machine.ts flushCallSingleQueue): the csds its
 * handler has run ahead in one step, each unlocked at the time it is due, and the first one
 * after them that does work.
 */
export class CsdBatch {
  readonly csds: Csd[] = [];
  /** When each csd's unlock is due, ns (docs/benchmarks.md, "Performance devices"). */
  dueAt = new Float64Array(8);
  /** 1 while the unlock is taken back (the CPU stalled before it was due). */
  held = new Uint8Array(8);
  /** Entries in use (the arrays keep their size). */
  size = 0;
  /** The csd that does work, and its entry delay, once the batch ends. */
  next: Csd | null = null;
  nextCallNs = 0;

  add(csd: Csd, at: number): void {
    const i = this.size++;
    if (i === this.dueAt.length) {
      const dueAt = new Float64Array(2 * i);
      dueAt.set(this.dueAt);
      this.dueAt = dueAt;
      const held = new Uint8Array(2 * i);
      held.set(this.held);
      this.held = held;
    }
    this.csds[i] = csd;
    this.dueAt[i] = at;
    this.held[i] = 0;
  }

  clear(): void {
    for (let i = 0; i < this.size; i++) this.csds[i] = NO_CSD;
    this.size = 0;
  }

  /** The CPU stalled at `now`: unlocks not yet due are taken back. */
  takeBack(now: number): void {
    for (let i = 0; i < this.size; i++)
      if (this.dueAt[i]! > now && this.held[i] === 0) {
        this.held[i] = 1;
        this.csds[i]!.unack();
      }
  }

  /** The CPU continues after a stall of `shift` ns: what was taken back comes due that late. */
  giveBack(shift: number): void {
    for (let i = 0; i < this.size; i++)
      if (this.held[i] === 1) {
        this.held[i] = 0;
        this.dueAt[i]! += shift;
        this.csds[i]!.ack(this.dueAt[i]!);
      }
  }
}

/** What a cleared batch slot holds, so that it keeps no finished call alive. */
const NO_CSD: Csd = Object.freeze({
  func: function* none(): Kfn<void> {},
  name: "none",
  ack: () => {},
  unack: () => {},
});

/** What the CPU is executing, as the scheduling-clock tick sees it (RCU counts a tick from user
 * mode or idle as a quiescent state). */
export type CpuMode = "user" | "kernel" | "idle";

export interface CpuStats {
  /** Interrupts taken, by vector (the /proc/interrupts CAL/RES/LOC rows). */
  readonly irqs: Record<Vector, number>;
  /** Total time spent with IF = 0, ns (handlers included). */
  irqOffNs: number;
  /** Longest IF = 0 stretch, ns. */
  maxIrqOffNs: number;
}

export class Cpu {
  readonly id: number;
  readonly machine: Machine;
  /** The task context, if any (running or suspended by an interrupt or the host). */
  task: Process<unknown> | null = null;
  /** The csdBatch shortcut's batch in progress (hw/machine.ts). */
  readonly csdBatch = new CsdBatch();
  /** preempt_count's preemption-disable depth (rcu_read_lock_sched readers use it). */
  preemptCount = 0;
  /** Mode of the task context; a CPU without a task is idle. Tasks set it (a workload returning
   * to user space sets "user"; kernel paths run in "kernel", the default). */
  taskMode: CpuMode = "kernel";
  /** Context switches on this CPU (a task ending and the next one starting counts). */
  contextSwitches = 0;
  readonly stats: CpuStats = {
    irqs: { CALL_FUNCTION: 0, CALL_FUNCTION_SINGLE: 0, RESCHEDULE: 0, LOCAL_TIMER: 0 },
    irqOffNs: 0,
    maxIrqOffNs: 0,
  };
  private ifFlag = true;
  private irqDepth = 0;
  private irqProc: Process<unknown> | null = null;
  /** Contexts held while an asynchronous interrupt runs; continued when it returns. */
  private heldByIrq: Process<unknown>[] = [];
  /** The task process this CPU holds suspended because it is stalled (descheduled by the host,
   * or a kernel thread runs): the one to let go when the stall ends — or when the task leaves
   * the CPU first (it blocked or was switched out in the very step that stalled the CPU, e.g. a
   * PAUSE-loop exit that yielded the vCPU), so that a task elsewhere is never left suspended. */
  private heldByStall: Process<unknown> | null = null;
  /** Interrupt request register: vectors raised and not yet taken, in arrival order. */
  private readonly pending: Vector[] = [];
  /** Arrow ids of IPIs waiting to be handled, by vector (so the trace links send to handler). */
  private readonly pendingFlows = new Map<Vector, number[]>();
  private readonly waitingTasks: { name: string; gen: Kfn<unknown> }[] = [];
  private irqOffSpan: OpenSpan | null = null;
  private irqOffSince = 0;
  private preempted = false;
  private stallSpan: OpenSpan | null = null;
  private stalledAt = 0;
  /** The kernel thread holding the CPU, if any: the CPU time it needs, what it has had, and
   * since when it runs (null while the host has the vCPU descheduled). */
  private kthread: {
    needNs: number;
    ranNs: number;
    since: number | null;
    /** Bumped to cancel a pending end-of-run check (it is rescheduled after a deschedule). */
    timer: number;
    span: OpenSpan | null;
  } | null = null;
  /** CPU time kernel threads ran here (runKthread), ns. */
  kthreadNs = 0;
  /** Notified each time the host runs this vCPU again, which `hostResumes` counts: what a
   * flush that waits in the hypervisor for a descheduled vCPU to take an interrupt (a Xen
   * shim's IPI, arch/x86/backends.ts) spins on. */
  readonly resumed = new Signal("vcpu resumed");
  hostResumes = 0;
  /** Time the host has held this vCPU descheduled while runnable ("host-preempted"), ns: what
   * the guest's paravirt steal clock reads (KVM's steal-time record, the host's run_delay;
   * Xen's runstate area, RUNSTATE_runnable). A halted vCPU and a VM exit are not steal. */
  private stealNs = 0;
  private stealSince = -1;
  /** This CPU's TLB and paging-structure caches (filled only when a page walker runs). */
  readonly tlb: TranslationCaches;

  constructor(machine: Machine, id: number) {
    this.machine = machine;
    this.id = id;
    this.tlb = new TranslationCaches(id, machine.tlbParams, machine.sim.rng, machine.sim);
  }

  /** RFLAGS.IF. */
  get irqsEnabled(): boolean {
    return this.ifFlag;
  }

  /** Cross-calls queued for this CPU and not yet taken by its handler (kernel/smp.c
   * `call_single_queue`; the machine keeps them, hw/call-queue.ts), in order. */
  get callSingleQueue(): readonly Csd[] {
    return this.machine.callQueue.queued(this.id);
  }

  /** The csds the running call-function handler took off its queue at once (`llist_del_all`)
   * and has not run yet, in order. */
  get csdsTaken(): readonly Csd[] {
    return this.machine.callQueue.taken(this.id);
  }

  /** True inside a hard interrupt handler (in_irq()). */
  get inIrq(): boolean {
    return this.irqDepth > 0;
  }

  /** paravirt_steal_clock(cpu): steal time so far, ns (0 on bare metal). */
  stealClock(): number {
    return this.stealSince < 0
      ? this.stealNs
      : this.stealNs + this.machine.sim.now - this.stealSince;
  }

  /** True while the host has this vCPU descheduled. */
  get hostPreempted(): boolean {
    return this.preempted;
  }

  /** The task makes no progress: the host has the vCPU, or a kernel thread runs on it. */
  get stalled(): boolean {
    return this.preempted || this.kthread !== null;
  }

  /** Vectors raised and not yet taken. */
  get pendingVectors(): readonly Vector[] {
    return this.pending;
  }

  /** What an interrupt arriving now would find the CPU doing. */
  get mode(): CpuMode {
    return this.task === null ? "idle" : this.taskMode;
  }

  /** Nothing runs and no interrupt is pending or in progress: the idle loop. */
  get idle(): boolean {
    return this.task === null && this.irqProc === null && this.waitingTasks.length === 0;
  }

  /**
   * Starts a task on this CPU, or queues it behind the current one (first come, first served).
   * The scheduler proper arrives with the workloads; this is enough for scripted scenarios.
   */
  run<R>(name: string, gen: Kfn<R>): void {
    if (this.task !== null) {
      this.waitingTasks.push({ name, gen: gen });
      return;
    }
    this.startTask(name, gen);
  }

  private startTask(name: string, gen: Kfn<unknown>): void {
    const p = this.machine.sim.process(`cpu${this.id}/${name}`, gen);
    this.task = p;
    this.taskMode = "kernel";
    if (this.irqProc !== null) {
      p.suspend();
      this.heldByIrq.push(p);
    }
    if (this.stalled) {
      p.suspend();
      this.heldByStall = p;
    }
    this.machine.notifyCpuBusy(this);
    if (this.preempted) this.machine.hypervisor?.kick(this);
    p.exited.then(() => {
      if (this.task === p) this.task = null;
      if (p.error !== undefined) this.releaseDeadTask();
      // Leaving a task is a context switch (to the next task or to idle): RCU's quiescent state.
      this.contextSwitches++;
      this.machine.notifyContextSwitch(this);
      const next = this.waitingTasks.shift();
      if (next) this.startTask(next.name, next.gen);
      else this.haltIfIdle();
    });
  }

  /**
   * A task that died of an exception (an oops) with interrupts or preemption off leaves the CPU
   * as do_exit and the switch to the next task would: preempt_count back to zero and IF set again
   * (finish_task_switch re-enables interrupts), and whatever interrupt waited for IF — a
   * cross-call's IPI — is taken now instead of never.
   */
  private releaseDeadTask(): void {
    this.preemptCount = 0;
    if (this.ifFlag || this.irqDepth > 0) return;
    this.setIF(true);
    if (this.deliverable() && this.pending.length > 0 && this.irqProc === null)
      this.takeAsyncInterrupt();
  }

  /**
   * Makes `p` the task context (a scheduler's context switch). A task switched in while an
   * interrupt handler runs, while a kernel thread holds the CPU, or while the vCPU is descheduled
   * by its host, waits until that ends — also when `p` is the process making the switch (a
   * wake-up runs in the wakee's context): it then stops at its next yield.
   */
  setTask(p: Process<unknown> | null): void {
    if (this.heldByStall !== null && this.heldByStall !== p) {
      this.heldByStall.unsuspend();
      this.heldByStall = null;
    }
    this.task = p;
    if (p === null || p.finished) {
      this.haltIfIdle();
      return;
    }
    if (this.irqProc !== null) {
      p.suspend();
      this.heldByIrq.push(p);
    }
    if (this.stalled && this.heldByStall !== p) {
      p.suspend();
      this.heldByStall = p;
    }
    this.machine.notifyCpuBusy(this);
    // a task placed on a halted vCPU: the wake-up's reschedule IPI gets the vCPU run again
    if (this.preempted) this.machine.hypervisor?.kick(this);
  }

  /**
   * Under a host scheduler, a vCPU left with nothing to run enters the idle loop, whose HLT
   * exits to the host and gives the physical CPU back (default_idle). Checked after the events
   * of this instant: a scheduler that switches tasks clears the CPU and fills it in one go.
   */
  private haltIfIdle(): void {
    if (this.machine.hypervisor === null) return;
    this.machine.sim.schedule(0, () => {
      const hv = this.machine.hypervisor;
      if (hv !== null && this.idle && !this.stalled) hv.halt(this);
    });
  }

  /** Sets IF; only the irqflags functions and the interrupt path call this. */
  setIF(on: boolean): void {
    if (on === this.ifFlag) return;
    const sim = this.machine.sim;
    this.ifFlag = on;
    if (!on) {
      this.irqOffSince = sim.now;
      this.irqOffSpan = sim.trace.begin(this.id, "mmulab:irqs_off", undefined, "irq");
    } else {
      const d = sim.now - this.irqOffSince;
      this.stats.irqOffNs += d;
      if (d > this.stats.maxIrqOffNs) this.stats.maxIrqOffNs = d;
      if (this.irqOffSpan) sim.trace.end(this.irqOffSpan);
      this.irqOffSpan = null;
    }
  }

  /** An interrupt can be taken right now. */
  private deliverable(): boolean {
    return this.ifFlag && this.irqDepth === 0 && !this.stalled;
  }

  /** The local APIC raises `vector` (called at delivery time by the APIC model). */
  raise(vector: Vector, flowId?: number): void {
    if (!this.pending.includes(vector)) this.pending.push(vector);
    if (flowId !== undefined) {
      const l = this.pendingFlows.get(vector);
      if (l) l.push(flowId);
      else this.pendingFlows.set(vector, [flowId]);
    }
    if (this.preempted) this.machine.hypervisor?.kick(this);
    if (this.deliverable() && this.irqProc === null) this.takeAsyncInterrupt();
  }

  /** Interrupts the task (if any) and runs the handlers in their own context. */
  private takeAsyncInterrupt(): void {
    if (this.task !== null && !this.task.finished) {
      this.task.suspend();
      this.heldByIrq.push(this.task);
    }
    this.irqProc = this.machine.sim.process(`cpu${this.id}/irq`, this.handlePending(true));
  }

  /** The asynchronous interrupt context ends (also when a handler threw: the interrupted
   * contexts must not stay held for ever). */
  private endAsyncIrq(): void {
    this.irqProc = null;
    const held = this.heldByIrq;
    this.heldByIrq = [];
    for (const p of held) p.unsuspend();
    if (this.task === null) this.haltIfIdle();
  }

  /**
   * Takes every pending interrupt, one after another, as the CPU does when IF goes to 1 with
   * requests waiting. Called from `local_irq_enable`/`restore` inline (the handler runs on the
   * enabling context's stack, as on x86) and, with `async`, as the body of the interrupt
   * context that suspended the task (docs/benchmarks.md, "Performance devices").
   */
  *handlePending(async = false): Kfn<void> {
    if (this.pending.length === 0) {
      if (async) this.endAsyncIrq();
      return;
    }
    if (!this.ifFlag) {
      if (async) this.endAsyncIrq();
      throw new KernelStateError("handlePending", `cpu${this.id} has IRQs off`);
    }
    const sim = this.machine.sim;
    const costs = this.machine.costs;
    this.setIF(false);
    this.irqDepth++;
    try {
      while (this.pending.length > 0) {
        const v = this.pending.shift()!;
        const flows = this.pendingFlows.get(v) ?? [];
        this.pendingFlows.delete(v);
        this.stats.irqs[v]++;
        const span = sim.trace.begin(this.id, "mmulab:ipi_handler", { vector: v });
        for (const f of flows) sim.trace.flowEnd(this.id, "ipi:ipi_send_cpumask", f);
        yield this.machine.jitter(costs.irqEntryNs);
        yield* this.machine.vectorHandler(v)(this);
        yield this.machine.jitter(costs.irqExitNs);
        sim.trace.end(span);
      }
    } finally {
      this.irqDepth--;
      this.setIF(true);
      if (async) this.endAsyncIrq();
    }
  }

  /** What runs on the CPU stops where it is (the CPU became stalled). A csd batch's unlocks
   * not yet due are taken back: they come due again when the CPU continues. */
  private stopContexts(): void {
    const now = this.machine.sim.now;
    this.stalledAt = now;
    this.csdBatch.takeBack(now);
    if (this.irqProc !== null) this.irqProc.suspend();
    if (this.task !== null && !this.task.finished && this.heldByStall !== this.task) {
      this.task.suspend();
      this.heldByStall = this.task;
    }
  }

  /** What was stopped goes on; interrupts that arrived meanwhile are taken if IF allows. */
  private continueContexts(): void {
    const shift = this.machine.sim.now - this.stalledAt;
    this.csdBatch.giveBack(shift);
    const held = this.heldByStall;
    this.heldByStall = null;
    if (held !== null && !held.finished) held.unsuspend();
    if (this.irqProc !== null) this.irqProc.unsuspend();
    else if (this.deliverable() && this.pending.length > 0) this.takeAsyncInterrupt();
  }

  /**
   * The CPU stops executing guest/kernel code whatever its IF says: the host deschedules this
   * vCPU, or a VM exit, SMI or NMI holds it. The task and any handler stop where they are, and
   * so does a kernel thread running in the task's place (its CPU time stops counting).
   */
  hostPreempt(reason = "preempted"): void {
    if (this.preempted)
      throw new KernelStateError("hostPreempt", `cpu${this.id} is already stalled`);
    const wasStalled = this.stalled;
    this.preempted = true;
    const k = this.kthread;
    if (k !== null && k.since !== null) {
      k.ranNs += this.machine.sim.now - k.since;
      k.since = null;
    }
    if (!wasStalled) this.stopContexts();
    if (reason === "host-preempted") this.stealSince = this.machine.sim.now;
    this.stallSpan = this.machine.sim.trace.begin(this.id, "mmulab:cpu_stalled", { reason });
  }

  /** The host runs this vCPU again; interrupts that arrived meanwhile are taken if IF allows. A
   * kernel thread interrupted by the deschedule gets the rest of its time first. */
  hostResume(): void {
    if (!this.preempted)
      throw new KernelStateError("hostResume", `vcpu${this.id} is not preempted`);
    this.preempted = false;
    if (this.stealSince >= 0) {
      this.stealNs += this.machine.sim.now - this.stealSince;
      this.stealSince = -1;
    }
    if (this.stallSpan) this.machine.sim.trace.end(this.stallSpan);
    this.stallSpan = null;
    this.machine.notifyCpuBusy(this);
    const k = this.kthread;
    if (k !== null) {
      k.since = this.machine.sim.now;
      const timer = ++k.timer;
      this.machine.sim.schedule(k.needNs - k.ranNs, () => this.kthreadCheck(timer));
    } else this.continueContexts();
    this.hostResumes++;
    this.resumed.notify();
  }

  /**
   * A kernel thread (a kworker woken on this CPU) runs for `ns` of this CPU's time, starting now:
   * the task waits, and — the model's simplification of a few µs — so do interrupts. Back-to-back
   * wake-ups queue their time behind the running one. The CPU time is guest time: while the host
   * has the vCPU descheduled it does not advance.
   */
  runKthread(ns: number, name = "kworker"): void {
    const sim = this.machine.sim;
    // two events, as Machine.stallFor schedules them: the thread's start and its end of run
    sim.schedule(0, () => this.kthreadEnter(ns, name));
    sim.schedule(ns, () => this.kthreadCheck(0));
  }

  private kthreadEnter(ns: number, name: string): void {
    const now = this.machine.sim.now;
    if (this.kthread !== null) {
      this.kthread.needNs += ns;
      return;
    }
    const wasStalled = this.stalled;
    this.kthread = {
      needNs: ns,
      ranNs: 0,
      since: this.preempted ? null : now,
      timer: 0,
      span: this.machine.sim.trace.begin(this.id, "mmulab:cpu_stalled", { reason: name }),
    };
    if (!wasStalled) this.stopContexts();
  }

  /** End of a kernel thread's run, if it has had its CPU time; else a new check when it will. */
  private kthreadCheck(timer: number): void {
    const k = this.kthread;
    if (k === null || timer !== k.timer) return;
    const sim = this.machine.sim;
    if (k.since !== null) {
      k.ranNs += sim.now - k.since;
      k.since = sim.now;
    }
    if (k.ranNs < k.needNs) {
      // descheduled meanwhile (hostResume rescheduled the check) or time queued behind it
      if (k.since !== null) {
        const next = ++k.timer;
        sim.schedule(k.needNs - k.ranNs, () => this.kthreadCheck(next));
      }
      return;
    }
    this.kthreadNs += k.needNs;
    this.kthread = null;
    if (k.span) sim.trace.end(k.span);
    if (!this.preempted) this.continueContexts();
  }
}
