/**
 * x86 TLB flushing (arch/x86/mm/tlb.c v4.14; lazy-CPU rules of v4.20+ as a switch).
 *
 * flush_tlb_mm_range flushes the local TLB if this CPU has the mm loaded, then the other CPUs in
 * mm_cpumask through `flush_tlb_others` — a paravirt hook. Natively it is
 * native_flush_tlb_others: smp_call_function_many(…, wait=1), so the caller spins until every
 * target has taken the IPI, which a target with IRQs off (a gup_fast walk) delays. A paravirt
 * backend (Xen PV, Hyper-V, KVM PV for preempted vCPUs) or AMD INVLPGB completes without the
 * target taking an interrupt: that is the hole the seed patch closes. Backends implement
 * `FlushBackend`; this module provides the native one.
 *
 * Up to tlb_single_page_flush_ceiling = 33 pages are flushed one INVLPG at a time ("each single
 * flush is about 100 ns, so this caps the maximum overhead at about 3,000 ns"), more with one
 * full flush.
 */
import type { Cpu } from "../../hw/cpu.js";
import {
  local_irq_disable,
  local_irq_enable,
  preempt_disable,
  preempt_enable,
} from "../../hw/irqflags.js";
import { smp_call_function_many } from "../../hw/smp.js";
import type { Kfn } from "../../sim/process.js";
import type { Kernel } from "../../mm/kernel.js";
import type { MmStruct } from "../../mm/mm-struct.js";
import type { MmuGather } from "../../mm/mmu-gather.js";
import { PAGE_SIZE, TLB_FLUSH_ALL } from "../../mm/pgtable.js";

/** Reasons of the tlb:tlb_flush tracepoint (include/linux/mm_types.h enum tlb_flush_reason). */
export const TlbFlushReason = {
  TLB_FLUSH_ON_TASK_SWITCH: 0,
  TLB_REMOTE_SHOOTDOWN: 1,
  TLB_LOCAL_SHOOTDOWN: 2,
  TLB_LOCAL_MM_SHOOTDOWN: 3,
  TLB_REMOTE_SEND_IPI: 4,
} as const;

/** struct flush_tlb_info. */
export interface FlushTlbInfo {
  readonly mm: MmStruct;
  readonly start: number;
  readonly end: number;
  readonly new_tlb_gen: number;
  /** v4.20+ */
  readonly freed_tables: boolean;
}

/** pv_mmu_ops.flush_tlb_others and pv_mmu_ops.tlb_remove_table, per backend. */
export interface FlushBackend {
  /** "native", "xen-pv", "hyperv", "kvm-pv", "invlpgb". */
  readonly name: string;
  /** Flush `info` on the CPUs of `cpumask` other than `cpu`. */
  flush_tlb_others(
    x86: X86Mmu,
    cpu: Cpu,
    cpumask: readonly number[],
    info: FlushTlbInfo,
  ): Kfn<void>;
  /** v4.19–v6.14 pv_mmu_ops.tlb_remove_table: true if this backend frees page tables through
   * tlb_remove_table (paravirt flush), false for tlb_remove_page (native). */
  readonly paravirtRemoveTable: boolean;
}

/** x86 behaviour that differs between kernel versions. */
export interface X86Behaviour {
  /** What ___pte_free_tlb … ___p4d_free_tlb call: "tlb_remove_page" (≤ v4.13),
   * "tlb_remove_table" (v4.14–v4.18, v6.15+), "paravirt" (v4.19–v6.14: the backend decides). */
  readonly tableFreeVia: "tlb_remove_page" | "tlb_remove_table" | "paravirt";
  /** v4.20+: lazy CPUs get the flush IPI only when page tables were freed. */
  readonly skipLazyUnlessFreedTables: boolean;
}

/** cpu_tlbstate. */
export interface CpuTlbState {
  /** null means init_mm (kernel threads, idle after leave_mm). */
  loaded_mm: MmStruct | null;
  is_lazy: boolean;
}

export interface X86TlbStats {
  /** NR_TLB_REMOTE_FLUSH: flush_tlb_others calls. */
  remoteFlushes: number;
  /** NR_TLB_REMOTE_FLUSH_RECEIVED. */
  remoteFlushesReceived: number;
  /** NR_TLB_LOCAL_FLUSH_ONE (pages) and _ALL. */
  localFlushOne: number;
  localFlushAll: number;
  /** Time callers spent in flush_tlb_others, ns (IPI wait or hypercall). */
  flushOthersNs: number;
}

