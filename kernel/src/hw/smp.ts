/**
 * Cross-calls (kernel/smp.c, v4.14): smp_call_function_many, smp_call_function and
 * smp_call_function_single; and v5.13+'s on_each_cpu_cond_mask (smp_call_function_many_cond with
 * SCF_RUN_LOCAL: the caller runs the function itself between sending and waiting).
 *
 * The sender queues a csd on each target's call_single_queue, sends the IPI (only to targets
 * whose queue was empty: a non-empty queue already has an IPI on its way), and with `wait`
 * spins in csd_lock_wait until every target has run the function. A target with IRQs off holds
 * the sender for as long as it keeps them off: the property native TLB shootdown — and
 * therefore gup_fast's safety on bare-metal x86 — rests on (reference/kernel.md §2.4).
 *
 * The kernel WARNs when a waiting cross-call is made with IRQs disabled, because two CPUs doing
 * that to each other deadlock; the model refuses it with a KernelStateError.
 */
import { checkInt, KernelStateError } from "../sim/errors.js";
import { spin, type Kfn } from "../sim/process.js";
import type { Signal } from "../sim/event.js";
import type { Simulation } from "../sim/simulation.js";
import type { Csd, CsdFunc, Cpu, Vector } from "./cpu.js";
import { local_irq_restore, local_irq_save } from "./irqflags.js";

export type SmpFunc = CsdFunc;

export interface CrossCallResult {
  /** CPUs the function was sent to. */
  readonly targets: readonly number[];
  /** Time the sender spent in csd_lock_wait, ns (0 without wait). */
  readonly waitedNs: number;
}

function funcName(func: SmpFunc): string {
  return func.name || "anonymous";
}

/** One call's csd, queued on every target, and what csd_lock_wait spins on: the targets whose
 * csd is still locked, and the latest time an unlock is due (an unlock given ahead by a csd
 * batch, hw/machine.ts). */
class CallCsd implements Csd {
  readonly func: SmpFunc;
  readonly name: string;
  outstanding: number;
  private lastAt = 0;
  readonly signal: Signal;
  private readonly sim: Simulation;

  constructor(sim: Simulation, func: SmpFunc, signal: Signal, targets: number) {
    this.sim = sim;
    this.func = func;
    this.name = funcName(func);
    this.signal = signal;
    this.outstanding = targets;
  }

  /** The sender is told once the last target has unlocked: at the latest unlock's time (kept
   * short, docs/benchmarks.md "Performance devices"). */
  ack(at: number): void {
    if (at > this.lastAt) this.lastAt = at;
    if (--this.outstanding === 0) this.unlocked();
  }

  private unlocked(): void {
    const now = this.sim.now;
    const last = this.lastAt;
    if (last <= now) this.signal.notify();
    else this.sim.schedule(last - now, () => this.signal.notify());
  }

  unack(): void {
    this.outstanding++;
  }

  /** Every target has run the function. */
  get complete(): boolean {
    return this.outstanding === 0 && this.sim.now >= this.lastAt;
  }
}

/** The csd_lock_wait signal's name for each CPU id, made once (a sender waits once per call). */
const csdLockWaitNames: string[] = [];
function csdLockWaitName(id: number): string {
  return (csdLockWaitNames[id] ??= `csd_lock_wait cpu${id}`);
}

/** Queues a csd for `func` on each target; returns the targets whose queue was empty (they
 * need an IPI: a non-empty queue has one on its way) and what csd_lock_wait waits on. */
function queueCsds(
  cpu: Cpu,
  targets: readonly number[],
  func: SmpFunc,
): { needIpi: number[]; wait: CallCsd } {
  const m = cpu.machine;
  const signal = m.sim.signal(csdLockWaitName(cpu.id));
  const wait = new CallCsd(m.sim, func, signal, targets.length);
  const needIpi: number[] = [];
  m.callQueue.enqueue(wait, targets, needIpi);
  return { needIpi, wait };
}

function checkCaller(cpu: Cpu, mask: readonly number[], wait: boolean, op: string): void {
  if (!cpu.irqsEnabled && wait)
    throw new KernelStateError(
      op,
      `called on cpu${cpu.id} with IRQs disabled and wait=1 (the kernel WARNs: it can deadlock)`,
    );
  const nr = cpu.machine.nrCpus;
  for (const id of mask)
    if (!(Number.isInteger(id) && id >= 0 && id < nr))
      checkInt("mask[]", id, 0, nr - 1, `${op} (CPU id)`);
}

/** The CPUs of `mask` other than `self` for which `cond` holds, in ascending order, each once
 * (for_each_cpu over a cpumask). */
function maskTargets(
  mask: readonly number[],
  self: number,
  cond: ((cpu: number) => boolean) | null,
): number[] {
  let ascending = true;
  for (let i = 1; i < mask.length && ascending; i++) ascending = mask[i - 1]! < mask[i]!;
  const ids = ascending ? mask : [...new Set(mask)].sort((a, b) => a - b);
  // sized once, cut to length (docs/benchmarks.md, "Performance devices")
  const targets = new Array<number>(ids.length);
  let n = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id !== self && (cond === null || cond(id))) targets[n++] = id;
  }
  targets.length = n;
  return targets;
}

