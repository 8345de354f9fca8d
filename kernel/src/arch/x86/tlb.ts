/**
 * x86 TLB flushing (arch/x86/mm/tlb.c): v4.14's flush_tlb_mm_range → flush_tlb_others, with the
 * later versions' differences as switches of `X86Behaviour`:
 *   - v4.14 (b0579ade7cd8) `tlbGen`: each CPU remembers how far its TLB is flushed
 *     (cpu_tlbstate.ctxs[asid].tlb_gen); flush_tlb_func skips a request it is already past and
 *     turns a range flush into a full one when it is more than one generation behind;
 *   - v4.20 (016c4d92cd16, a31acd3ee8f7) lazy CPUs stay in mm_cpumask and are IPI'd only when
 *     page tables were freed (`skipLazyUnlessFreedTables`), and `pageSizeAwareFlush`: the flush
 *     range is counted in strides of the smallest level the gather cleared (tlb_get_unmap_shift);
 *   - v5.13 (4ce94eabac16) `flushMulti`: flush_tlb_multi queues the remote flushes, runs the
 *     local one (flush_tlb_func on the initiating CPU) while they are out, then waits.
 * The v6.1 form of each function is in the Debian 6.1.192 source (linux-source-6.1,
 * arch/x86/mm/tlb.c, kernel/smp.c).
 *
 * flush_tlb_mm_range flushes the local TLB if this CPU has the mm loaded, and the other CPUs in
 * mm_cpumask through a paravirt hook. Natively it is smp_call_function_many(…, wait=1): the
 * caller spins until every target has taken the IPI, which a target with IRQs off (a gup_fast
 * walk) delays. A paravirt backend (Xen PV, Hyper-V, KVM PV for preempted vCPUs) or AMD INVLPGB
 * completes without the target taking an interrupt: that is the hole the seed patch closes.
 * Backends implement `FlushBackend`; this module provides the native one.
 *
 * What the kernel counts is counted here under the kernel's names: irq_tlb_count ("TLB
 * shootdowns" in /proc/interrupts) once per flush_tlb_func run on a CPU other than the
 * initiator, before it looks at anything else; and every trace_tlb_flush() call, by CPU, reason
 * and full or ranged (`flushEvents`).
 *
 * Up to tlb_single_page_flush_ceiling = 33 pages are flushed one INVLPG at a time ("each single
 * flush is about 100 ns, so this caps the maximum overhead at about 3,000 ns"), more with one
 * full flush.
 */
import type { Cpu, CsdCatchUp } from "../../hw/cpu.js";
import {
  local_irq_disable,
  local_irq_enable,
  preempt_disable,
  preempt_enable,
} from "../../hw/irqflags.js";
import { on_each_cpu_cond_mask, smp_call_function_many, type SmpFunc } from "../../hw/smp.js";
import type { Kfn } from "../../sim/process.js";
import type { Kernel } from "../../mm/kernel.js";
import type { MmStruct } from "../../mm/mm-struct.js";
import type { MmuGather } from "../../mm/mmu-gather.js";
import { PAGE_SHIFT, PAGE_SIZE, TLB_FLUSH_ALL } from "../../mm/pgtable.js";
import { ParameterError } from "../../sim/errors.js";
import { Rng } from "../../sim/rng.js";
import {
  GlobalAsidSpace,
  is_dyn_asid,
  is_global_asid,
  kern_pcid,
  TLB_NR_DYN_ASIDS,
} from "./asid.js";
import type { HwPageWalker } from "./page-walker.js";
import type { XenPvMmu } from "./xen-mmu.js";

export { TLB_NR_DYN_ASIDS };

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
  /** v4.20+: log2 of the stride of a range flush (PAGE_SHIFT unless the gather cleared only
   * upper levels). */
  readonly stride_shift: number;
  readonly new_tlb_gen: number;
  /** v4.20+ */
  readonly freed_tables: boolean;
  /** v5.13+: flush_tlb_func on this CPU is the local flush, not a shootdown. */
  readonly initiating_cpu: number;
  /** v6.13+ (lazyCpumask): this flush also IPIs the CPUs that have left the mm but are still in
   * its mm_cpumask, which then clear themselves (should_trim_cpumask, once a second). */
  readonly trim_cpumask?: boolean;
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
  /** v6.15 broadcast_tlb_flush (X86_FEATURE_INVLPGB): flush an mm that has a global ASID on
   * every CPU at once, this one included. Present only on a backend with broadcast
   * invalidation; with it (and PCID) the kernel hands out global ASIDs. */
  broadcast_tlb_flush?(x86: X86Mmu, cpu: Cpu, info: FlushTlbInfo): Kfn<void>;
  /** A Xen PV guest whose page-table hooks the model follows (xen-mmu.ts): makes the guest's
   * PagePinned state and Xen's frame types for `x86`. */
  attachXenPvMmu?(x86: X86Mmu): XenPvMmu;
}

/** x86 behaviour that differs between kernel versions. The optional switches default to the
 * v4.13 form (absent = false). */
export interface X86Behaviour {
  /** What ___pte_free_tlb … ___p4d_free_tlb call: "tlb_remove_page" (≤ v4.13),
   * "tlb_remove_table" (v4.14–v4.18, v6.15+), "paravirt" (v4.19–v6.14: the backend decides). */
  readonly tableFreeVia: "tlb_remove_page" | "tlb_remove_table" | "paravirt";
  /** v4.20+: lazy CPUs get the flush IPI only when page tables were freed. */
  readonly skipLazyUnlessFreedTables: boolean;
  /** v4.14+: per-CPU tlb_gen; a CPU already past a request skips it, one behind by more than a
   * generation flushes everything. */
  readonly tlbGen?: boolean;
  /** v4.20+: the range is measured in strides of the smallest cleared level. */
  readonly pageSizeAwareFlush?: boolean;
  /** v5.13+: flush_tlb_multi (local and remote flushes concurrently). */
  readonly flushMulti?: boolean;
  /** v6.13+ (209954cbc7d0, "x86/mm/tlb: Update mm_cpumask lazily", Rik van Riel): switch_mm
   * no longer takes a CPU out of the previous mm's mm_cpumask; should_flush_tlb leaves such a
   * CPU out of a flush unless the once-a-second trim asks for it (6db2526c1d69), and
   * flush_tlb_func on a CPU that no longer runs the mm clears it from the mask. */
  readonly lazyCpumask?: boolean;
}

