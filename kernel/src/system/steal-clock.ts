/**
 * Whether a guest kernel has a paravirt steal clock, and so how it accounts steal time
 * (sched/scheduler.ts StealAccounting), by the hypervisor its flush backend implies:
 *
 * - KVM (native and kvm-pv backends in a guest): kvm_guest_init registers the steal-time MSR's
 *   clock and enables `paravirt_steal_enabled` when the host offers KVM_FEATURE_STEAL_TIME
 *   (every KVM host since v3.1);
 * - Xen (xen-pv): xen_time_setup_guest sets `paravirt_steal_enabled` on the runstate area's
 *   RUNSTATE_runnable + RUNSTATE_offline time;
 * - Hyper-V (hyperv): Linux's x86 Hyper-V guest code registers no steal clock (our reading of
 *   arch/x86/kernel/cpu/mshyperv.c), so "none".
 *
 * CONFIG_PARAVIRT_TIME_ACCOUNTING (`paravirt_steal_rq_enabled`: the runtime without steal) is
 * "default n" in arch/x86/Kconfig, and what the distribution kernels of the experiments set is
 * not known here: so "tick", with "rq" a stated alternative. On bare metal the steal clock reads
 * 0 and every setting gives the same run.
 */
import type { StealAccounting } from "../sched/scheduler.js";

export function guestStealAccounting(backend: string): StealAccounting {
  return backend === "hyperv" ? "none" : "tick";
}
