/**
 * A machine: N CPUs, their local APICs, and the cost model they share. Construction only builds
 * the parts; nothing is scheduled until a caller starts work (gem5's rule: first events in
 * start(), never in a constructor).
 */
import {
  checkBool,
  checkInt,
  checkOptions,
  KernelStateError,
  ParameterError,
} from "../sim/errors.js";
import type { Kfn } from "../sim/process.js";
import { Priority, type Simulation } from "../sim/simulation.js";
import { CallQueue } from "./call-queue.js";
import { resolveCosts, type CostModel } from "./costs.js";
import { Cpu, type CsdCatchUp, type Vector } from "./cpu.js";
import { resolveTlbParams, type TlbParams } from "./tlb-cache.js";

/** Largest machine the model accepts (x86 NR_CPUS upper range is far higher; this keeps mistakes
 * like passing a byte count from allocating millions of CPUs). */
export const MAX_CPUS = 1024;

export interface MachineParams {
  /** Number of CPUs, 1 … MAX_CPUS. */
  readonly nrCpus: number;
  /** Cost overrides; defaults from costs.md (see hw/costs.ts). */
  readonly costs?: Partial<CostModel>;
  /** Sizes and replacement of each CPU's TLB and paging-structure caches (hw/tlb-cache.ts). */
  readonly tlb?: Partial<TlbParams>;
  /** A modelling shortcut, off by default: a CPU draining its call_single_queue runs the
   * queued calls that return at once (a TLB flush this CPU has already caught up with) in one
   * step, each unlocked at the time it would have been. See {@link flushCallSingleQueue}. */
  readonly csdBatch?: boolean;
}

export type VectorHandler = (cpu: Cpu) => Kfn<void>;

/**
 * What a guest's vCPUs tell the host that runs them (hw/host.ts): the idle loop's HLT, an
 * interrupt raised on a vCPU that is not running (kvm_vcpu_kick), the start and end of a PAUSE
 * loop in kernel mode (what pause-loop exiting detects), and the guest's PV sched-yield
 * hypercall. Absent on bare metal and while no host scheduler runs the vCPUs.
 */
export interface Hypervisor {
  /** default_idle → HLT: the vCPU has nothing to run. */
  halt(cpu: Cpu): void;
  /** An interrupt was raised on `cpu` while the host does not run it. */
  kick(cpu: Cpu): void;
  /** `cpu` starts (true) or stops (false) spinning with PAUSE in kernel mode (csd_lock_wait). */
  spinLoop(cpu: Cpu, spinning: boolean): void;
  /** The guest's call-function IPI send hook (kvm_smp_send_call_func_ipi), or null when the
   * guest does not use PV sched yield. Runs after the IPIs are sent, on the sender. */
  readonly sendCallFuncIpi: ((cpu: Cpu, targets: readonly number[]) => Kfn<void>) | null;
}

/** scheduler_ipi(): the interesting part (need_resched) belongs to the scheduler model. */
function* scheduler_ipi(): Kfn<void> {}

export class Machine {
  readonly sim: Simulation;
  readonly cpus: readonly Cpu[];
  readonly costs: CostModel;
  readonly tlbParams: TlbParams;
  /** MachineParams.csdBatch. */
  readonly csdBatch: boolean;
  /** Every CPU's call_single_queue (hw/call-queue.ts). */
  readonly callQueue: CallQueue;
  private readonly handlers = new Map<Vector, VectorHandler>();
  /** IPIs sent, counted per target (what `ipi:ipi_send_cpumask` would show). */
  ipisSent = 0;
  /** The host scheduling this machine's vCPUs, while one does (hw/host.ts); null on bare metal. */
  hypervisor: Hypervisor | null = null;
  private readonly contextSwitchListeners: ((cpu: Cpu) => void)[] = [];
  private readonly busyListeners: ((cpu: Cpu) => void)[] = [];
  /** One-per-machine devices of other layers (the scheduler tick), by key. Kept on the machine,
   * not in a module-level WeakMap (docs/benchmarks.md, "Performance devices"). */
  private readonly singletons = new Map<symbol, unknown>();

  constructor(sim: Simulation, params: MachineParams) {
    checkOptions("params", params ?? null, ["nrCpus", "costs", "tlb", "csdBatch"], "Machine");
    checkInt("nrCpus", params.nrCpus, 1, MAX_CPUS, "Machine");
    this.sim = sim;
    this.costs = resolveCosts(params.costs);
    this.tlbParams = resolveTlbParams(params.tlb, "Machine");
    checkBool("csdBatch", params.csdBatch, false, "Machine");
    this.csdBatch = params.csdBatch ?? false;
    this.callQueue = new CallQueue(params.nrCpus);
    const cpus: Cpu[] = [];
    for (let i = 0; i < params.nrCpus; i++) cpus.push(new Cpu(this, i));
    this.cpus = cpus;
    this.handlers.set("CALL_FUNCTION", flushCallSingleQueue);
    this.handlers.set("CALL_FUNCTION_SINGLE", flushCallSingleQueue);
    this.handlers.set("RESCHEDULE", scheduler_ipi);
  }

