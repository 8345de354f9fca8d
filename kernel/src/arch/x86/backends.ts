/**
 * Paravirtual and broadcast remote-flush backends (pv_mmu_ops.flush_tlb_others, later
 * pv_ops.mmu.flush_tlb_multi). None of them needs the target CPUs to take an interrupt, which is
 * why each of them depends on RCU table freeing to keep gup_fast safe (the comment 9e52fc2b50de
 * added to arch/x86/include/asm/tlb.h: "…issuing a hypercall. To keep software pagetable walkers
 * safe in this case we switch to RCU based table free").
 */
import type { Cpu } from "../../hw/cpu.js";
import { KVM_VCPU_FLUSH_TLB, KVM_VCPU_PREEMPTED, type Host } from "../../hw/host.js";
import { local_irq_restore, local_irq_save } from "../../hw/irqflags.js";
import { spin, type Kfn } from "../../sim/process.js";
import { PAGE_SIZE, TLB_FLUSH_ALL } from "../../mm/pgtable.js";
import { kern_pcid } from "./asid.js";
import { XenPvMmu, type XenPvShim } from "./xen-mmu.js";
import {
  finish_asid_transition,
  mm_global_asid,
  native_flush_tlb_others,
  nativeBackend,
  type FlushBackend,
  type FlushTlbInfo,
  type X86Mmu,
} from "./tlb.js";

/** Marks the targets' TLBs flushed by the hypervisor (what flush_tlb_func would have done), and
 * with the hardware model on applies the flush to their caches — a lazy target stays lazy. */
function hypervisorFlushed(
  x86: X86Mmu,
  cpu: Cpu,
  targets: readonly number[],
  op: string,
  info: FlushTlbInfo,
): void {
  x86.stats.remoteFlushesReceived += targets.length;
  const hw = x86.hw;
  if (hw !== null)
    for (const t of targets) hw.hypervisorFlush(x86.k.machine.cpus[t]!, info.start, info.end, op);
  if (x86.k.sim.trace.enabled)
    x86.k.sim.trace.instant(cpu.id, "mmulab:hypervisor_flush", { op, targets: targets.join(",") });
}

/** A remote-flush hypercall: the exit, the hypervisor's own work, and `extraNs` (rep entries). */
function* remoteFlushHypercall(x86: X86Mmu, cpu: Cpu, op: string, extraNs: number): Kfn<void> {
  const m = x86.k.machine;
  const span = x86.k.sim.trace.begin(cpu.id, "mmulab:hypercall", { op });
  yield m.jitter(m.costs.hypercallNs + m.costs.pvFlushHostNs + extraNs);
  x86.k.sim.trace.end(span);
}

/**
 * What sits under a Xen PV guest and carries out its MMUEXT flush:
 *   "xen"            Xen on bare metal: flush_area_mask IPIs physical CPUs, which take the IPI
 *                    in Xen whatever the guest's event mask says; a descheduled vCPU has no
 *                    dirty pCPU and is skipped (xen/arch/x86/mm.c vcpumask_to_pcpumask).
 *   "shim-ipi"       the guest in a PV shim (Xen as an L1 guest in an HVM/PVH domain, one shim
 *                    pCPU per guest vCPU, each an L0 vCPU): the shim's flush_area_mask sends
 *                    x2APIC IPIs to its pCPUs and spins until every one of them has taken the
 *                    interrupt — so it waits for each target that L0 has descheduled to run
 *                    again. Every shim before Xen 4.14, and later ones with FLUSH_NO_ASSIST.
 *   "shim-assisted"  the same shim from Xen 4.14 (e9aca9470e "x86/tlb: use Xen L0 assisted TLB
 *                    flush when available", Roger Pau Monné, 2020): the remote part goes to L0
 *                    as HVMOP_flush_tlbs, whose HAP handler (c9495bd7df, 17b997aa1e) tickles
 *                    every vCPU's ASID and interrupts only the pCPUs of running ones — a
 *                    descheduled vCPU is flushed by its new ASID when it next runs.
 */
export const XEN_PV_HOSTS = ["xen", "shim-ipi", "shim-assisted"] as const;
export type XenPvHost = (typeof XEN_PV_HOSTS)[number];

