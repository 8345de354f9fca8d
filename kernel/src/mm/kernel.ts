/**
 * The simulated kernel's shared state: one per simulation, passed to every kernel path (the
 * model's stand-in for global kernel data). The layers above mm/ plug in through two narrow
 * interfaces, as the C code does through arch hooks and the RCU API:
 *   - ArchMmuOps: tlb_flush, the x86 ___pXd_free_tlb choice, __tlb_remove_table (arch/x86);
 *   - RcuOps: call_rcu_sched / call_rcu (rcu/).
 * Behaviour that differs between kernel versions is read from one `MmuGatherBehaviour` object,
 * each field in one place (STYLE.md: a variant swaps one small function, never a copy).
 */
import type { Cpu } from "../hw/cpu.js";
import type { Machine } from "../hw/machine.js";
import type { Kfn, KfnOrDone } from "../sim/process.js";
import type { Simulation } from "../sim/simulation.js";
import { MmStruct } from "./mm-struct.js";
import { Signal, type SimEvent } from "../sim/event.js";
import { waitFor } from "../sim/process.js";
import type { MmuGather } from "./mmu-gather.js";
import { UafOracle } from "./oracle.js";
import { PageAllocator, type AllocatorParams, type TableLevel } from "./page-alloc.js";
import { PageTableStore, taskSize, type PgtableLevels } from "./pgtable.js";
import { checkInt, ParameterError, UnknownNameError } from "../sim/errors.js";

/** Version-dependent mmu_gather behaviour (reference/kernel.md §1, §4, §6 item 12). */
export interface MmuGatherBehaviour {
  /** CONFIG_HAVE_RCU_TABLE_FREE (MMU_GATHER_RCU_TABLE_FREE since v5.6): tlb_remove_table
   * batches tables and frees them after an RCU grace period. Off: there is no table batch and
   * tlb_remove_table is tlb_remove_page (x86 up to v4.13). */
  readonly rcuTableFree: boolean;
  /** v4.14–v4.18: tlb_remove_table frees at once when mm_users < 2 (removed in v4.19). */
  readonly mmUsersShortcut: boolean;
  /** v4.19+ HAVE_RCU_TABLE_INVALIDATE: tlb_table_invalidate() flushes the TLB before the batch
   * goes to RCU and before tlb_remove_table_one frees. */
  readonly tableInvalidate: boolean;
  /** Where tlb_table_flush runs: "tlbonly" — end of tlb_flush_mmu_tlbonly, after tlb_flush
   * (v4.14); "free" — in tlb_flush_mmu_free (v4.19+). */
  readonly tableFlushIn: "tlbonly" | "free";
  /** v4.20+: mmu_gather.freed_tables, passed to flush_tlb_mm_range. */
  readonly freedTables: boolean;
  /** v6.14 with CONFIG_PT_RECLAIM: tlb_remove_table_one frees the single table through
   * call_rcu instead of an IPI broadcast. */
  readonly ptReclaimFallback: boolean;
  /** v4.20+ (dd2283f2605e, "mm: mmap: zap pages with read mmap_sem in munmap"): munmap detaches
   * the VMAs under mmap_sem for write, then downgrades it and zaps and frees under read, so
   * faulting threads wait only for the detach. Absent: held for write throughout. */
  readonly munmapDowngrade?: boolean;
  /** v5.11+ (1a728dff855a, "locking/rwsem: Enable reader optimistic lock stealing"): a reader
   * takes a free mmap_sem even with writers queued, until the first writer has waited
   * RWSEM_WAIT_TIMEOUT and set the handoff bit. Absent: FIFO hand-off by the releaser. */
  readonly rwsemReaderSteal?: boolean;
  /** How khugepaged's retract_page_tables frees a pte table it took out of a file mapping
   * (mm/khugepaged.c): "pte_free_defer" — v6.6 (1d65b771bc08 retracts without the mmap lock,
   * 13cf577e6b66 frees by call_rcu); "sync-then-pte_free" — v6.1's collapse_and_free_pmd
   * (tlb_remove_table_sync_one, then pte_free at once), which with lockless retract is only a
   * counterfactual. Absent: "pte_free_defer". */
  readonly retractFree?: "pte_free_defer" | "sync-then-pte_free";
  /** v6.12 (6fa1066fc5d0, CVE-2024-50066): move_normal_pmd re-reads the old pmd under the locks
   * and backs off unless it is a present, non-leaf entry. Absent: false (v6.6). */
  readonly mremapPmdRecheck?: boolean;
  /** v6.14 CONFIG_PT_RECLAIM (6375e95f381e): madvise(MADV_DONTNEED) frees a pte table it
   * emptied over a whole PMD range (zap_pte_range → try_get_and_clear_pmd / try_to_free_pte).
   * Absent: false. */
  readonly ptReclaim?: boolean;
  /** v6.16 (1013af4f585f, CVE-2025-38085): huge_pmd_unshare sends tlb_remove_table_sync_one()
   * before the caller drops the i_mmap lock. Absent: false. */
  readonly hugetlbUnshareSync?: boolean;
  /** v6.1+ (2ba99c5e0881, "mm/khugepaged: fix GUP-fast interaction by sending IPI"):
   * khugepaged calls tlb_remove_table_sync_one() after pmdp_collapse_flush, before it frees or
   * reuses the pte table. Absent: v6.0 and older free it right after the flush. */
  readonly collapseSyncOne?: boolean;
  /** v4.19+ (eb66ae030829, "mremap: properly flush TLB before releasing the page"): move_ptes
   * flushes the old range before it drops the page-table locks. Absent: v4.14's need_flush,
   * one flush at the end of move_page_tables. */
  readonly mremapFlushUnderPtl?: boolean;
}