/** csd_lock_wait on every target. */
function* csdLockWait(
  cpu: Cpu,
  targets: readonly number[],
  func: SmpFunc,
  wait: CallCsd,
): Kfn<number> {
  const sim = cpu.machine.sim;
  const span = sim.trace.begin(
    cpu.id,
    "mmulab:csd_lock_wait",
    sim.trace.enabled ? { targets: targets.join(","), func: funcName(func) } : undefined,
  );
  const t0 = sim.now;
  // a PAUSE loop in kernel mode: what pause-loop exiting watches for under a host
  const hv = cpu.machine.hypervisor;
  hv?.spinLoop(cpu, true);
  try {
    yield spin(wait.signal, () => wait.complete);
  } finally {
    hv?.spinLoop(cpu, false);
  }
  sim.trace.end(span);
  return sim.now - t0;
}

export function* smp_call_function_many(
  cpu: Cpu,
  mask: readonly number[],
  func: SmpFunc,
  wait: boolean,
): Kfn<CrossCallResult> {
  const m = cpu.machine;
  checkCaller(cpu, mask, wait, "smp_call_function_many");
  const targets = maskTargets(mask, cpu.id, null);
  if (targets.length === 0) return { targets, waitedNs: 0 };
  const { needIpi, wait: csdWait } = queueCsds(cpu, targets, func);
  yield m.jitter(m.costs.ipiSendNs + (targets.length - 1) * m.costs.ipiPerExtraTargetNs);
  const vector: Vector = targets.length === 1 ? "CALL_FUNCTION_SINGLE" : "CALL_FUNCTION";
  m.sendIpi(cpu, needIpi, vector);
  // smp_ops.send_call_func_ipi: a KVM guest's hook may yield to a preempted target (v5.3+)
  const pvSend = m.hypervisor?.sendCallFuncIpi ?? null;
  if (pvSend !== null && vector === "CALL_FUNCTION") yield* pvSend(cpu, needIpi);
  if (!wait) return { targets, waitedNs: 0 };
  const waitedNs = yield* csdLockWait(cpu, targets, func, csdWait);
  return { targets, waitedNs };
}

/**
 * on_each_cpu_cond_mask (v5.13+ smp_call_function_many_cond with SCF_RUN_LOCAL; `cond` null is
 * on_each_cpu_mask): queue the function on every other CPU of `mask` for which `cond` holds,
 * send the IPIs — CALL_FUNCTION_SINGLE when exactly one CPU needs one — then, if this CPU is in
 * the mask (and `cond` holds for it, asked after the sending as the kernel does), run the
 * function here with IRQs off, and with `wait` spin until every target has run it.
 */
export function* on_each_cpu_cond_mask(
  cpu: Cpu,
  mask: readonly number[],
  func: SmpFunc,
  wait: boolean,
  cond: ((cpu: number) => boolean) | null,
): Kfn<CrossCallResult> {
  const m = cpu.machine;
  checkCaller(cpu, mask, wait, "smp_call_function_many_cond");
  const targets = maskTargets(mask, cpu.id, cond);
  // run_local: this CPU is in the mask, read before anything is sent, as the kernel does
  const runLocal = mask.includes(cpu.id);
  const q = targets.length > 0 ? queueCsds(cpu, targets, func) : null;
  if (q !== null) {
    yield m.jitter(m.costs.ipiSendNs + (targets.length - 1) * m.costs.ipiPerExtraTargetNs);
    const vector: Vector = q.needIpi.length === 1 ? "CALL_FUNCTION_SINGLE" : "CALL_FUNCTION";
    m.sendIpi(cpu, q.needIpi, vector);
    const pvSend = m.hypervisor?.sendCallFuncIpi ?? null;
    if (pvSend !== null && vector === "CALL_FUNCTION") yield* pvSend(cpu, q.needIpi);
  }
  if (runLocal && (cond === null || cond(cpu.id))) {
    const flags = local_irq_save(cpu);
    yield* func(cpu);
    yield* local_irq_restore(cpu, flags);
  }
  if (q === null || !wait) return { targets, waitedNs: 0 };
  const waitedNs = yield* csdLockWait(cpu, targets, func, q.wait);
  return { targets, waitedNs };
}

/** All online CPUs but the caller. */
export function* smp_call_function(cpu: Cpu, func: SmpFunc, wait: boolean): Kfn<CrossCallResult> {
  return yield* smp_call_function_many(cpu, cpu.machine.onlineMask(), func, wait);
}

export function* smp_call_function_single(
  cpu: Cpu,
  target: number,
  func: SmpFunc,
  wait: boolean,
): Kfn<CrossCallResult> {
  checkInt("target", target, 0, cpu.machine.nrCpus - 1, "smp_call_function_single (CPU id)");
  if (target === cpu.id) {
    // The kernel runs the function locally with IRQs off.
    const was = cpu.irqsEnabled;
    cpu.setIF(false);
    yield* func(cpu);
    if (was) cpu.setIF(true);
    return { targets: [], waitedNs: 0 };
  }
  return yield* smp_call_function_many(cpu, [target], func, wait);
}