  /** The machine's device under `key`, made by `create` on first use. */
  singleton<T>(key: symbol, create: () => T): T {
    if (this.singletons.has(key)) return this.singletons.get(key) as T;
    const made = create();
    this.singletons.set(key, made);
    return made;
  }

  get nrCpus(): number {
    return this.cpus.length;
  }

  /** The CPU with this id; a typed error for anything else. */
  cpu(id: number): Cpu {
    checkInt("cpu", id, 0, this.cpus.length - 1, "Machine.cpu (CPU id)");
    return this.cpus[id]!;
  }

  /** Ids of all online CPUs (every CPU: hotplug is not modelled). */
  onlineMask(): number[] {
    return this.cpus.map((c) => c.id);
  }

  /** Calls `fn` on every context switch (rcu_note_context_switch hooks in here). */
  onContextSwitch(fn: (cpu: Cpu) => void): void {
    this.contextSwitchListeners.push(fn);
  }

  notifyContextSwitch(cpu: Cpu): void {
    for (const fn of this.contextSwitchListeners) fn(cpu);
  }

  /** Calls `fn` whenever a CPU may have started executing again: a task started or switched in,
   * or the host entered the vCPU (the hardware page walker wakes up on it). */
  onCpuBusy(fn: (cpu: Cpu) => void): void {
    this.busyListeners.push(fn);
  }

  notifyCpuBusy(cpu: Cpu): void {
    for (let i = 0; i < this.busyListeners.length; i++) this.busyListeners[i]!(cpu);
  }

  /** Installs the handler for a vector (the RCU model takes LOCAL_TIMER, for instance). */
  setVectorHandler(vector: Vector, handler: VectorHandler): void {
    this.handlers.set(vector, handler);
  }

  vectorHandler(vector: Vector): VectorHandler {
    const h = this.handlers.get(vector);
    if (!h) throw new KernelStateError("do_IRQ", `no handler installed for vector ${vector}`);
    return h;
  }

  /**
   * An involuntary stall of `durationNs` starting `atNs` from now: a VM exit handled by the host,
   * an SMI or a long NMI. The CPU makes no progress and takes no interrupt meanwhile, IF or not.
   * (A host *descheduling* a vCPU is Host.preempt, which KVM's steal-time area also records.)
   */
  stallFor(cpu: Cpu, atNs: number, durationNs: number, reason = "vm-exit"): void {
    checkInt("atNs", atNs, 0, Number.MAX_SAFE_INTEGER, "Machine.stallFor");
    checkInt("durationNs", durationNs, 1, Number.MAX_SAFE_INTEGER, "Machine.stallFor");
    this.sim.schedule(atNs, () => cpu.hostPreempt(reason));
    this.sim.schedule(atNs + durationNs, () => cpu.hostResume());
  }

  /** A latency with the model's jitter applied, drawn from the simulation's random source. */
  jitter(ns: number): number {
    return this.sim.rng.jitter(ns, this.costs.jitter);
  }

  /**
   * The local APIC sends `vector` to each target (arch_send_call_function_ipi_mask). Each target
   * sees the request after the delivery latency; sending costs the sender time, charged by the
   * caller (see smp.ts), not here.
   */
  sendIpi(from: Cpu, targets: readonly number[], vector: Vector): void {
    for (const t of targets) {
      if (t === from.id)
        throw new ParameterError(
          "targets",
          t,
          "CPU ids other than the sender's",
          "Machine.sendIpi",
        );
      const target = this.cpu(t);
      this.ipisSent++;
      const flow = this.sim.trace.flowStart(from.id, "ipi:ipi_send_cpumask", { target: t, vector });
      this.sim.schedule(
        this.jitter(this.costs.ipiDeliveryNs),
        () => target.raise(vector, flow),
        Priority.URGENT,
        0,
        `ipi ${vector} cpu${from.id}->cpu${t}`,
      );
    }
  }
}

/**
 * Takes off the handler's list the csds that return at once, running each ahead: draws its
 * entry delay, unlocks it at the time it would have been, and adds its time to the batch; stops
 * at the first csd that does work (left in `batch.next`) or the end of the list. Returns the
 * batch's time, ns.
 */