/**
 * xen_flush_tlb_others (arch/x86/xen/mmu_pv.c, v4.14): one multicall, MMUEXT_INVLPG_MULTI if
 * the range is at most one page, else MMUEXT_TLB_FLUSH_MULTI. Xen flushes the target vCPUs; their
 * event-channel mask (the guest's virtual IF) plays no part, so the caller never waits for a
 * walker. The call goes out through xen_mc_issue(XEN_LAZY_MMU), which holds it back only inside
 * an arch_enter/leave_lazy_mmu_mode section; mmu_gather flushes (the only remote flushes the
 * model issues) run after that section is left, so they are issued at once
 * (reference/hardware-and-hypervisors.md §4.9). `on` says what carries the flush out.
 */
export function xenPvBackendOn(on: XenPvHost, opts: XenPvShimOptions = {}): FlushBackend {
  if (on === "xen") return xenPvBackend;
  const stats: ShimFlushStats = { flushes: 0, waitedForDescheduled: 0, waitNs: 0 };
  const assisted = on === "shim-assisted";
  const pageTypes = opts.pageTypes ?? true;
  const noAssist = opts.noAssistForPageTables ?? true;
  const shim: XenPvShim = { assisted, stats, flushRemote: shim_flush_area_mask };
  return Object.freeze({
    name: "xen-pv",
    paravirtRemoveTable: true,
    shimStats: stats,
    flush_tlb_others: (x86: X86Mmu, cpu: Cpu, cpumask: readonly number[], info: FlushTlbInfo) =>
      xen_shim_flush_tlb_others(x86, cpu, cpumask, info, assisted, stats),
    ...(pageTypes ? { attachXenPvMmu: (x86: X86Mmu) => new XenPvMmu(x86, shim, noAssist) } : {}),
  });
}

/** Options of a shim backend. */
export interface XenPvShimOptions {
  /** Follow the guest's page-table frames through Xen's type system and TLB clock, with the
   * flushes their type changes cost (xen-mmu.ts). Default true; false: the model before
   * 2026-12, where a shim only carried the guest's MMUEXT flushes. */
  readonly pageTypes?: boolean;
  /** 5b718d24e8 ("x86/tlb: fix assisted flush usage", Xen 4.14-rc5): a frame that was a page
   * table is flushed with FLUSH_NO_ASSIST, by IPI even in an assisted shim. Default true (Xen
   * 4.14 as released); false: e9aca9470e as published, before the fix. */
  readonly noAssistForPageTables?: boolean;
}

/** What a shim's flushes did. */
export interface ShimFlushStats {
  /** Remote flushes the shim carried out: the guest's MMUEXT flushes and Xen's own
   * type-change flushes (xen-mmu.ts). */
  flushes: number;
  /** Of those, flushes that waited for a target L0 had descheduled (IPI shim only). */
  waitedForDescheduled: number;
  /** Time those waits took, ns. */
  waitNs: number;
}

/** The shim statistics of a backend made by {@link xenPvBackendOn}, null for any other. */
export function shimFlushStats(b: FlushBackend): Readonly<ShimFlushStats> | null {
  const s = (b as { shimStats?: ShimFlushStats }).shimStats;
  return s ?? null;
}

export const xenPvBackend: FlushBackend = Object.freeze({
  name: "xen-pv",
  paravirtRemoveTable: true,
  *flush_tlb_others(
    x86: X86Mmu,
    cpu: Cpu,
    cpumask: readonly number[],
    info: FlushTlbInfo,
  ): Kfn<void> {
    const targets = cpumask.filter((c) => c !== cpu.id);
    if (targets.length === 0) return;
    const op = xenMmuextOp(info);
    yield* remoteFlushHypercall(x86, cpu, op, 0);
    hypervisorFlushed(x86, cpu, targets, op, info);
  },
});

function xenMmuextOp(info: FlushTlbInfo): string {
  const one = info.end !== TLB_FLUSH_ALL && info.end - info.start <= PAGE_SIZE;
  return one ? "MMUEXT_INVLPG_MULTI" : "MMUEXT_TLB_FLUSH_MULTI";
}