/** cpu_tlbstate.ctxs[asid]: which mm an ASID holds and how far its TLB entries are flushed. */
export interface TlbContext {
  /** mm->context.ctx_id (the model's mm id; 0 for init_mm). */
  ctx_id: number;
  tlb_gen: number;
}

/** cpu_tlbstate (and v5.13+ cpu_tlbstate_shared.is_lazy). Without PCID there is one context. */
export interface CpuTlbState {
  /** null means init_mm (kernel threads, idle after leave_mm). */
  loaded_mm: MmStruct | null;
  is_lazy: boolean;
  /** ctxs[loaded_mm_asid].tlb_gen: the loaded mm's generation this TLB is flushed up to. */
  tlb_gen: number;
  /** With PCID: the ASID in use (a dynamic one, or from v6.15 the mm's global ASID), the next
   * dynamic one choose_new_asid hands out, and the TLB_NR_DYN_ASIDS contexts. */
  loaded_mm_asid: number;
  next_asid: number;
  readonly ctxs: TlbContext[];
}

/** tlb:tlb_flush counts by CPU, reason and kind: index (cpu × 5 + reason) × 2 + (full ? 1 : 0).
 * A ranged event is one whose `pages` is not TLB_FLUSH_ALL (including 0). */
export function flushEventIndex(cpu: number, reason: number, full: boolean): number {
  return (cpu * 5 + reason) * 2 + (full ? 1 : 0);
}

export interface X86TlbStats {
  /** NR_TLB_REMOTE_FLUSH: flush_tlb_others / flush_tlb_multi calls, and v6.15's broadcasts. */
  remoteFlushes: number;
  /** NR_TLB_REMOTE_FLUSH_RECEIVED. */
  remoteFlushesReceived: number;
  /** NR_TLB_LOCAL_FLUSH_ONE (pages) and _ALL. */
  localFlushOne: number;
  localFlushAll: number;
  /** Time callers spent in flush_tlb_others, ns (IPI wait or hypercall). */
  flushOthersNs: number;
  /** irq_tlb_count per CPU: flush_tlb_func runs for another CPU's request (v6.1: also when the
   * mm is no longer loaded here; "TLB shootdowns" in /proc/interrupts). */
  readonly irqTlbCount: number[];
  /** trace_tlb_flush() calls: see {@link flushEventIndex}. */
  readonly flushEvents: Int32Array;
  /** flush_tlb_mm_range calls, and those asked with freed_tables. */
  mmRangeFlushes: number;
  mmRangeFlushesFreedTables: number;
  /** v6.15: flushes done by broadcast_tlb_flush, global ASIDs handed out and freed. */
  broadcastFlushes: number;
  globalAsidsAssigned: number;
  globalAsidsFreed: number;
}

export class X86Mmu {
  readonly k: Kernel;
  backend: FlushBackend;
  readonly behaviour: X86Behaviour;
  readonly tlbstate: CpuTlbState[];
  /** debugfs x86/tlb_single_page_flush_ceiling, pages. */
  tlb_single_page_flush_ceiling = 33;
  readonly stats: X86TlbStats;
  /** The CPUs' own page walkers and their TLB and paging-structure caches; null when the
   * hardware model is off (nothing is cached, so no flush needs to touch the caches). */
  hw: HwPageWalker | null = null;
  /** A Xen PV guest's page-table hooks and the Xen below (installX86 sets it when the backend
   * asks for them); null otherwise. */
  xenPv: XenPvMmu | null = null;
  /** CR4.PCIDE (660da7c9228f, v4.14: on with X86_FEATURE_PCID and PGE, not under Xen PV; the
   * Hyper-V guest code clears the feature): set by {@link enable_pcid}. */
  pcide = false;
  /** The global ASID space (v6.15): one per machine, as the kernel's bitmaps are. */
  readonly globalAsids = new GlobalAsidSpace();
  /** current->pid of each task seen by consider_global_asid (see {@link pid_of}). */
  private readonly pids = new WeakMap<object, number>();
  private nextPid = -1;

  constructor(k: Kernel, backend: FlushBackend, behaviour: X86Behaviour) {
    this.k = k;
    this.backend = backend;
    this.behaviour = behaviour;
    const n = k.machine.nrCpus;
    this.tlbstate = k.machine.cpus.map(() => ({
      loaded_mm: null,
      is_lazy: false,
      tlb_gen: 0,
      loaded_mm_asid: 0,
      next_asid: 1,
      ctxs: [],
    }));
    this.stats = {
      remoteFlushes: 0,
      remoteFlushesReceived: 0,
      localFlushOne: 0,
      localFlushAll: 0,
      flushOthersNs: 0,
      irqTlbCount: new Array<number>(n).fill(0),
      flushEvents: new Int32Array(n * 10),
      mmRangeFlushes: 0,
      mmRangeFlushesFreedTables: 0,
      broadcastFlushes: 0,
      globalAsidsAssigned: 0,
      globalAsidsFreed: 0,
    };
  }

  /** cpu_feature_enabled(X86_FEATURE_INVLPGB) with CONFIG_BROADCAST_TLB_FLUSH: a backend with
   * broadcast invalidation and CR4.PCIDE ("nopcid" clears INVLPGB too: disable_invlpgb). */
  get invlpgb(): boolean {
    return this.pcide && this.backend.broadcast_tlb_flush !== undefined;
  }

