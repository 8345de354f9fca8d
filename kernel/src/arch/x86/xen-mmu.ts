/**
 * A Linux Xen PV guest's page-table hooks (arch/x86/xen/mmu_pv.c, v4.14 to today) and what they
 * make the Xen underneath do (hw/xen-pv-mm.ts). A PV guest's page tables are read-only to it and
 * validated by Xen; Linux keeps that true with the pv_mmu_ops hooks:
 *
 *   xen_activate_mm / xen_dup_mmap → xen_pgd_pin (exec's exec_mmap, fork's dup_mmap): every
 *     table of the mm is made read-only (xen_pin_page: MULTI_update_va_mapping of its direct-map
 *     alias to PAGE_KERNEL_RO, flags 0; the pgd's with UVMF_TLB_FLUSH, a local flush), each pte
 *     table is pinned on its own (MMUEXT_PIN_L1_TABLE: split pte locks), then the pgd
 *     (MMUEXT_PIN_L4_TABLE), whose validation takes an L3/L2/L1 type reference on every table
 *     below it. All of it in one multicall batch, issued every MC_BATCH = 32 entries
 *     (arch/x86/xen/multicalls.c).
 *   xen_alloc_pte / xen_alloc_pmd / xen_alloc_pud → xen_alloc_ptpage (a table added to a pinned
 *     mm): one batch of __set_pfn_prot(pfn, PAGE_KERNEL_RO) and, for a pte table,
 *     MMUEXT_PIN_L1_TABLE; a pmd or pud table takes its type when the parent entry that links it
 *     is written (xen_set_pud/xen_set_p4d → mmu_update → get_page_from_l3e/l4e).
 *   xen_release_pte / _pmd / _pud → xen_release_ptpage (pte_free_tlb and friends, after the
 *     parent entry was cleared): MMUEXT_UNPIN_TABLE for a pte table, then __set_pfn_prot(pfn,
 *     PAGE_KERNEL): the frame becomes writable again.
 *   xen_exit_mmap → xen_pgd_unpin (exit_mmap, before the teardown): MMUEXT_UNPIN_TABLE of the
 *     pgd (Xen drops every type reference the validation took), then per table (xen_unpin_page)
 *     the pte table's own unpin and PAGE_KERNEL. The teardown that follows writes to tables Xen
 *     no longer tracks: plain stores.
 *   xen_write_cr3 (switch_mm): MMUEXT_NEW_BASEPTR → Xen's write_ptbase → switch_cr3_cr4, a
 *     flush that ticks Xen's TLB clock.
 *
 * Each read-only/writable switch of a direct-map alias drops or takes the frame's writable type
 * reference (put_page_from_l1e / get_page_from_l1e); every frame of the guest's RAM starts
 * writable with the one reference of its direct-map mapping. When a type reference of another
 * type finds the count at zero, the frame changes type, and Xen flushes the dirty pCPUs the TLB
 * clock does not clear (XenPvDomain.get_page_type) — in a shim through its flush_area_mask,
 * by IPI or assisted like the guest's own MMUEXT flush.
 *
 * Modelled for a PV guest in a shim (`xenPvHost` shim-ipi / shim-assisted), where the shim's
 * pCPUs are the guest's vCPUs one to one. Not modelled: the x86-64 guest's second (user) pgd,
 * pinned and unpinned beside the kernel one; xen_drop_mm_ref's cross-calls at exit; Xen's own
 * time to validate a table (alloc_l1_table reads 512 entries) [U, no published figure].
 */
