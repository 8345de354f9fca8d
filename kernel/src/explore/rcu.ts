/**
 * RCU for exhaustive exploration: grace periods as explorer choices, with the quiescent-state
 * rules of `rcu/readers.ts`.
 *
 * Kernel: the RCU contract the table batch relies on (kernel.md §3.2; v4.14 call_rcu_sched,
 * v4.20+ call_rcu): a callback queued by call_rcu*() runs only after every CPU has passed a
 * quiescent state (QS) after the call, and a CPU passes one only at a point where no reader kind
 * its flavour honours is active there (`blocksQs`): IRQs off, preemption off and — for RCU-sched
 * — any kernel code (a tick from kernel mode is no QS; a context switch or idle is).
 *
 * Why not the timed `Rcu` (rcu/tree.ts): that engine is driven by the scheduling-clock tick, the
 * GP kthread's FQS timer and jiffies, i.e. by time, which exploration abstracts away (with every
 * delay a zero-time scheduling point the tick would fire forever). Here, after every step, each
 * CPU the rules allow to pass a QS is recorded as having passed one (`quiesce`): the earliest
 * point at which a real tick, context switch or FQS scan could report it. A callback whose CPUs
 * have all reported starts as a process, and since its first step is a scheduling point like any
 * other, the explorer runs it at any later point — a grace period may end any time after its
 * QSs, as in the kernel. So every callback timing the timed engine can produce is covered (it
 * can only report later), and none the contract forbids: an IRQ-off walker still holds every
 * grace period that began before its walk ended. Recording eagerly instead of offering "CPU c
 * passes a QS now" as a choice removes choices that change nothing but when a report is noted.
 *
 * Invariant: a callback never starts while a CPU that was inside an honoured reader at its
 * call_rcu has not left it since.
 */
import type { Cpu } from "../hw/cpu.js";
import { local_irq_restore, local_irq_save } from "../hw/irqflags.js";
import type { Machine } from "../hw/machine.js";
import type { RcuOps } from "../mm/kernel.js";
import type { Flavour } from "../rcu/params.js";
import { blocksQs, type ReaderContext } from "../rcu/readers.js";
import type { Kfn } from "../sim/process.js";

interface PendingCallback {
  readonly seq: number;
  readonly cpu: Cpu;
  readonly name: string;
  readonly fn: (cpu: Cpu) => Kfn<void>;
  /** CPUs that have not passed a QS since the call_rcu. */
  readonly needs: Set<number>;
}

export class ExploreRcu implements RcuOps {
  readonly machine: Machine;
  readonly flavour: Flavour;
  private readonly pending: PendingCallback[] = [];
  private seq = 0;
  /** Callbacks whose grace period has ended (started as processes). */
  invoked = 0;

  constructor(machine: Machine, flavour: Flavour) {
    this.machine = machine;
    this.flavour = flavour;
  }

  /** __call_rcu: local_irq_save, one step (the enqueue cost), enqueue, local_irq_restore — the
   * shape of rcu/tree.ts's __call_rcu. Every online CPU owes a QS from here on. */
  *call_rcu(cpu: Cpu, fn: (cpu: Cpu) => Kfn<void>, name: string): Kfn<void> {
    const flags = local_irq_save(cpu);
    yield 0;
    const sim = this.machine.sim;
    const seq = this.seq++;
    this.pending.push({ seq, cpu, name, fn, needs: new Set(this.machine.cpus.map((c) => c.id)) });
    sim.trace.instant(cpu.id, "rcu:rcu_callback", { rcuname: "explore", func: name });
    // the timeline draws the wait for this callback's grace period as a span on the RCU lane
    sim.trace.instant(-1, "rcu:rcu_grace_period", {
      rcuname: "explore",
      gpnum: seq + 1,
      gpevent: "start",
    });
    yield* local_irq_restore(cpu, flags);
  }

  /** The context a QS source would judge on `cpu` right now (readers.ts). */
  private context(cpu: Cpu): ReaderContext {
    return {
      irqsOff: !cpu.irqsEnabled || cpu.inIrq,
      preemptCount: cpu.preemptCount,
      rcuReadLockNesting: 0,
      inKernelCode: cpu.mode === "kernel",
    };
  }

  /** `cpu` could record a QS now that some pending callback still waits for: it is running
   * (a stalled or descheduled vCPU takes no tick) and outside every honoured reader. */
  qsPossible(cpu: Cpu): boolean {
    if (cpu.hostPreempted) return false;
    if (!this.pending.some((p) => p.needs.has(cpu.id))) return false;
    return !blocksQs(this.flavour, this.context(cpu));
  }

  /** Records a QS for every CPU that can pass one now (called after every explored step). */
  quiesce(): void {
    if (this.pending.length === 0) return;
    for (const c of this.machine.cpus) if (this.qsPossible(c)) this.reportQs(c);
  }

  /** rcu_qs + report: `cpu` passes a QS. Callbacks no CPU owes anything any more start, in
   * queue order, as processes (RCU_SOFTIRQ on the queuing CPU in the kernel). */
  reportQs(cpu: Cpu): void {
    const sim = this.machine.sim;
    for (const p of this.pending) p.needs.delete(cpu.id);
    for (let i = 0; i < this.pending.length;) {
      const p = this.pending[i]!;
      if (p.needs.size > 0) {
        i++;
        continue;
      }
      this.pending.splice(i, 1);
      this.invoked++;
      sim.trace.instant(-1, "rcu:rcu_grace_period", {
        rcuname: "explore",
        gpnum: p.seq + 1,
        gpevent: "end",
      });
      sim.process(`rcu/${p.name}#${p.seq}`, p.fn(p.cpu));
    }
  }

  /** Callbacks still waiting, with the CPUs each one waits for (for the state hash). */
  digest(): string {
    return this.pending
      .map(
        (p) => `${p.seq}:${p.name}@${p.cpu.id}:[${[...p.needs].sort((a, b) => a - b).join(",")}]`,
      )
      .join(" ");
  }
}
