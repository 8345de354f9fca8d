/**
 * KVM's host side as data: the steal-time flag bits and the host kernel versions, each with the
 * switches that decide directed yield, PV sched yield and the `preempted` flag (the commits are
 * named on the fields). hw/host-sched.ts reads them.
 */
import { UnknownNameError } from "../sim/errors.js";

/** steal_time.preempted bits (arch/x86/include/uapi/asm/kvm_para.h). */
export const KVM_VCPU_PREEMPTED = 1;
export const KVM_VCPU_FLUSH_TLB = 2;

/**
 * What the host kernel's version decides about the mechanisms above. Each switch names the
 * commit that introduced it.
 */
export interface HostKernelBehaviour {
  readonly name: string;
  readonly title: string;
  /** kvm_vcpu_on_spin(me, yield_to_kernel_mode = true) skips vCPUs preempted in user mode
   * (199b5763d329 "KVM: add spinlock optimization framework", Longpeng, 2017). */
  readonly yieldToKernelMode: boolean;
  /** kvm_vcpu_wake_up sets `ready`, so a vCPU just woken by an interrupt is a directed-yield
   * candidate (d73eb57b80b "KVM: Boost vCPUs that are delivering interrupts", v5.2). */
  readonly boostWokenVcpus: boolean;
  /** A vCPU preempted in user mode with a posted interrupt pending still qualifies
   * (kvm_arch_dy_has_pending_interrupt, 17e433b54393, v5.3; needs APICv). */
  readonly dyPendingInterrupt: boolean;
  /** KVM_HC_SCHED_YIELD is offered to guests (715062970f37, v5.3). */
  readonly pvSchedYield: boolean;
  /** kvm_arch_vcpu_put writes KVM_VCPU_PREEMPTED only when the thread was scheduled out while
   * runnable; before, on every put — also when the vCPU halted (54aa83c90198 "KVM: x86: do not
   * set st->preempted when going back to user space", v5.19). */
  readonly preemptedOnlyIfPreempted: boolean;
  /** …and only if the exit was an external interrupt, at an instruction boundary: a vCPU that
   * yields from a PAUSE exit or a hypercall is not reported (6cd88243c7e0, CVE-2022-39189,
   * v5.19). */
  readonly preemptedAtInstructionBoundary: boolean;
  /** sd->busy_factor: a busy pCPU balances every sd_weight × busy_factor ms (32; 16 since
   * "sched/fair: Reduce busy load balance interval", v5.12 [U hash]). */
  readonly busyFactor: number;
}

/** Host kernels, by the first version with the behaviour (kernel/sched/fair.c is CFS in all). */
export const HOST_KERNELS: Readonly<Record<string, HostKernelBehaviour>> = Object.freeze({
  "v4.15": {
    name: "v4.15",
    title: "v4.15: the host of KVM's PV TLB flush series (directed yield, no PV sched yield)",
    yieldToKernelMode: true,
    boostWokenVcpus: false,
    dyPendingInterrupt: false,
    pvSchedYield: false,
    preemptedOnlyIfPreempted: false,
    preemptedAtInstructionBoundary: false,
    busyFactor: 32,
  },
  "v5.4": {
    name: "v5.4",
    title: "v5.4: woken vCPUs boosted, PV sched yield offered (v5.2–v5.3)",
    yieldToKernelMode: true,
    boostWokenVcpus: true,
    dyPendingInterrupt: true,
    pvSchedYield: true,
    preemptedOnlyIfPreempted: false,
    preemptedAtInstructionBoundary: false,
    busyFactor: 32,
  },
  "v6.1": {
    name: "v6.1",
    title:
      "v6.1: `preempted` reported only for a real preemption at an instruction boundary (v5.19)",
    yieldToKernelMode: true,
    boostWokenVcpus: true,
    dyPendingInterrupt: true,
    pvSchedYield: true,
    preemptedOnlyIfPreempted: true,
    preemptedAtInstructionBoundary: true,
    busyFactor: 16,
  },
});

export const HOST_KERNEL_NAMES = Object.keys(HOST_KERNELS);
export const DEFAULT_HOST_KERNEL = "v4.15";

/** A host kernel's name, checked: a typed error naming the known ones for anything else. */
export function checkHostKernel(name: unknown): string {
  if (typeof name !== "string" || !Object.hasOwn(HOST_KERNELS, name))
    throw new UnknownNameError("host kernel", String(name), HOST_KERNEL_NAMES, "Host");
  return name;
}