import type { Cpu } from "../../hw/cpu.js";
import {
  PGT_l1_page_table,
  PGT_l2_page_table,
  PGT_l3_page_table,
  PGT_l4_page_table,
  PGT_writable_page,
  XenPvDomain,
  type PgtType,
  type XenPvTypeStats,
} from "../../hw/xen-pv-mm.js";
import { ParameterError } from "../../sim/errors.js";
import type { Kfn } from "../../sim/process.js";
import type { TableLevel } from "../../mm/page-alloc.js";
import type { MmStruct } from "../../mm/mm-struct.js";
import { entryTable, PTRS_PER_TABLE, tableLevels } from "../../mm/pgtable.js";
import { TLB_FLUSH_ALL } from "../../mm/pgtable.js";
import type { shim_flush_area_mask, ShimFlushStats } from "./backends.js";
import type { X86Mmu } from "./tlb.js";

/** MC_BATCH (arch/x86/xen/multicalls.c): entries per multicall before it is issued. */
export const MC_BATCH = 32;

/** The Xen page-table type of a table at `level` (x86-64, 4 levels: pgd is L4). */
export function pgtTypeOf(level: TableLevel): PgtType {
  switch (level) {
    case "pte":
      return PGT_l1_page_table;
    case "pmd":
      return PGT_l2_page_table;
    case "pud":
      return PGT_l3_page_table;
    default:
      return PGT_l4_page_table;
  }
}

/** How the shim below carries out Xen's flush_mask. */
export interface XenPvShim {
  /** Xen 4.14's L0-assisted flush (HVMOP_flush_tlbs); false: IPIs. */
  readonly assisted: boolean;
  /** The shim's flush statistics (shared with the guest's MMUEXT flushes). */
  readonly stats: ShimFlushStats;
  /** shim_flush_area_mask of backends.ts, passed in (this module imports only its types). */
  readonly flushRemote: typeof shim_flush_area_mask;
}

/** The guest's PagePinned state and the hypervisor's frame types, for one X86Mmu. */
export class XenPvMmu {
  readonly domain: XenPvDomain;
  /** PagePinned: table frames Linux has made read-only and handed to Xen. */
  private readonly pinned = new Set<number>();
  /** Hypercalls (multicalls and single mmuext/update calls) the hooks issued. */
  hypercalls = 0;

  constructor(
    private readonly x86: X86Mmu,
    private readonly shim: XenPvShim,
    noAssistForPageTables: boolean,
  ) {
    // hypervisor_setup: an assisted flush below turns Xen's TLB clock off
    this.domain = new XenPvDomain({ tlbClock: !shim.assisted, noAssistForPageTables });
    // every vCPU ran when the guest brought it up: each shim pCPU is in dirty_cpumask, and
    // the shim runs no other domain to take it out
    for (const c of x86.k.machine.cpus) this.domain.markDirty(c.id);
  }

  get stats(): Readonly<XenPvTypeStats> {
    return this.domain.stats;
  }

  /** xen_page_pinned(mm->pgd). */
  isPinned(mm: MmStruct): boolean {
    return this.pinned.has(mm.pgd);
  }

  /** Hypercalls for `entries` multicall entries (xen_mc_issue every MC_BATCH). */
  private *multicall(entries: number): Kfn<void> {
    const n = Math.ceil(entries / MC_BATCH);
    this.hypercalls += n;
    const m = this.x86.k.machine;
    yield m.jitter(n * m.costs.hypercallNs);
  }

  /** A type reference that may change the frame's type: the flush _get_page_type asks for. */
  private *getType(cpu: Cpu, pfn: number, type: PgtType): Kfn<void> {
    const f = this.domain.get_page_type(pfn, type);
    if (f === null) return;
    yield* this.flush_mask(cpu, f.mask, f.noAssist);
  }

