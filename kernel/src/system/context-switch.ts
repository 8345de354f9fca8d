/**
 * What the scheduler's context switch does to the MMU (kernel/sched/core.c context_switch): a
 * task with an address space is switched to with switch_mm_irqs_off; a kernel thread, an exited
 * task's leftover or the idle task borrows the previous mm in lazy TLB mode (enter_lazy_tlb),
 * which is what decides whether a CPU still receives that mm's flush IPIs.
 */
import type { X86Mmu } from "../arch/x86/tlb.js";
import type { MmStruct } from "../mm/mm-struct.js";
import type { SchedParams } from "../sched/scheduler.js";

/** The onSwitch hook for a Scheduler whose tasks carry their mm in `Task.data`. */
export function contextSwitchMm(x86: X86Mmu): NonNullable<SchedParams["onSwitch"]> {
  return (cpu, next) => {
    const mm = next?.data as MmStruct | undefined;
    if (mm && !mm.exited) x86.switch_mm(cpu, mm);
    else x86.enter_lazy_tlb(cpu);
  };
}