  /**
   * current->pid of the task on `cpu` (0, the idle task's, if none). The model's tasks have no
   * pids of their own: each task gets one the first time it is asked for, in order, as
   * alloc_pid hands them out, from a first pid drawn from the seed in [RESERVED_PIDS,
   * PID_MAX_DEFAULT) = [300, 32768) — what a process on a running system has [U]. The draw has a
   * stream of its own, so asking leaves every other draw of a seeded run where it was.
   */
  pid_of(cpu: Cpu): number {
    const task = cpu.task;
    if (task === null) return 0;
    let pid = this.pids.get(task);
    if (pid === undefined) {
      if (this.nextPid < 0)
        this.nextPid = new Rng((this.k.sim.seed ^ 0x5bd1e995) >>> 0).int(300, 32767);
      pid = this.nextPid;
      this.nextPid = pid + 1 >= 32768 ? 300 : pid + 1;
      this.pids.set(task, pid);
    }
    return pid;
  }

  /** jiffies as the kernel counts them: from INITIAL_JIFFIES = (unsigned int)(−300 × HZ), so
   * that they wrap five minutes after boot. Only the low bits are used. */
  jiffies32(): number {
    return (this.k.jiffies() - 300 * this.k.hz) >>> 0;
  }

  /** trace_tlb_flush(reason, pages): counted whether or not tracing is on. */
  trace_tlb_flush(cpu: Cpu, reason: number, pages: number): void {
    this.stats.flushEvents[flushEventIndex(cpu.id, reason, pages < 0)]!++;
    if (this.k.sim.trace.enabled)
      this.k.sim.trace.instant(cpu.id, "tlb:tlb_flush", { reason, pages });
  }

  state(cpu: Cpu): CpuTlbState {
    return this.tlbstate[cpu.id]!;
  }

  /**
   * switch_mm_irqs_off: leave the previous mm's cpumask, join the next one's. With `tlbGen`
   * (v6.1's form, no PCID): switching back to the mm a lazy CPU kept flushes only if the mm's
   * tlb_gen moved on meanwhile, a switch between threads of one mm does nothing, and any other
   * switch loads the new CR3 with a flush (choose_new_asid without PCID always asks for one).
   */
  switch_mm(cpu: Cpu, next: MmStruct | null): void {
    const st = this.state(cpu);
    const prev = st.loaded_mm;
    const wasLazy = st.is_lazy;
    st.is_lazy = false;
    if (this.pcide) {
      this.switch_mm_pcid(cpu, st, prev, next, wasLazy);
      return;
    }
    if (this.behaviour.tlbGen) {
      if (prev === next) {
        if (!wasLazy || next === null) return;
        if (st.tlb_gen === next.tlb_gen) return;
      } else {
        // v6.13+: the CPU stays in prev's mask until a flush trims it
        if (prev !== null && !this.behaviour.lazyCpumask) prev.cpumask.delete(cpu.id);
        if (next !== null) next.cpumask.add(cpu.id);
      }
      st.loaded_mm = next;
      st.tlb_gen = next?.tlb_gen ?? 0;
      this.load_cr3(cpu, next);
      return;
    }
    if (prev !== null && prev !== next) prev.cpumask.delete(cpu.id);
    st.loaded_mm = next;
    if (next !== null) next.cpumask.add(cpu.id);
    this.load_cr3(cpu, next);
  }

  /** load_new_mm_cr3 with a flush (no PCID: every CR3 write drops the non-global entries and
   * the paging-structure caches); the CPU's page walker now walks `next`. */
  private load_cr3(cpu: Cpu, next: MmStruct | null): void {
    this.xenPv?.write_cr3(cpu);
    this.trace_tlb_flush(cpu, TlbFlushReason.TLB_FLUSH_ON_TASK_SWITCH, -1);
    if (this.hw === null) return;
    this.hw.cr3Write(cpu, "switch_mm");
    if (next !== null) this.hw.wake(cpu);
  }

  /**
   * enter_lazy_tlb: a kernel thread or idle keeps the old mm loaded; the CPU stays in its
   * cpumask (and so still receives its flushes) until it leaves. v4.14–v4.19 stay lazy only
   * without PCID (tlb_defer_switch_to_init_mm): with it the switch to init_mm is cheap — its
   * TLB entries stay tagged — and is made at once; v4.20 ("Always use lazy TLB mode") stays lazy.
   */
  enter_lazy_tlb(cpu: Cpu): void {
    const st = this.state(cpu);
    if (st.loaded_mm === null) return;
    if (this.pcide && !this.behaviour.skipLazyUnlessFreedTables) this.switch_mm(cpu, null);
    else st.is_lazy = true;
  }

  /** Turns CR4.PCIDE on: v4.14+ (the PCID series missed v4.13), not under Xen PV or Hyper-V. */
  enable_pcid(): void {
    if (!this.behaviour.tlbGen)
      throw new ParameterError(
        "pcid",
        true,
        "false on this profile (PCID support arrived with the tlb_gen rework in v4.14)",
        "X86Mmu",
      );
    if (this.backend.name === "xen-pv" || this.backend.name === "hyperv")
      throw new ParameterError(
        "pcid",
        true,
        `false with the ${this.backend.name} backend (${this.backend.name === "xen-pv" ? "Xen PV guests run without CR4.PCIDE" : "hyperv_setup_mmu_ops clears X86_FEATURE_PCID"})`,
        "X86Mmu",
      );
    this.pcide = true;
  }

  /** The PCID the CPU runs under: kern_pcid(asid) = asid + 1 with PCID, else 0. */
  current_pcid(cpu: Cpu): number {
    return this.pcide ? kern_pcid(this.state(cpu).loaded_mm_asid) : 0;
  }