  /**
   * flush_mask(mask, FLUSH_TLB [| FLUSH_NO_ASSIST]) in the shim: flush_area_local if this pCPU
   * is in the mask, then the rest by HVMOP_flush_tlbs (assisted, unless FLUSH_NO_ASSIST) or by
   * IPI (xen/arch/x86/smp.c flush_area_mask). Already inside the guest's hypercall: no entry.
   */
  private *flush_mask(cpu: Cpu, mask: readonly number[], noAssist: boolean): Kfn<void> {
    const x86 = this.x86;
    const m = x86.k.machine;
    const local = mask.includes(cpu.id);
    if (local) {
      yield m.jitter(m.costs.fullFlushNs);
      this.domain.flushed([cpu.id]);
      x86.hw?.hypervisorFlush(cpu, 0, TLB_FLUSH_ALL, "xen type change");
    }
    const targets = local ? mask.filter((c) => c !== cpu.id) : mask;
    if (targets.length === 0) return;
    const assisted = this.shim.assisted && !noAssist;
    yield* this.shim.flushRemote(x86, cpu, targets, assisted, this.shim.stats, 0, "type change");
    x86.stats.remoteFlushesReceived += targets.length;
    if (x86.hw !== null)
      for (const t of targets)
        x86.hw.hypervisorFlush(m.cpus[t]!, 0, TLB_FLUSH_ALL, "xen type change");
    if (x86.k.sim.trace.enabled)
      x86.k.sim.trace.instant(cpu.id, "mmulab:xen_type_change_flush", {
        targets: targets.join(","),
        noAssist,
      });
  }

  /** The tables below `table` (a `level` table), depth first, as [pfn, level] pairs. */
  private tablesBelow(table: number, level: TableLevel, out: [number, TableLevel][]): void {
    const levels = tableLevels(this.x86.k.levels);
    const li = levels.indexOf(level);
    if (li === levels.length - 1) return;
    const child = levels[li + 1]!;
    const pt = this.x86.k.pt;
    for (let i = 0; i < PTRS_PER_TABLE; i++) {
      const t = entryTable(pt.entry(table, i));
      if (t < 0) continue;
      out.push([t, child]);
      this.tablesBelow(t, child, out);
    }
  }

  /** xen_pgd_pin (xen_activate_mm at exec, xen_dup_mmap at fork). */
  *pgd_pin(cpu: Cpu, mm: MmStruct): Kfn<void> {
    if (this.pinned.has(mm.pgd)) return;
    const below: [number, TableLevel][] = [];
    this.tablesBelow(mm.pgd, "pgd", below);
    const dom = this.domain;
    let entries = 1; // MMUEXT_PIN_L4_TABLE
    // xen_pin_page on each table below (the walk's order), then on the pgd
    for (const [pfn, level] of below) {
      this.pinned.add(pfn);
      entries++;
      dom.put_page_type(pfn); // PAGE_KERNEL_RO: the direct map's writable reference goes
      if (level === "pte") {
        entries++;
        yield* this.getType(cpu, pfn, PGT_l1_page_table); // MMUEXT_PIN_L1_TABLE
      }
    }
    this.pinned.add(mm.pgd);
    entries++;
    dom.put_page_type(mm.pgd);
    dom.flushed([cpu.id]); // the pgd's UVMF_TLB_FLUSH
    // MMUEXT_PIN_L4_TABLE: the pin's reference on the pgd, then validation's on every table
    yield* this.getType(cpu, mm.pgd, PGT_l4_page_table);
    for (const [pfn, level] of below) yield* this.getType(cpu, pfn, pgtTypeOf(level));
    yield* this.multicall(entries);
  }

  /**
   * An mm whose process was exec'd before the run (a microworkload's): its pgd pinned, as
   * xen_pgd_pin left it, with the flush that pin cost taken before the run. Only for an mm
   * with no table below its pgd yet.
   */
  pinned_before_run(mm: MmStruct): void {
    const below: [number, TableLevel][] = [];
    this.tablesBelow(mm.pgd, "pgd", below);
    if (below.length > 0 || this.pinned.has(mm.pgd))
      throw new ParameterError(
        "mm",
        mm.id,
        "an mm with nothing below its pgd, not yet pinned",
        "XenPvMmu.pinned_before_run",
      );
    this.pinned.add(mm.pgd);
    this.domain.put_page_type(mm.pgd);
    this.domain.get_page_type(mm.pgd, PGT_l4_page_table);
    for (const c of this.x86.k.machine.cpus) this.domain.flushed([c.id]);
  }