export class X86Mmu {
  readonly k: Kernel;
  backend: FlushBackend;
  readonly behaviour: X86Behaviour;
  readonly tlbstate: CpuTlbState[];
  /** debugfs x86/tlb_single_page_flush_ceiling, pages. */
  tlb_single_page_flush_ceiling = 33;
  readonly stats: X86TlbStats = {
    remoteFlushes: 0,
    remoteFlushesReceived: 0,
    localFlushOne: 0,
    localFlushAll: 0,
    flushOthersNs: 0,
  };

  constructor(k: Kernel, backend: FlushBackend, behaviour: X86Behaviour) {
    this.k = k;
    this.backend = backend;
    this.behaviour = behaviour;
    this.tlbstate = k.machine.cpus.map(() => ({ loaded_mm: null, is_lazy: false }));
  }

  state(cpu: Cpu): CpuTlbState {
    return this.tlbstate[cpu.id]!;
  }

  /** switch_mm_irqs_off: leave the previous mm's cpumask, join the next one's. */
  switch_mm(cpu: Cpu, next: MmStruct | null): void {
    const st = this.state(cpu);
    const prev = st.loaded_mm;
    if (prev !== null && prev !== next) prev.cpumask.delete(cpu.id);
    st.loaded_mm = next;
    st.is_lazy = false;
    if (next !== null) next.cpumask.add(cpu.id);
    if (this.k.sim.trace.enabled)
      this.k.sim.trace.instant(cpu.id, "tlb:tlb_flush", {
        reason: TlbFlushReason.TLB_FLUSH_ON_TASK_SWITCH,
        pages: -1,
      });
  }

  /** enter_lazy_tlb: a kernel thread or idle keeps the old mm loaded; the CPU stays in its
   * cpumask (and so still receives its flushes) until it leaves. */
  enter_lazy_tlb(cpu: Cpu): void {
    const st = this.state(cpu);
    if (st.loaded_mm !== null) st.is_lazy = true;
  }
}

/** Charges and counts a local flush of `info` (__flush_tlb_single per page, or local_flush_tlb). */
function* flush_local(x86: X86Mmu, cpu: Cpu, info: FlushTlbInfo, reason: number): Kfn<void> {
  const costs = x86.k.machine.costs;
  let pages: number;
  let ns: number;
  if (info.end !== TLB_FLUSH_ALL) {
    pages = Math.max(1, Math.round((info.end - info.start) / PAGE_SIZE));
    ns = pages * costs.invlpgNs;
    x86.stats.localFlushOne += pages;
  } else {
    pages = -1;
    ns = costs.fullFlushNs;
    x86.stats.localFlushAll++;
  }
  if (x86.k.sim.trace.enabled) x86.k.sim.trace.instant(cpu.id, "tlb:tlb_flush", { reason, pages });
  yield x86.k.machine.jitter(ns);
}

/**
 * flush_tlb_func_common (v4.14, without the tlb_gen bookkeeping): a lazy CPU switches to
 * init_mm instead of flushing (and so leaves the cpumask); a CPU that has switched away does
 * nothing.
 */
function* flush_tlb_func_common(
  x86: X86Mmu,
  cpu: Cpu,
  info: FlushTlbInfo,
  reason: number,
): Kfn<void> {
  const st = x86.state(cpu);
  if (st.loaded_mm !== info.mm) return;
  if (st.is_lazy) {
    x86.switch_mm(cpu, null);
    return;
  }
  yield* flush_local(x86, cpu, info, reason);
}

/** flush_tlb_func_remote: the IPI handler's work on a target. */
function* flush_tlb_func_remote_on(x86: X86Mmu, cpu: Cpu, info: FlushTlbInfo): Kfn<void> {
  x86.stats.remoteFlushesReceived++;
  yield* flush_tlb_func_common(x86, cpu, info, TlbFlushReason.TLB_REMOTE_SHOOTDOWN);
}