/** The references a shmem page has besides the allocator's: page_mapcount and the page cache. */
export interface FilePageRef {
  mapcount: number;
  /** Still in the file's page cache (not truncated or replaced by a collapse). */
  cached: boolean;
}

/** v4.14 as merged: the default for mm-level tests. */
export const V4_14_GATHER: MmuGatherBehaviour = Object.freeze({
  rcuTableFree: true,
  mmUsersShortcut: true,
  tableInvalidate: false,
  tableFlushIn: "tlbonly",
  freedTables: false,
  ptReclaimFallback: false,
});

/**
 * What the arch's half of table freeing needs from the generic mmu_gather, for
 * {@link checkTlbConfig}. The arch declares its own switches (x86: `X86Behaviour`) and states here
 * which generic features they rely on.
 */
export interface ArchTlbNeeds {
  /** The arch's ___pXd_free_tlb calls tlb_remove_table (for some backend at least). */
  readonly removeTable: boolean;
  /** The arch's flush reads tlb->freed_tables. */
  readonly freedTables: boolean;
}

/**
 * The one place that refuses switch combinations no kernel ever had, as asm-generic/tlb.h does
 * with `#error`: every check names the switch, the value and what it needs. `new Kernel` checks
 * the generic switches; an arch that installs itself (installX86) checks them again with its own
 * needs.
 */
export function checkTlbConfig(b: MmuGatherBehaviour, arch?: ArchTlbNeeds): MmuGatherBehaviour {
  const ctx = "MmuGatherBehaviour";
  if (b.tableInvalidate && b.tableFlushIn === "tlbonly")
    throw new ParameterError(
      "behaviour.tableInvalidate",
      true,
      'false when tableFlushIn is "tlbonly" (tlb_table_invalidate calls tlb_flush_mmu_tlbonly, which would hand the batch over again; v4.19 moved tlb_table_flush to tlb_flush_mmu_free)',
      ctx,
    );
  // MMU_GATHER_RCU_TABLE_FREE's parts: none of them exists without the table batch.
  for (const part of ["mmUsersShortcut", "tableInvalidate", "ptReclaimFallback"] as const)
    if (b[part] && !b.rcuTableFree)
      throw new ParameterError(
        "behaviour.rcuTableFree",
        false,
        `true when ${part} is set (it is part of HAVE_RCU_TABLE_FREE)`,
        ctx,
      );
  if (arch?.removeTable === true && !b.rcuTableFree)
    throw new ParameterError(
      "behaviour.rcuTableFree",
      false,
      "true when the arch frees tables with tlb_remove_table (without HAVE_RCU_TABLE_FREE there is no table batch and tlb_remove_table is tlb_remove_page)",
      ctx,
    );
  if (arch?.freedTables === true && !b.freedTables)
    throw new ParameterError(
      "behaviour.freedTables",
      false,
      "true when the arch's flush reads tlb->freed_tables (016c4d92cd16, v4.20, added the field the lazy-CPU filter reads)",
      ctx,
    );
  return Object.freeze({ ...b });
}