  /** xen_pgd_unpin (xen_exit_mmap, before exit_mmap's teardown). */
  *pgd_unpin(cpu: Cpu, mm: MmStruct): Kfn<void> {
    if (!this.pinned.has(mm.pgd)) return;
    const below: [number, TableLevel][] = [];
    this.tablesBelow(mm.pgd, "pgd", below);
    const dom = this.domain;
    let entries = 1;
    // MMUEXT_UNPIN_TABLE on the pgd: the pin's reference, and devalidation drops every
    // reference the validation took (each table's count reaching zero stamps it)
    dom.put_page_type(mm.pgd);
    for (const [pfn] of below) dom.put_page_type(pfn);
    // xen_unpin_page on each table below, then on the pgd
    for (const [pfn, level] of below) {
      this.pinned.delete(pfn);
      entries++;
      if (level === "pte") {
        entries++;
        dom.put_page_type(pfn); // MMUEXT_UNPIN_TABLE of the pte table
      }
      yield* this.getType(cpu, pfn, PGT_writable_page); // PAGE_KERNEL
    }
    this.pinned.delete(mm.pgd);
    entries++;
    yield* this.getType(cpu, mm.pgd, PGT_writable_page);
    dom.flushed([cpu.id]); // the pgd's UVMF_TLB_FLUSH
    yield* this.multicall(entries);
  }

  /** One mmu_update hypercall: a pmd/pud/p4d entry of a pinned table written or cleared
   * (xen_set_pmd_hyper & co.; outside a lazy section, not batched). */
  private *mmu_update(): Kfn<void> {
    this.hypercalls++;
    yield this.x86.k.machine.jitter(this.x86.k.machine.costs.hypercallNs);
  }

  /** xen_alloc_ptpage: a table linked into `mm` (a pgd's own frame is pinned with the mm). */
  *alloc_ptpage(cpu: Cpu, mm: MmStruct, pfn: number, level: TableLevel): Kfn<void> {
    if (!this.pinned.has(mm.pgd) || this.pinned.has(pfn)) return;
    this.pinned.add(pfn);
    this.domain.put_page_type(pfn); // __set_pfn_prot(pfn, PAGE_KERNEL_RO)
    if (level === "pte") {
      yield* this.getType(cpu, pfn, PGT_l1_page_table); // MMUEXT_PIN_L1_TABLE
      yield* this.multicall(2);
    } else {
      yield* this.multicall(1);
    }
    // the parent entry that links it (pmd_populate → xen_set_pmd, pud_populate → xen_set_pud,
    // …): an mmu_update whose get_page_from_l2e/l3e/l4e takes the table's type reference —
    // for a pmd or pud table the type change itself
    yield* this.mmu_update();
    yield* this.getType(cpu, pfn, pgtTypeOf(level));
  }

  /** xen_release_ptpage: a table unlinked from `mm` is freed. */
  *release_ptpage(cpu: Cpu, pfn: number, level: TableLevel): Kfn<void> {
    if (!this.pinned.has(pfn)) return;
    this.pinned.delete(pfn);
    // pmd_clear & co. (xen_pmd_clear → set_pmd: an mmu_update) dropped the parent's reference
    yield* this.mmu_update();
    this.domain.put_page_type(pfn);
    if (level === "pte") this.domain.put_page_type(pfn); // MMUEXT_UNPIN_TABLE
    yield* this.getType(cpu, pfn, PGT_writable_page); // __set_pfn_prot(pfn, PAGE_KERNEL)
    yield* this.multicall(level === "pte" ? 2 : 1);
  }

  /** xen_write_cr3: MMUEXT_NEW_BASEPTR → write_ptbase → switch_cr3_cr4 (a clock tick). */
  write_cr3(cpu: Cpu): void {
    this.domain.markDirty(cpu.id);
    this.domain.flushed([cpu.id]);
  }
}