/** The cross-call function of one flush, named flush_tlb_func_remote in the csd trace. An arrow
 * to a module-level generator: a generator closure per flush costs V8 a new map each time. */
export function flush_tlb_func_remote(x86: X86Mmu, info: FlushTlbInfo): (cpu: Cpu) => Kfn<void> {
  const flush_tlb_func_remote = (cpu: Cpu): Kfn<void> => flush_tlb_func_remote_on(x86, cpu, info);
  return flush_tlb_func_remote;
}

/** The CPUs a native flush IPIs: v4.20+ leaves out lazy CPUs unless tables were freed. */
export function native_flush_targets(
  x86: X86Mmu,
  cpu: Cpu,
  cpumask: readonly number[],
  info: FlushTlbInfo,
): number[] {
  return cpumask.filter((c) => {
    if (c === cpu.id) return false;
    if (x86.behaviour.skipLazyUnlessFreedTables && !info.freed_tables && x86.tlbstate[c]!.is_lazy)
      return false;
    return true;
  });
}

/** native_flush_tlb_others (v4.14): IPI every target and wait for all of them. */
export function* native_flush_tlb_others(
  x86: X86Mmu,
  cpu: Cpu,
  cpumask: readonly number[],
  info: FlushTlbInfo,
): Kfn<void> {
  const targets = native_flush_targets(x86, cpu, cpumask, info);
  if (targets.length === 0) return;
  x86.k.sim.trace.instant(cpu.id, "tlb:tlb_flush", {
    reason: TlbFlushReason.TLB_REMOTE_SEND_IPI,
    pages: targets.length,
  });
  yield* smp_call_function_many(cpu, targets, flush_tlb_func_remote(x86, info), true);
}

export const nativeBackend: FlushBackend = Object.freeze({
  name: "native",
  paravirtRemoveTable: false,
  flush_tlb_others: native_flush_tlb_others,
});

/**
 * flush_tlb_mm_range (v4.14): bump the mm's tlb_gen, choose per-page or full, flush locally
 * with IRQs off if the mm is loaded here, then the other CPUs in mm_cpumask.
 */
export function* flush_tlb_mm_range(
  x86: X86Mmu,
  cpu: Cpu,
  mm: MmStruct,
  start: number,
  end: number,
  freed_tables: boolean,
): Kfn<void> {
  const sim = x86.k.sim;
  preempt_disable(cpu);
  const new_tlb_gen = ++mm.tlb_gen;
  const ranged =
    end !== TLB_FLUSH_ALL && (end - start) / PAGE_SIZE <= x86.tlb_single_page_flush_ceiling;
  const info: FlushTlbInfo = ranged
    ? { mm, start, end, new_tlb_gen, freed_tables }
    : { mm, start: 0, end: TLB_FLUSH_ALL, new_tlb_gen, freed_tables };
  if (x86.state(cpu).loaded_mm === mm) {
    local_irq_disable(cpu);
    yield* flush_local(x86, cpu, info, TlbFlushReason.TLB_LOCAL_MM_SHOOTDOWN);
    yield* local_irq_enable(cpu);
  }
  const others = [...mm.cpumask].filter((c) => c !== cpu.id).sort((a, b) => a - b);
  if (others.length > 0) {
    x86.stats.remoteFlushes++;
    const span = sim.trace.begin(
      cpu.id,
      "mmulab:flush_tlb_others",
      sim.trace.enabled ? { backend: x86.backend.name, targets: others.join(",") } : undefined,
    );
    const t0 = sim.now;
    yield* x86.backend.flush_tlb_others(x86, cpu, others, info);
    x86.stats.flushOthersNs += sim.now - t0;
    sim.trace.end(span);
  }
  preempt_enable(cpu);
}

/** x86 tlb_flush(tlb) (arch/x86/include/asm/tlb.h). */
export function* x86_tlb_flush(x86: X86Mmu, cpu: Cpu, tlb: MmuGather): Kfn<void> {
  if (!tlb.fullmm && !tlb.need_flush_all)
    yield* flush_tlb_mm_range(x86, cpu, tlb.mm, tlb.start, tlb.end, tlb.freed_tables);
  else yield* flush_tlb_mm_range(x86, cpu, tlb.mm, 0, TLB_FLUSH_ALL, tlb.freed_tables);
}
