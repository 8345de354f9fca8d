/**
 * The interrupt-flag API (include/linux/irqflags.h). Disabling never runs anything; enabling
 * takes every interrupt that arrived meanwhile before the caller continues, which is where a
 * held-up TLB-shootdown IPI finally gets its answer.
 */
import { ParameterError } from "../sim/errors.js";
import type { Kfn } from "../sim/process.js";
import type { Cpu } from "./cpu.js";

/** Saved flags: the state of IF before local_irq_save. */
export interface IrqFlags {
  readonly enabled: boolean;
  readonly cpu: number;
}

/** CLI. */
export function local_irq_disable(cpu: Cpu): void {
  cpu.setIF(false);
}

/** STI, then take the pending interrupts. */
export function* local_irq_enable(cpu: Cpu): Kfn<void> {
  cpu.setIF(true);
  if (cpu.pendingVectors.length > 0 && !cpu.inIrq && !cpu.stalled) yield* cpu.handlePending();
}

export function local_irq_save(cpu: Cpu): IrqFlags {
  const flags = { enabled: cpu.irqsEnabled, cpu: cpu.id };
  cpu.setIF(false);
  return flags;
}

export function* local_irq_restore(cpu: Cpu, flags: IrqFlags): Kfn<void> {
  if (flags.cpu !== cpu.id)
    throw new ParameterError(
      "flags.cpu",
      flags.cpu,
      `the saving CPU's id ${cpu.id}`,
      "local_irq_restore",
    );
  if (flags.enabled) yield* local_irq_enable(cpu);
}

/** preempt_disable(): also an RCU-sched read-side critical section (rcu_read_lock_sched). */
export function preempt_disable(cpu: Cpu): void {
  cpu.preemptCount++;
}

export function preempt_enable(cpu: Cpu): void {
  if (cpu.preemptCount === 0)
    throw new ParameterError(
      "preempt_count",
      0,
      "a positive count (unbalanced preempt_enable)",
      `cpu${cpu.id}`,
    );
  cpu.preemptCount--;
}