export interface ArchMmuOps {
  /** The arch's tlb_flush(tlb) (x86: flush_tlb_mm_range over the gathered range). */
  tlb_flush(cpu: Cpu, tlb: MmuGather): Kfn<void>;
  /** x86 ___pte_free_tlb … ___p4d_free_tlb: the arch half of pXd_free_tlb, which picks
   * tlb_remove_table or tlb_remove_page for the table. Null when the table was only queued. */
  free_table_tlb(cpu: Cpu, tlb: MmuGather, pfn: number, level: TableLevel): KfnOrDone;
  /** __tlb_remove_table(table): x86 free_page_and_swap_cache, a plain call. Returns the time
   * it takes (ns), for the caller to spend. `by` and `via` name who frees and on which path. */
  __tlb_remove_table(cpu: Cpu, pfn: number, by: string, via: string): number;
  /** switch_mm_irqs_off: make `next` the CPU's address space (null: init_mm, kernel only). */
  switch_mm(cpu: Cpu, next: MmStruct | null): void;
  /** flush_tlb_range / flush_tlb_page (x86: flush_tlb_mm_range without freed tables) for the
   * callers that change a pte outside an mmu_gather: ptep_clear_flush, move_ptes. */
  flush_tlb_range(
    cpu: Cpu,
    mm: MmStruct,
    start: number,
    end: number,
    strideShift: number,
  ): Kfn<void>;
  /** destroy_context at __mmdrop (x86 v6.15: mm_free_global_asid). */
  destroy_context?(mm: MmStruct): void;
  /** paravirt_alloc_pte / _pmd / _pud (pv_mmu_ops.alloc_pXd): `pfn` became a `level` table
   * of `mm`. Absent: nothing to do (native). Run after the step that allocated the table
   * (faultIn and move_page_tables queue it in {@link Kernel.paravirtAllocs}). */
  paravirt_alloc?: (cpu: Cpu, mm: MmStruct, pfn: number, level: TableLevel) => Kfn<void>;
  /** paravirt_release_pte / _pmd / _pud: an unlinked `level` table is handed to the gather. */
  paravirt_release?: (cpu: Cpu, pfn: number, level: TableLevel) => Kfn<void>;
  /** activate_mm (exec_mmap, before the switch; pv_mmu_ops.activate_mm). */
  activate_mm?: (cpu: Cpu, mm: MmStruct) => Kfn<void>;
  /** arch_exit_mmap (the start of exit_mmap; pv_mmu_ops.exit_mmap). */
  arch_exit_mmap?: (cpu: Cpu, mm: MmStruct) => Kfn<void>;
}

/** Queues a table just linked into `mm` for the arch's paravirt_alloc, if it has one. */
export function paravirt_alloc_queue(
  k: Kernel,
  mm: MmStruct,
  pfn: number,
  level: TableLevel,
): void {
  if (k.arch?.paravirt_alloc !== undefined) k.paravirtAllocs.push({ mm, pfn, level });
}

/** Takes the tables the plain-call step just run allocated, at once (before the caller
 * yields: another CPU's step must not take them); null when there are none. */
export function paravirt_alloc_take(k: Kernel): ParavirtAlloc[] | null {
  return k.paravirtAllocs.length === 0 ? null : k.paravirtAllocs.splice(0);
}

/** Runs the arch's paravirt_alloc on `cpu` for tables taken by {@link paravirt_alloc_take}. */
export function* paravirt_alloc_run(
  k: Kernel,
  cpu: Cpu,
  taken: readonly ParavirtAlloc[] | null,
): Kfn<void> {
  const hook = k.arch?.paravirt_alloc;
  if (hook === undefined || taken === null) return;
  for (const a of taken) yield* hook(cpu, a.mm, a.pfn, a.level);
}

/** A table allocated inside a plain-call step, waiting for the arch's paravirt_alloc. */
export interface ParavirtAlloc {
  readonly mm: MmStruct;
  readonly pfn: number;
  readonly level: TableLevel;
}

/** The scheduler's side of a sleep: set by the layer that runs tasks (sched/), absent in
 * scripted scenarios, where a waiting kernel path keeps its CPU. */
export interface SchedOps {
  /** Sleep the task running on `cpu` until `event` (schedule(): the CPU runs another task or
   * goes idle meanwhile), then resume it on `cpu`. */
  sleep_on(cpu: Cpu, event: SimEvent<void>): Kfn<void>;
}