/**
 * The MMUEXT flush of a PV guest in a shim. The guest's hypercall enters the shim (no L0 exit:
 * the shim runs the PV guest itself); then the shim's flush_area_mask, by IPI or assisted.
 */
function* xen_shim_flush_tlb_others(
  x86: X86Mmu,
  cpu: Cpu,
  cpumask: readonly number[],
  info: FlushTlbInfo,
  assisted: boolean,
  stats: ShimFlushStats,
): Kfn<void> {
  const targets = cpumask.filter((c) => c !== cpu.id);
  if (targets.length === 0) return;
  const op = xenMmuextOp(info);
  // the guest's hypercall into the shim, then the shim's flush_mask
  yield* shim_flush_area_mask(
    x86,
    cpu,
    targets,
    assisted,
    stats,
    x86.k.machine.costs.hypercallNs,
    op,
  );
  hypervisorFlushed(x86, cpu, targets, op, info);
}

/**
 * The remote part of the shim Xen's flush_area_mask (xen/arch/x86/smp.c) on `targets` (not
 * `cpu`), after `entryNs` of getting there. Assisted: hypervisor_flush_tlb → HVMOP_flush_tlbs,
 * one exit to L0, whose HAP flush costs what any hypercall flush does on the host side
 * (pvFlushHostNs) and waits for no descheduled vCPU. By IPI: the ICR write with the ALLBUT
 * shorthand (one exit to L0), then the spin on flush_cpumask until each target pCPU has taken
 * the interrupt: a target L0 has descheduled takes it only when L0 runs it again. A running
 * target's Xen handler runs whatever the guest's event mask, so the guest's IF never matters.
 * With the TLB clock on, each target's flush_area_local records its flush (post_flush).
 */
export function* shim_flush_area_mask(
  x86: X86Mmu,
  cpu: Cpu,
  targets: readonly number[],
  assisted: boolean,
  stats: ShimFlushStats,
  entryNs: number,
  op: string,
): Kfn<void> {
  const m = x86.k.machine;
  stats.flushes++;
  const span = x86.k.sim.trace.begin(cpu.id, "mmulab:hypercall", {
    op,
    via: assisted ? "HVMOP_flush_tlbs" : "shim IPI",
  });
  if (assisted) {
    yield m.jitter(entryNs + m.costs.hypercallNs + m.costs.pvFlushHostNs);
  } else {
    yield m.jitter(entryNs + m.costs.hypercallNs + m.costs.ipiSendNs);
    // flush_area_mask's spin on flush_cpumask: a descheduled target takes the interrupt when L0
    // next runs it (and clears its bit then, whether or not this vCPU is running to see it)
    const t0 = x86.k.sim.now;
    // the IPIs go to every target at once (the ALLBUT shorthand), then the spin waits for all:
    // the descheduled targets are kicked together and their waits overlap
    const descheduled = targets
      .map((c) => m.cpus[c]!)
      .filter((t) => t.hostPreempted)
      .map((t) => ({ t, since: t.hostResumes }));
    // the IPI is an interrupt for the target: a halted (blocked) vCPU is woken by it
    for (const { t } of descheduled) m.hypervisor?.kick(t);
    for (const { t, since } of descheduled) yield spin(t.resumed, () => t.hostResumes > since);
    const waited = descheduled.length > 0;
    if (waited) {
      stats.waitedForDescheduled++;
      stats.waitNs += x86.k.sim.now - t0;
    }
    // the slowest target's delivery, Xen's flush handler, and its acknowledgement
    yield m.jitter(
      m.costs.ipiDeliveryNs + m.costs.irqEntryNs + m.costs.fullFlushNs + m.costs.irqExitNs,
    );
    x86.xenPv?.domain.flushed(targets);
  }
  x86.k.sim.trace.end(span);
}