  /**
   * choose_new_asid (v4.14, 10af6235e0d3): the ASID that already holds `ctx_id`, flushed only if
   * its generation is behind; else the next one round robin (no LRU), flushed.
   */
  private choose_new_asid(
    st: CpuTlbState,
    ctx_id: number,
    tlb_gen: number,
    next: MmStruct | null,
  ): { asid: number; need_flush: boolean } {
    // v6.15: "Global ASIDs are always up to date" — broadcast invalidation keeps them so
    if (this.invlpgb && next !== null && next.global_asid !== 0)
      return { asid: next.global_asid, need_flush: false };
    for (let asid = 0; asid < TLB_NR_DYN_ASIDS; asid++) {
      const c = st.ctxs[asid];
      if (c !== undefined && c.ctx_id === ctx_id) return { asid, need_flush: c.tlb_gen < tlb_gen };
    }
    let asid = st.next_asid++;
    if (asid >= TLB_NR_DYN_ASIDS) {
      asid = 0;
      st.next_asid = 1;
    }
    return { asid, need_flush: true };
  }

  /**
   * switch_mm_irqs_off with PCID: a CPU back from lazy mode on the same mm flushes its ASID only
   * if the generation moved (v4.20); any other switch takes choose_new_asid's ASID and loads CR3
   * with the no-flush bit unless it needs a flush. The old mm's entries stay under their PCID:
   * reused only after the ctx_id and tlb_gen check, so they are never used stale. v6.15: staying
   * on an mm that has been given a global ASID since reloads CR3 with it (no flush), and a CPU
   * on the global ASID has nothing to catch up.
   */
  private switch_mm_pcid(
    cpu: Cpu,
    st: CpuTlbState,
    prev: MmStruct | null,
    next: MmStruct | null,
    wasLazy: boolean,
  ): void {
    const next_tlb_gen = next?.tlb_gen ?? 0;
    if (prev === next) {
      if (next !== null && this.mm_needs_global_asid(next, st.loaded_mm_asid)) {
        // goto reload_tlb with the global ASID, need_flush false
        st.loaded_mm_asid = next.global_asid;
        st.tlb_gen = next_tlb_gen;
        if (this.k.sim.trace.enabled)
          this.k.sim.trace.instant(cpu.id, "x86:global_asid_load", { asid: next.global_asid });
        return;
      }
      // "Broadcast TLB invalidation keeps this ASID up to date all the time"
      if (is_global_asid(st.loaded_mm_asid)) return;
      if (!wasLazy || next === null) return;
      const ctx = st.ctxs[st.loaded_mm_asid]!;
      if (ctx.tlb_gen === next_tlb_gen) return;
      ctx.tlb_gen = st.tlb_gen = next_tlb_gen;
      this.trace_tlb_flush(cpu, TlbFlushReason.TLB_FLUSH_ON_TASK_SWITCH, -1);
      this.hw?.cr3Write(cpu, "switch_mm");
      return;
    }
    if (prev !== null && !this.behaviour.lazyCpumask) prev.cpumask.delete(cpu.id);
    if (next !== null) next.cpumask.add(cpu.id);
    const ctx_id = next?.id ?? 0;
    const { asid, need_flush } = this.choose_new_asid(st, ctx_id, next_tlb_gen, next);
    if (is_dyn_asid(asid)) st.ctxs[asid] = { ctx_id, tlb_gen: next_tlb_gen };
    st.loaded_mm = next;
    st.loaded_mm_asid = asid;
    st.tlb_gen = next_tlb_gen;
    if (need_flush) this.trace_tlb_flush(cpu, TlbFlushReason.TLB_FLUSH_ON_TASK_SWITCH, -1);
    if (this.hw === null) return;
    if (need_flush) this.hw.cr3Write(cpu, "switch_mm");
    if (next !== null) this.hw.wake(cpu);
  }

  /** mm_needs_global_asid (v6.15): the mm has a global ASID and this CPU runs it on another. */
  mm_needs_global_asid(mm: MmStruct, asid: number): boolean {
    return this.invlpgb && mm.global_asid !== 0 && asid !== mm.global_asid;
  }

  /** mm_active_cpus_exceeds (v6.15): CPUs in mm_cpumask that run the mm and are not lazy — with
   * v6.13's lazily updated mask, CPUs that left it may still be in it. */
  mm_active_cpus_exceeds(mm: MmStruct, threshold: number): boolean {
    // "This quick check should eliminate most single threaded programs."
    if (mm.cpumask.size <= threshold) return false;
    let count = 0;
    for (const c of mm.cpumask) {
      const st = this.tlbstate[c]!;
      if (st.loaded_mm !== mm || st.is_lazy) continue;
      if (++count > threshold) return true;
    }
    return false;
  }

  /**
   * use_global_asid (v6.15): give `mm` a global ASID unless it has one or none is left. The
   * first allocation after boot, and every one at wrap-around, flushes every CPU's non-global
   * entries first (invlpgb_flush_all_nonglobals). Sets asid_transition: CPUs still on a dynamic
   * ASID move over at their next switch_mm or flush_tlb_func, and until then
   * finish_asid_transition sends them IPIs. Returns whether an allocation flushed.
   */
  use_global_asid(mm: MmStruct, cpuId = 0): boolean {
    if (mm.global_asid !== 0) return false;
    if (this.globalAsids.available === 0) return false; // "Ran out of global ASIDs"
    const resets = this.globalAsids.resets;
    const asid = this.globalAsids.allocate(() => this.hw?.invlpgbFlushAllNonglobals());
    if (asid === 0) return false;
    // mm_assign_global_asid: asid_transition first, then the ASID (smp_store_release)
    mm.asid_transition = true;
    mm.global_asid = asid;
    this.stats.globalAsidsAssigned++;
    if (this.k.sim.trace.enabled)
      this.k.sim.trace.instant(cpuId, "x86:global_asid_assign", { mm: mm.id, asid });
    return this.globalAsids.resets !== resets;
  }