export interface RcuOps {
  /** call_rcu_sched (≤ v4.19) or call_rcu (v4.20+): run `fn` on `cpu` after a grace period. */
  call_rcu(cpu: Cpu, fn: (cpu: Cpu) => Kfn<void>, name: string): Kfn<void>;
  /** rcu_read_lock() / rcu_read_unlock() on `cpu` (the pte_offset_map() walkers, v6.6+). An RCU
   * without them cannot run those walkers. */
  rcu_read_lock?(cpu: Cpu): void;
  rcu_read_unlock?(cpu: Cpu): void;
}

/** What the seed patch's table could not show: where table frees went. */
export interface MmStats {
  /** Page-table pages freed at once (tlb_remove_page path, mm_users shortcut, fallback). */
  tablesFreedDirect: number;
  /** Page-table pages freed by an RCU callback. */
  tablesFreedRcu: number;
  /** Table batches handed to RCU (call_rcu_sched calls). */
  tableBatches: number;
  /** tlb_remove_table_one calls (batch page allocation failed). */
  removeTableOne: number;
  /** Tables freed through the mm_users < 2 shortcut. */
  mmUsersShortcuts: number;
  /** Data pages freed by mmu_gather. */
  pagesFreed: number;
  /** tlb_flush calls that reached flush_tlb_mm_range. */
  tlbFlushes: number;
  /** Page faults handled. */
  faults: number;
  /** Copy-on-write faults on the zero page (wp_page_copy). */
  cowFaults: number;
  /** ___pXd_free_tlb calls: page-table pages handed to mmu_gather, by level. */
  readonly pgtablesFreed: Record<TableLevel, number>;
  /** gup_fast pins that failed because the page had been freed meanwhile (harmless). */
  speculativePinFailures: number;
  /** Tables currently handed to RCU and not yet freed; and the peak. */
  pendingRcuTables: number;
  peakPendingRcuTables: number;
}

export interface KernelParams {
  readonly levels?: PgtableLevels;
  readonly behaviour?: MmuGatherBehaviour;
  readonly allocator?: AllocatorParams;
  /** Keep an mm in {@link Kernel.mms} after __mmdrop so notebooks can still ptdump it (default
   * true). Long workloads turn it off: the kernel frees the mm_struct there. */
  readonly keepDroppedMms?: boolean;
  /** CONFIG_HZ, for the jiffies the kernel's timeouts count in (default 1000). */
  readonly hz?: number;
}

export class Kernel {
  readonly sim: Simulation;
  readonly machine: Machine;
  readonly alloc: PageAllocator;
  readonly pt: PageTableStore;
  readonly oracle: UafOracle;
  readonly levels: PgtableLevels;
  readonly behaviour: MmuGatherBehaviour;
  /** Set by the arch layer before any teardown runs. */
  arch: ArchMmuOps | null = null;
  /** Tables allocated by a plain-call step (faultIn, ptePath) for the arch's paravirt_alloc,
   * filled only when the arch has that hook; taken by {@link paravirt_alloc_take}. */
  readonly paravirtAllocs: ParavirtAlloc[] = [];
  /** Set by the RCU layer; required when behaviour.rcuTableFree. */
  rcu: RcuOps | null = null;
  /** Set by a scheduler running this kernel's tasks (sleeping locks sleep through it). */
  sched: SchedOps | null = null;
  readonly mms = new Map<number, MmStruct>();
  readonly keepDroppedMms: boolean;
  /** CONFIG_HZ. */
  readonly hz: number;
  readonly stats: MmStats = {
    tablesFreedDirect: 0,
    tablesFreedRcu: 0,
    tableBatches: 0,
    removeTableOne: 0,
    mmUsersShortcuts: 0,
    pagesFreed: 0,
    tlbFlushes: 0,
    faults: 0,
    cowFaults: 0,
    pgtablesFreed: { pgd: 0, p4d: 0, pud: 0, pmd: 0, pte: 0 },
    speculativePinFailures: 0,
    pendingRcuTables: 0,
    peakPendingRcuTables: 0,
  };
  private nextMm = 1;
  /** Woken whenever an mmap_sem is released (the spinning waiters of the profiles without
   * reader lock stealing). */
  readonly mmapSemSignal = new Signal("mmap_sem");
  /** The zero page's frame (empty_zero_page), −1 until the first read fault maps it. */
  zeroPfn = -1;
  /** Pages of shmem files (mm/shmem.ts): the page cache's reference and the mappings'. A zap
   * frees such a page only when neither is left (put_page), not as an anonymous page. */
  readonly filePages = new Map<number, FilePageRef>();
  /** Split page-table locks held (pte_lockptr / pmd_lockptr: one spinlock per table page), by
   * table frame; only the paths that race on one take them (mm/shmem.ts, mm/mremap.ts,
   * mm/khugepaged.ts). */
  readonly ptlHeld = new Set<number>();
  readonly ptlSignal = new Signal("ptl");