function fillCsdBatch(cpu: Cpu): number {
  const m = cpu.machine;
  const sim = m.sim;
  const queue = m.callQueue;
  const id = cpu.id;
  const batch = cpu.csdBatch;
  const now = sim.now;
  const callNsMean = m.costs.csdCallNs;
  const tracing = sim.trace.enabled;
  let ahead = 0;
  // a run of catch-up calls of one kind: asked once how far this CPU is caught up
  let kind: CsdCatchUp | null = null;
  let through = -Infinity;
  let ran = 0;
  for (let csd = queue.next(id); csd !== undefined; csd = queue.next(id)) {
    const callNs = m.jitter(callNsMean);
    const catchUp = csd.func.catchUp;
    let early: boolean;
    if (catchUp !== undefined) {
      if (kind === null || catchUp.key !== kind.key) {
        if (kind !== null && ran > 0) kind.ranAtOnce(cpu, ran);
        kind = catchUp;
        through = catchUp.through(cpu);
        ran = 0;
      }
      early = catchUp.gen <= through;
      if (early) ran++;
    } else {
      const returnsAtOnce = csd.func.returnsAtOnce;
      early = returnsAtOnce !== undefined && returnsAtOnce(cpu);
    }
    if (!early) {
      if (kind !== null && ran > 0) kind.ranAtOnce(cpu, ran);
      batch.next = csd;
      batch.nextCallNs = callNs;
      return ahead;
    }
    if (tracing)
      sim.trace.complete(id, "csd:csd_function_entry", now + ahead, callNs, {
        func: csd.name,
      });
    ahead += callNs;
    batch.add(csd, now + ahead);
    csd.ack(now + ahead);
  }
  if (kind !== null && ran > 0) kind.ranAtOnce(cpu, ran);
  return ahead;
}

/**
 * generic_smp_call_function_single_interrupt → flush_smp_call_function_queue (kernel/smp.c,
 * v4.14 … v6.x `__flush_smp_call_function_queue`): the handler (entered after the APIC is acked,
 * `sysvec_call_function*`) takes the whole call_single_queue at once (`llist_del_all`) and runs
 * what it took, in the order it was queued. A synchronous csd is unlocked after its function
 * returns, so the waiting sender sees completion only once the work is done. A csd queued while
 * the handler works finds the queue empty and sends an IPI of its own; the local APIC holds one
 * request per vector however many arrive (Cpu.raise), taken when this handler returns. (From
 * v5.8 the handler runs the synchronous csds before the others; every cross-call of the model
 * waits, so the order is the queue's in every version.)
 *
 * With the machine's csdBatch shortcut, calls that return at once (`CsdFunc.returnsAtOnce`:
 * a flush request this CPU has already caught up with) do not each take an event: their entry
 * delays are drawn and added up, each csd is unlocked at the time it would have been (its
 * sender waits exactly as long), and the handler spends their time in one step, before the
 * next call that does work. Nothing else on this CPU moves meanwhile (its IRQs are off); a
 * stall in the middle takes back the unlocks not yet due (Cpu.stopContexts). The random draws
 * come in another order than call by call, so results differ within their noise.
 */
function* flushCallSingleQueue(cpu: Cpu): Kfn<void> {
  const m = cpu.machine;
  const sim = m.sim;
  const queue = m.callQueue;
  const id = cpu.id;
  queue.takeAll(id);
  const tracing = sim.trace.enabled;
  if (!m.csdBatch) {
    for (let csd = queue.next(id); csd !== undefined; csd = queue.next(id)) {
      const span = sim.trace.begin(
        id,
        "csd:csd_function_entry",
        tracing ? { func: csd.name } : undefined,
      );
      yield m.jitter(m.costs.csdCallNs);
      // a call that returns at once is run as such (docs/benchmarks.md, "Performance devices")
      const early = csd.func.returnsAtOnce;
      if (early === undefined || !early(cpu)) yield* csd.func(cpu);
      sim.trace.end(span);
      csd.ack(sim.now);
    }
    return;
  }
  const batch = cpu.csdBatch;
  for (;;) {
    const ahead = fillCsdBatch(cpu);
    if (ahead > 0) yield ahead;
    batch.clear();
    const csd = batch.next;
    if (csd === null) return;
    batch.next = null;
    const span = sim.trace.begin(
      id,
      "csd:csd_function_entry",
      tracing ? { func: csd.name } : undefined,
    );
    yield batch.nextCallNs;
    yield* csd.func(cpu);
    sim.trace.end(span);
    csd.ack(sim.now);
  }
}