  /** mm_free_global_asid (destroy_context, v6.15): the ASID is only marked freed; it is reused
   * after the wrap-around flush. */
  mm_free_global_asid(mm: MmStruct): void {
    if (!this.invlpgb || mm.global_asid === 0) return;
    this.globalAsids.free(mm.global_asid);
    this.stats.globalAsidsFreed++;
    mm.global_asid = 0;
  }
}

/**
 * A process that has been through consider_global_asid once and whose CPUs have switched since:
 * the mm gets a global ASID now if the kernel has INVLPGB and more than 3 CPUs run it, and every
 * CPU running it reloads onto that ASID (switch_mm on the same mm). For set-ups that start from
 * an established process (the explorer's INVLPGB cells); a fresh mm starts with none.
 */
export function establish_global_asid(x86: X86Mmu, mm: MmStruct): boolean {
  if (!x86.invlpgb || !x86.mm_active_cpus_exceeds(mm, 3)) return false;
  x86.use_global_asid(mm);
  for (const c of x86.k.machine.cpus) if (x86.state(c).loaded_mm === mm) x86.switch_mm(c, mm);
  return true;
}

/** mm_global_asid: 0 unless the kernel has INVLPGB and has given the mm one. */
export function mm_global_asid(x86: X86Mmu, mm: MmStruct): number {
  return x86.invlpgb ? mm.global_asid : 0;
}

/** mm_in_asid_transition (v6.15). */
function mm_in_asid_transition(x86: X86Mmu, mm: MmStruct): boolean {
  return x86.invlpgb && mm.asid_transition;
}

/**
 * consider_global_asid (f37ff575b1fe, v6.15), after an IPI flush of an mm: "Check every once in
 * a while" — only when the low 5 bits of current->pid match those of jiffies — and give the mm
 * a global ASID if more than 3 CPUs run it non-lazily. Its later flushes then go by broadcast.
 * A reset of the ASID space costs one INVLPGB and TLBSYNC here.
 */
export function* consider_global_asid(x86: X86Mmu, cpu: Cpu, mm: MmStruct): Kfn<void> {
  if (!x86.invlpgb) return;
  if ((x86.pid_of(cpu) & 0x1f) !== (x86.jiffies32() & 0x1f)) return;
  if (!x86.mm_active_cpus_exceeds(mm, 3)) return;
  if (x86.use_global_asid(mm, cpu.id)) {
    const m = x86.k.machine;
    yield m.jitter(m.costs.invlpgbNs + m.costs.tlbsyncNs);
  }
}

/**
 * finish_asid_transition (v6.15), from broadcast_tlb_flush while the mm is in transition: if a
 * CPU running the mm is still on a dynamic ASID the broadcast did not reach its entries, so the
 * whole mask gets flush_tlb_multi (which also moves the stragglers over); once every CPU running
 * it uses the global ASID, the transition ends.
 */
export function* finish_asid_transition(x86: X86Mmu, cpu: Cpu, info: FlushTlbInfo): Kfn<void> {
  const mm = info.mm;
  if (!mm_in_asid_transition(x86, mm)) return;
  const bc_asid = mm.global_asid;
  for (const c of [...mm.cpumask].sort((a, b) => a - b)) {
    const st = x86.tlbstate[c]!;
    if (st.loaded_mm !== mm) continue;
    if (st.loaded_mm_asid !== bc_asid) {
      yield* native_flush_tlb_multi(
        x86,
        cpu,
        [...mm.cpumask].sort((a, b) => a - b),
        info,
      );
      return;
    }
  }
  mm.asid_transition = false;
}

/** Pages a range flush of `info` invalidates: (end − start) >> stride_shift. */
function nrInvalidate(info: FlushTlbInfo): number {
  return Math.floor((info.end - info.start) / 2 ** info.stride_shift);
}

/**
 * The flush itself, v4.13 form (no tlb_gen): __flush_tlb_single per page of a ranged request,
 * local_flush_tlb for a full one; charged, counted and traced.
 */
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
  x86.trace_tlb_flush(cpu, reason, pages);
  invalidateLocal(x86, cpu, info.start, info.end);
  yield x86.k.machine.jitter(ns);
}

/** What the flush does to this CPU's caches: INVLPG per page of a ranged request (each also
 * drops the paging-structure caches), a CR3 reload for a full one. The effect is applied when
 * the flush starts; its time is spent after. */
function invalidateLocal(x86: X86Mmu, cpu: Cpu, start: number, end: number): void {
  const hw = x86.hw;
  if (hw === null) return;
  if (end === TLB_FLUSH_ALL) hw.cr3Write(cpu, "flush_tlb_local");
  else hw.flushRange(cpu, start, end);
}

/**
 * flush_tlb_func (v6.1; v4.14's flush_tlb_func_common has the same generation rule): catch this
 * CPU up to the mm's tlb_gen. A request this CPU is already past is dropped; one that is
 * exactly the next generation and the newest is flushed page by page (a stride apart), anything
 * else with a full flush. Returns without tracing in the early cases, as the kernel does.
 */