  constructor(machine: Machine, params: KernelParams = {}) {
    const levels = params.levels ?? 4;
    if (levels !== 4 && levels !== 5)
      throw new ParameterError("levels", levels, "4 or 5 (CONFIG_PGTABLE_LEVELS)", "Kernel");
    this.sim = machine.sim;
    this.machine = machine;
    this.levels = levels;
    this.behaviour = checkTlbConfig(params.behaviour ?? V4_14_GATHER);
    this.alloc = new PageAllocator(machine.sim, params.allocator);
    this.pt = new PageTableStore(this.alloc);
    this.oracle = new UafOracle(machine.sim, this.alloc, this.pt);
    this.keepDroppedMms = params.keepDroppedMms ?? true;
    this.hz = params.hz ?? 1000;
    if (![100, 250, 300, 1000].includes(this.hz))
      throw new ParameterError("hz", this.hz, "100, 250, 300 or 1000 (CONFIG_HZ)", "Kernel");
  }

  /** jiffies: ticks of CONFIG_HZ since boot. */
  jiffies(): number {
    return Math.floor(this.sim.now / (1e9 / this.hz));
  }

  get archOps(): ArchMmuOps {
    if (this.arch === null)
      throw new ParameterError(
        "kernel.arch",
        null,
        "arch ops installed (e.g. installX86(kernel, …))",
        "Kernel",
      );
    return this.arch;
  }

  get rcuOps(): RcuOps {
    if (this.rcu === null)
      throw new ParameterError(
        "kernel.rcu",
        null,
        "RCU ops installed: this profile frees page tables through RCU",
        "Kernel",
      );
    return this.rcu;
  }

  /** my_zero_pfn(): the shared zero page, allocated on first use so that runs which never map
   * it keep their frame numbers. Never freed. */
  zero_pfn(): number {
    if (this.zeroPfn < 0) this.zeroPfn = this.pt.allocData(0, "empty_zero_page");
    return this.zeroPfn;
  }

  /** mm_alloc + mm_init + pgd_alloc. */
  mm_alloc(): MmStruct {
    const id = this.nextMm++;
    const pgd = this.pt.allocTable("pgd", id, "GFP_KERNEL", "pgd_alloc");
    // mmap_base: below the stack gap, as arch_pick_mmap_layout does without randomisation.
    const base = taskSize(this.levels) - 2 ** 40;
    const mm = new MmStruct(id, this.levels, pgd, base);
    // init_new_context (v6.13+, 6db2526c1d69): the first mm_cpumask trim a second from now
    mm.next_trim_cpumask = this.jiffies() + this.hz;
    this.mms.set(id, mm);
    return mm;
  }

  /** The mm with this id; a typed error for unknown ids. */
  mm(id: number): MmStruct {
    checkInt("mm", id, 1, Number.MAX_SAFE_INTEGER, "Kernel.mm");
    const mm = this.mms.get(id);
    if (!mm)
      throw new UnknownNameError("mm", String(id), [...this.mms.keys()].map(String), "Kernel.mm");
    return mm;
  }

  /** A kernel path waits for `event`: the task sleeps through the scheduler if there is one,
   * else the path's context waits on its CPU. */
  *sleep_on(cpu: Cpu, event: SimEvent<void>): Kfn<void> {
    if (event.triggered) return;
    if (this.sched !== null) yield* this.sched.sleep_on(cpu, event);
    else yield waitFor(event);
  }

  /** Bookkeeping for the RCU-pending peak. */
  pendingRcu(delta: number): void {
    this.stats.pendingRcuTables += delta;
    if (this.stats.pendingRcuTables > this.stats.peakPendingRcuTables)
      this.stats.peakPendingRcuTables = this.stats.pendingRcuTables;
  }
}