export interface HypervParams {
  /** HV_X64_EX_PROCESSOR_MASKS_RECOMMENDED: sparse VP sets, no 64-vCPU limit. Default true. */
  readonly exProcessorMasks?: boolean;
  /** Probability that the hypercall returns an error status (falls back to native). Default 0. */
  readonly failureRate?: number;
  /** v6.4+ (Michael Kelley, "x86/hyperv: Exclude lazy TLB mode CPUs from enlightened TLB
   * flushes", 2023): leave CPUs in lazy TLB mode out of the VP set unless the flush freed page
   * tables (`do_lazy = !info->freed_tables` with cpumask_to_vpset_skip). Default false. */
  readonly skipLazy?: boolean;
}

/** The first release whose Hyper-V flush skips lazy CPUs. */
export const HYPERV_SKIP_LAZY_SINCE = [6, 4] as const;

/** HV_TLB_FLUSH_UNIT: one GVA list entry covers up to 4096 pages. */
export const HV_TLB_FLUSH_UNIT = 4096 * PAGE_SIZE;
/** Non-ex max_gvas = (PAGE_SIZE − sizeof(struct hv_flush_pcpu)) / sizeof(u64) = (4096 − 24) / 8. */
export const HV_MAX_GVAS = 509;

/**
 * hyperv_flush_tlb_others / _ex (arch/x86/hyperv/mmu.c, v4.14, 2ffd9e33ce4a): with IRQs off on
 * the caller, HvFlushVirtualAddressSpace for a full flush or more than 509 GVA entries, else
 * HvFlushVirtualAddressList (a rep hypercall); falls back to native_flush_tlb_others when a
 * target VP number is ≥ 64 without the ex masks, or on an error status. Per the TLFS, when the
 * call returns the flushes have happened on the targets — without them running guest code.
 */
export function hypervBackend(params: HypervParams = {}): FlushBackend {
  const ex = params.exProcessorMasks ?? true;
  const failureRate = params.failureRate ?? 0;
  const skipLazy = params.skipLazy ?? false;
  // an arrow to a module-level generator (docs/benchmarks.md, "Performance devices")
  return Object.freeze({
    name: "hyperv",
    paravirtRemoveTable: true,
    flush_tlb_others: (x86: X86Mmu, cpu: Cpu, cpumask: readonly number[], info: FlushTlbInfo) =>
      hyperv_flush_tlb_others(
        x86,
        cpu,
        skipLazy && !info.freed_tables
          ? cpumask.filter((c) => c === cpu.id || !x86.tlbstate[c]!.is_lazy)
          : cpumask,
        info,
        ex,
        failureRate,
      ),
  });
}

/** hyperv_flush_tlb_others with the backend's parameters. */
function* hyperv_flush_tlb_others(
  x86: X86Mmu,
  cpu: Cpu,
  cpumask: readonly number[],
  info: FlushTlbInfo,
  ex: boolean,
  failureRate: number,
): Kfn<void> {
  const targets = cpumask.filter((c) => c !== cpu.id);
  if (targets.length === 0) return;
  if (!ex && targets.some((c) => c >= 64)) {
    yield* native_flush_tlb_others(x86, cpu, cpumask, info);
    return;
  }
  const m = x86.k.machine;
  const flags = local_irq_save(cpu);
  let op: string;
  let reps = 0;
  if (info.end === TLB_FLUSH_ALL) op = "HvFlushVirtualAddressSpace";
  else {
    const gvas = Math.ceil((info.end - info.start) / HV_TLB_FLUSH_UNIT);
    if (gvas > HV_MAX_GVAS) op = "HvFlushVirtualAddressSpace";
    else {
      op = "HvFlushVirtualAddressList";
      reps = gvas;
    }
  }
  yield* remoteFlushHypercall(x86, cpu, op, reps * m.costs.hvFlushRepNs);
  const failed = failureRate > 0 && x86.k.sim.rng.float() < failureRate;
  yield* local_irq_restore(cpu, flags);
  if (failed) {
    yield* native_flush_tlb_others(x86, cpu, cpumask, info);
    return;
  }
  hypervisorFlushed(x86, cpu, targets, op, info);
}

/**
 * kvm_flush_tlb_others (arch/x86/kernel/kvm.c, v4.16, 858a43aae236): a target vCPU whose
 * steal_time says KVM_VCPU_PREEMPTED is dropped from the mask after setting KVM_VCPU_FLUSH_TLB
 * (the host flushes it at its next entry); the running ones get a native IPI and are waited for.
 * So a walker on a preempted vCPU — preempted inside its IRQ-off walk — is not waited for.
 */