function* flush_tlb_func_gen(x86: X86Mmu, cpu: Cpu, info: FlushTlbInfo, local: boolean): Kfn<void> {
  const st = x86.state(cpu);
  const loaded = st.loaded_mm;
  if (loaded === null) return;
  if (x86.pcide) {
    // v6.15: "Reload the ASID if transitioning into or out of a global ASID"
    if (x86.mm_needs_global_asid(loaded, st.loaded_mm_asid)) x86.switch_mm(cpu, loaded);
    // "Broadcast ASIDs are always kept up to date with INVLPGB."
    if (is_global_asid(st.loaded_mm_asid)) return;
  }
  if (st.is_lazy) {
    // "switching to init_mm is barely slower than a minimal flush"
    x86.switch_mm(cpu, null);
    return;
  }
  const reason = local
    ? TlbFlushReason.TLB_LOCAL_MM_SHOOTDOWN
    : TlbFlushReason.TLB_REMOTE_SHOOTDOWN;
  const local_tlb_gen = st.tlb_gen;
  if (info.new_tlb_gen <= local_tlb_gen) return;
  const mm_tlb_gen = loaded.tlb_gen;
  if (local_tlb_gen === mm_tlb_gen) {
    // a concurrent flush already caught this CPU up: "goto done"
    x86.trace_tlb_flush(cpu, reason, 0);
    return;
  }
  const costs = x86.k.machine.costs;
  let ns: number;
  let pages: number;
  if (
    info.end !== TLB_FLUSH_ALL &&
    info.new_tlb_gen === local_tlb_gen + 1 &&
    info.new_tlb_gen === mm_tlb_gen
  ) {
    pages = nrInvalidate(info);
    const invlpgs = Math.ceil((info.end - info.start) / 2 ** info.stride_shift);
    ns = invlpgs * costs.invlpgNs;
    if (local) x86.stats.localFlushOne += pages;
  } else {
    pages = -1;
    ns = costs.fullFlushNs;
    if (local) x86.stats.localFlushAll++;
  }
  st.tlb_gen = mm_tlb_gen;
  if (x86.pcide) st.ctxs[st.loaded_mm_asid]!.tlb_gen = mm_tlb_gen;
  x86.trace_tlb_flush(cpu, reason, pages);
  if (pages === -1) invalidateLocal(x86, cpu, 0, TLB_FLUSH_ALL);
  else invalidateLocal(x86, cpu, info.start, info.end);
  yield x86.k.machine.jitter(ns);
}

/**
 * flush_tlb_func_common (v4.14, local or remote): a lazy CPU switches to init_mm instead of
 * flushing (and so leaves the cpumask); a CPU that has switched away does nothing.
 */
function* flush_tlb_func_common(
  x86: X86Mmu,
  cpu: Cpu,
  info: FlushTlbInfo,
  reason: number,
): Kfn<void> {
  const st = x86.state(cpu);
  if (st.loaded_mm !== info.mm) {
    // v6.13+: "The CPU was left in the mm_cpumask of the target mm. Clear it."
    if (x86.behaviour.lazyCpumask) info.mm.cpumask.delete(cpu.id);
    return;
  }
  if (x86.behaviour.tlbGen) {
    yield* flush_tlb_func_gen(x86, cpu, info, reason !== TlbFlushReason.TLB_REMOTE_SHOOTDOWN);
    return;
  }
  if (st.is_lazy) {
    x86.switch_mm(cpu, null);
    return;
  }
  yield* flush_local(x86, cpu, info, reason);
}

/** flush_tlb_func_remote (v4.14–v5.12) / flush_tlb_func for another CPU's request (v5.13+):
 * irq_tlb_count is counted first, whatever the CPU then finds. */
function* flush_tlb_func_remote_on(x86: X86Mmu, cpu: Cpu, info: FlushTlbInfo): Kfn<void> {
  x86.stats.remoteFlushesReceived++;
  x86.stats.irqTlbCount[cpu.id]!++;
  yield* flush_tlb_func_common(x86, cpu, info, TlbFlushReason.TLB_REMOTE_SHOOTDOWN);
}

/** flush_tlb_func (v5.13+) as the cross-call function of one flush: the initiating CPU runs it
 * as its local flush, every other CPU as a shootdown. */
function* flush_tlb_func_on(x86: X86Mmu, cpu: Cpu, info: FlushTlbInfo): Kfn<void> {
  if (cpu.id !== info.initiating_cpu) {
    yield* flush_tlb_func_remote_on(x86, cpu, info);
    return;
  }
  if (x86.state(cpu).loaded_mm === null) return;
  yield* flush_tlb_func_gen(x86, cpu, info, true);
}

/**
 * Whether flush_tlb_func, run on `cpu` for another CPU's request, returns at once: the mm is not
 * loaded here (before v6.13, which then clears the CPU from the mask), or this CPU is not lazy
 * and already past the request's generation ("the already-handled case"). If so, it is run here:
 * irq_tlb_count is all it changes. Only this CPU moves what it reads, so the answer holds for as
 * long as this CPU stays in the handler (hw/smp.ts `CsdFunc`).
 */
function flush_tlb_func_returns_at_once(x86: X86Mmu, cpu: Cpu, info: FlushTlbInfo): boolean {
  if (cpu.id === info.initiating_cpu) return false;
  const st = x86.state(cpu);
  if (st.loaded_mm !== info.mm) {
    if (x86.behaviour.lazyCpumask) return false;
  } else if (!x86.behaviour.tlbGen || st.is_lazy || info.new_tlb_gen > st.tlb_gen) return false;
  x86.stats.remoteFlushesReceived++;
  x86.stats.irqTlbCount[cpu.id]!++;
  return true;
}

/**
 * flush_tlb_func_returns_at_once for every request of one mm at once: the newest tlb_gen for
 * which a request returns at once on `cpu` (any, when the mm is not loaded there before v6.13;
 * none on a lazy CPU or without tlb_gen). The requests a CPU takes come from other CPUs, never
 * from itself (the initiator runs its own flush locally).
 */
class FlushCatchUp implements CsdCatchUp {
  readonly key: MmStruct;
  readonly gen: number;
  private readonly x86: X86Mmu;

  constructor(x86: X86Mmu, info: FlushTlbInfo) {
    this.x86 = x86;
    this.key = info.mm;
    this.gen = info.new_tlb_gen;
  }

  through(cpu: Cpu): number {
    const x86 = this.x86;
    const st = x86.state(cpu);
    if (st.loaded_mm !== this.key) return x86.behaviour.lazyCpumask ? -Infinity : Infinity;
    if (!x86.behaviour.tlbGen || st.is_lazy) return -Infinity;
    return st.tlb_gen;
  }

  ranAtOnce(cpu: Cpu, n: number): void {
    this.x86.stats.remoteFlushesReceived += n;
    this.x86.stats.irqTlbCount[cpu.id]! += n;
  }
}

/** The cross-call function of one flush, named flush_tlb_func_remote in the csd trace (an arrow
 * to a module-level generator, see docs/benchmarks.md). */
export function flush_tlb_func_remote(x86: X86Mmu, info: FlushTlbInfo): SmpFunc {
  const flush_tlb_func_remote = (cpu: Cpu): Kfn<void> => flush_tlb_func_remote_on(x86, cpu, info);
  return Object.assign(flush_tlb_func_remote, {
    returnsAtOnce: (cpu: Cpu) => flush_tlb_func_returns_at_once(x86, cpu, info),
    catchUp: new FlushCatchUp(x86, info),
  });
}

/** v5.13+: the cross-call function flush_tlb_func (local and remote). */
function flush_tlb_func(x86: X86Mmu, info: FlushTlbInfo): SmpFunc {
  const flush_tlb_func = (cpu: Cpu): Kfn<void> => flush_tlb_func_on(x86, cpu, info);
  return Object.assign(flush_tlb_func, {
    returnsAtOnce: (cpu: Cpu) => flush_tlb_func_returns_at_once(x86, cpu, info),
    catchUp: new FlushCatchUp(x86, info),
  });
}

/**
 * tlb_is_not_lazy (v4.20–v6.1) / should_flush_tlb (6.1.y stable, v6.13+): whether a flush that
 * freed no tables IPIs `c` (the old flush_tlb_others path applies it to any flush). Before v6.13 a CPU that switched away has left mm_cpumask, so only
 * laziness matters; from v6.13 (lazyCpumask) such a CPU is still in the mask and is IPI'd only
 * when the flush trims the mask (should_flush_tlb: "In cpumask, but not the loaded mm?
 * Periodically remove by flushing").
 */
function shouldFlushCpu(x86: X86Mmu, c: number, info: FlushTlbInfo): boolean {
  const st = x86.tlbstate[c]!;
  if (x86.behaviour.skipLazyUnlessFreedTables && !info.freed_tables && st.is_lazy) return false;
  // a flush that freed tables goes to the whole mask (on_each_cpu_mask), stale CPUs included
  if (x86.behaviour.lazyCpumask && st.loaded_mm !== info.mm)
    return info.freed_tables || info.trim_cpumask === true;
  return true;
}

/** should_trim_cpumask (v6.13+, 6db2526c1d69): at most once a second per mm. */
function should_trim_cpumask(x86: X86Mmu, mm: MmStruct): boolean {
  const k = x86.k;
  const jiffies = k.jiffies();
  if (jiffies > mm.next_trim_cpumask) {
    mm.next_trim_cpumask = jiffies + k.hz;
    return true;
  }
  return false;
}

/** The CPUs a native flush IPIs: v4.20+ leaves out lazy CPUs unless tables were freed. */
export function native_flush_targets(
  x86: X86Mmu,
  cpu: Cpu,
  cpumask: readonly number[],
  info: FlushTlbInfo,
): number[] {
  return cpumask.filter((c) => c !== cpu.id && shouldFlushCpu(x86, c, info));
}

/** The pages argument of native_flush_tlb_others' and _multi's TLB_REMOTE_SEND_IPI trace. */
function sendIpiPages(info: FlushTlbInfo): number {
  return info.end === TLB_FLUSH_ALL ? -1 : Math.floor((info.end - info.start) / PAGE_SIZE);
}

/** native_flush_tlb_others (v4.14): IPI every target and wait for all of them. */
export function* native_flush_tlb_others(
  x86: X86Mmu,
  cpu: Cpu,
  cpumask: readonly number[],
  info: FlushTlbInfo,
): Kfn<void> {
  x86.trace_tlb_flush(cpu, TlbFlushReason.TLB_REMOTE_SEND_IPI, sendIpiPages(info));
  const targets = native_flush_targets(x86, cpu, cpumask, info);
  if (targets.length === 0) return;
  yield* smp_call_function_many(cpu, targets, flush_tlb_func_remote(x86, info), true);
}

/**
 * native_flush_tlb_multi (v5.13+; v6.1 as below): count and trace the request, then
 * on_each_cpu_mask (tables freed: every CPU in the mask, lazy ones included) or
 * on_each_cpu_cond_mask(should_flush_tlb, …): the IPIs go out, the local flush runs with IRQs
 * off, and the caller waits for the targets.
 */
export function* native_flush_tlb_multi(
  x86: X86Mmu,
  cpu: Cpu,
  cpumask: readonly number[],
  info: FlushTlbInfo,
): Kfn<void> {
  x86.stats.remoteFlushes++;
  x86.trace_tlb_flush(cpu, TlbFlushReason.TLB_REMOTE_SEND_IPI, sendIpiPages(info));
  yield* on_each_cpu_cond_mask(
    cpu,
    cpumask,
    flush_tlb_func(x86, info),
    true,
    // v6.15: an mm in transition to a global ASID goes to the whole mask, like freed tables
    info.freed_tables || mm_in_asid_transition(x86, info.mm)
      ? null
      : (c: number) => shouldFlushCpu(x86, c, info),
  );
}

export const nativeBackend: FlushBackend = Object.freeze({
  name: "native",
  paravirtRemoveTable: false,
  flush_tlb_others: native_flush_tlb_others,
});

/**
 * flush_tlb_mm_range: choose per-page or full (v4.20+: in strides), bump the mm's tlb_gen;
 * before v5.13 flush locally with IRQs off if the mm is loaded here, then the other CPUs in
 * mm_cpumask; from v5.13 (native) flush_tlb_multi over the whole mask when any other CPU is in
 * it, else the local flush_tlb_func.
 */