export function kvmPvBackend(host: Host): FlushBackend {
  return Object.freeze({
    name: "kvm-pv",
    paravirtRemoveTable: true,
    flush_tlb_others: (x86: X86Mmu, cpu: Cpu, cpumask: readonly number[], info: FlushTlbInfo) =>
      kvm_flush_tlb_others(host, x86, cpu, cpumask, info),
  });
}

/** kvm_flush_tlb_others on `host`'s steal-time records. */
function* kvm_flush_tlb_others(
  host: Host,
  x86: X86Mmu,
  cpu: Cpu,
  cpumask: readonly number[],
  info: FlushTlbInfo,
): Kfn<void> {
  const flushmask: number[] = [];
  for (const c of cpumask) {
    const st = host.stealTime[c]!;
    if (c !== cpu.id && st.preempted & KVM_VCPU_PREEMPTED) {
      st.preempted |= KVM_VCPU_FLUSH_TLB;
      x86.k.sim.trace.instant(cpu.id, "mmulab:kvm_flush_deferred", { vcpu: c });
      continue;
    }
    flushmask.push(c);
  }
  yield* native_flush_tlb_others(x86, cpu, flushmask, info);
}

/** The threshold of consider_global_asid's mm_active_cpus_exceeds(mm, 3): an mm is given a
 * global ASID, and flushed by broadcast from then on, when more than 3 CPUs run it. */
export const INVLPGB_MIN_CPUS = 3;

/**
 * broadcast_tlb_flush (v6.15, f37ff575b1fe) for an mm with a global ASID: INVLPGB of the ASID's
 * PCID over the range (invlpgb_flush_user_nr_nosync, no FINAL_ONLY, so the paging-structure
 * caches go too) or all of it (invlpgb_flush_single_pcid_nosync); finish_asid_transition while
 * some CPU may still run the mm on a dynamic ASID; then TLBSYNC. Every CPU of the machine drops
 * the PCID's entries, this one included, whatever it runs, and none takes an interrupt. PTI's
 * user PCID is left out: a kernel with PTI on disables INVLPGB (pti_check_boottime_disable).
 */
function* broadcast_tlb_flush(x86: X86Mmu, cpu: Cpu, info: FlushTlbInfo): Kfn<void> {
  const m = x86.k.machine;
  const asid = mm_global_asid(x86, info.mm);
  x86.stats.broadcastFlushes++;
  const span = x86.k.sim.trace.begin(cpu.id, "mmulab:invlpgb", { asid });
  yield m.jitter(m.costs.invlpgbNs);
  yield* finish_asid_transition(x86, cpu, info);
  // __tlbsync: the broadcast has reached every CPU once it returns
  yield m.jitter(m.costs.tlbsyncNs);
  x86.hw?.invlpgb(kern_pcid(asid), info.start, info.end);
  x86.k.sim.trace.end(span);
}

/**
 * AMD INVLPGB (v6.15, CONFIG_BROADCAST_TLB_FLUSH). The kernel has no paravirt flush hook for it:
 * flush_tlb_mm_range broadcasts for an mm that has a global ASID and otherwise IPIs as native,
 * then considers giving the mm one (tlb.ts consider_global_asid). `flush_tlb_others` is what a
 * direct caller of the hook gets: the broadcast for an mm with a global ASID, else native IPIs.
 */
export const invlpgbBackend: FlushBackend = Object.freeze({
  name: "invlpgb",
  paravirtRemoveTable: false,
  broadcast_tlb_flush,
  *flush_tlb_others(
    x86: X86Mmu,
    cpu: Cpu,
    cpumask: readonly number[],
    info: FlushTlbInfo,
  ): Kfn<void> {
    if (mm_global_asid(x86, info.mm) !== 0) yield* broadcast_tlb_flush(x86, cpu, info);
    else yield* native_flush_tlb_others(x86, cpu, cpumask, info);
  },
});

export { nativeBackend };