export function* flush_tlb_mm_range(
  x86: X86Mmu,
  cpu: Cpu,
  mm: MmStruct,
  start: number,
  end: number,
  freed_tables: boolean,
  stride_shift = PAGE_SHIFT,
): Kfn<void> {
  const sim = x86.k.sim;
  x86.stats.mmRangeFlushes++;
  if (freed_tables) x86.stats.mmRangeFlushesFreedTables++;
  preempt_disable(cpu);
  if (!x86.behaviour.pageSizeAwareFlush) stride_shift = PAGE_SHIFT;
  const ranged =
    end !== TLB_FLUSH_ALL &&
    Math.floor((end - start) / 2 ** stride_shift) <= x86.tlb_single_page_flush_ceiling;
  const new_tlb_gen = ++mm.tlb_gen;
  const initiating_cpu = cpu.id;
  const othersInMask = () => [...mm.cpumask].filter((c) => c !== cpu.id).sort((a, b) => a - b);
  const anyOtherInMask = () => mm.cpumask.size > (mm.cpumask.has(cpu.id) ? 1 : 0);
  // v6.15: an mm with a global ASID is flushed by broadcast, nothing else
  const broadcast = x86.behaviour.flushMulti === true && mm_global_asid(x86, mm) !== 0;
  // v6.13+: a flush that IPIs anyone may also trim the mask (info->trim_cpumask)
  const trim_cpumask =
    x86.behaviour.lazyCpumask === true &&
    !broadcast &&
    anyOtherInMask() &&
    should_trim_cpumask(x86, mm);
  const info: FlushTlbInfo = ranged
    ? { mm, start, end, stride_shift, new_tlb_gen, freed_tables, initiating_cpu, trim_cpumask }
    : {
        mm,
        start: 0,
        end: TLB_FLUSH_ALL,
        stride_shift,
        new_tlb_gen,
        freed_tables,
        initiating_cpu,
        trim_cpumask,
      };
  if (broadcast) {
    // v6.15: no local flush_tlb_func — the broadcast covers this CPU too. Counted as a remote
    // flush (the kernel's NR_TLB_REMOTE_FLUSH counts only flush_tlb_multi), so that the wait per
    // remote flush compares across backends as before.
    x86.stats.remoteFlushes++;
    const span = sim.trace.begin(
      cpu.id,
      "mmulab:flush_tlb_others",
      sim.trace.enabled ? { backend: x86.backend.name, targets: "broadcast" } : undefined,
    );
    const t0 = sim.now;
    yield* x86.backend.broadcast_tlb_flush!(x86, cpu, info);
    x86.stats.flushOthersNs += sim.now - t0;
    sim.trace.end(span);
    preempt_enable(cpu);
    return;
  }
  // v5.13+ natively, and v6.15's INVLPGB kernel for an mm without a global ASID
  const multi =
    x86.behaviour.flushMulti === true &&
    (x86.backend === nativeBackend || x86.backend.broadcast_tlb_flush !== undefined);
  if (multi) {
    // v5.13+: mm_cpumask is read once, before any flush
    if (anyOtherInMask()) {
      const span = sim.trace.begin(
        cpu.id,
        "mmulab:flush_tlb_others",
        sim.trace.enabled
          ? { backend: x86.backend.name, targets: othersInMask().join(",") }
          : undefined,
      );
      const t0 = sim.now;
      yield* native_flush_tlb_multi(x86, cpu, cpumaskIds(mm), info);
      x86.stats.flushOthersNs += sim.now - t0;
      sim.trace.end(span);
      yield* consider_global_asid(x86, cpu, mm);
    } else if (x86.state(cpu).loaded_mm === mm) {
      local_irq_disable(cpu);
      yield* flush_tlb_func_gen(x86, cpu, info, true);
      yield* local_irq_enable(cpu);
    }
    preempt_enable(cpu);
    return;
  }
  if (x86.state(cpu).loaded_mm === mm) {
    local_irq_disable(cpu);
    if (x86.behaviour.tlbGen) yield* flush_tlb_func_gen(x86, cpu, info, true);
    else yield* flush_local(x86, cpu, info, TlbFlushReason.TLB_LOCAL_MM_SHOOTDOWN);
    yield* local_irq_enable(cpu);
  }
  // before v5.13: mm_cpumask is read after the local flush (a CPU may have left it meanwhile)
  const others = othersInMask();
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

/** The CPUs of mm_cpumask in ascending order (for_each_cpu's). */
function cpumaskIds(mm: MmStruct): number[] {
  const ids = new Array<number>(mm.cpumask.size);
  let i = 0;
  let ascending = true;
  for (const c of mm.cpumask) {
    if (i > 0 && c < ids[i - 1]!) ascending = false;
    ids[i++] = c;
  }
  return ascending ? ids : ids.sort((a, b) => a - b);
}

/** tlb_get_unmap_shift: the stride of the smallest level this gather cleared. */
function tlb_get_unmap_shift(tlb: MmuGather): number {
  if (tlb.cleared_ptes) return PAGE_SHIFT;
  if (tlb.cleared_pmds) return 21;
  if (tlb.cleared_puds) return 30;
  if (tlb.cleared_p4ds) return 39;
  return PAGE_SHIFT;
}

/** x86 tlb_flush(tlb) (arch/x86/include/asm/tlb.h). */
export function* x86_tlb_flush(x86: X86Mmu, cpu: Cpu, tlb: MmuGather): Kfn<void> {
  const stride = tlb_get_unmap_shift(tlb);
  if (!tlb.fullmm && !tlb.need_flush_all)
    yield* flush_tlb_mm_range(x86, cpu, tlb.mm, tlb.start, tlb.end, tlb.freed_tables, stride);
  else yield* flush_tlb_mm_range(x86, cpu, tlb.mm, 0, TLB_FLUSH_ALL, tlb.freed_tables, stride);
}
