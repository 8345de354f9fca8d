/**
 * x86 page-table freeing hooks (arch/x86/mm/pgtable.c, arch/x86/include/asm/tlb.h).
 *
 * The seed patch is these few lines: ___pte_free_tlb … ___p4d_free_tlb switch from
 * tlb_remove_page (freed after the flush IPI) to tlb_remove_table (freed after an RCU-sched grace
 * period), and x86 gets __tlb_remove_table = free_page_and_swap_cache. v4.19 made the choice a
 * paravirt hook (native keeps tlb_remove_page); v6.15 made tlb_remove_table unconditional again
 * for INVLPGB. `X86Behaviour.tableFreeVia` selects which.
 */
import type { Cpu } from "../../hw/cpu.js";
import type { KfnOrDone } from "../../sim/process.js";
import { checkTlbConfig, type ArchMmuOps, type Kernel } from "../../mm/kernel.js";
import type { MmStruct } from "../../mm/mm-struct.js";
import type { TableLevel } from "../../mm/page-alloc.js";
import { tlb_remove_page, tlb_remove_table, type MmuGather } from "../../mm/mmu-gather.js";
import {
  flush_tlb_mm_range,
  nativeBackend,
  X86Mmu,
  x86_tlb_flush,
  type FlushBackend,
  type X86Behaviour,
} from "./tlb.js";

/** ___pte_free_tlb / ___pmd_free_tlb / ___pud_free_tlb / ___p4d_free_tlb (x86-64: no PAE
 * need_flush_all). Returns null when the table was only queued, or the flush or RCU hand-off to
 * run now. */
export function ___pXd_free_tlb(x86: X86Mmu, cpu: Cpu, tlb: MmuGather, pfn: number): KfnOrDone {
  // the level only matters to pgtable_page_dtor and paravirt_release_pXd, bookkeeping not modelled
  const via = x86.behaviour.tableFreeVia;
  const useTable =
    via === "tlb_remove_table" || (via === "paravirt" && x86.backend.paravirtRemoveTable);
  return useTable ? tlb_remove_table(x86.k, cpu, tlb, pfn) : tlb_remove_page(x86.k, cpu, tlb, pfn);
}

/** x86 __tlb_remove_table (v4.14): free_page_and_swap_cache(table). Returns the time the free
 * takes, which the caller spends. */
export function __tlb_remove_table(
  x86: X86Mmu,
  cpu: Cpu,
  pfn: number,
  by: string,
  via: string,
): number {
  x86.k.alloc.freePage(pfn, by, via);
  return x86.k.machine.jitter(x86.k.machine.costs.pageFreeNs);
}

/** Wires the x86 arch into a kernel: returns the X86Mmu holding per-CPU TLB state. */
export function installX86(
  k: Kernel,
  behaviour: X86Behaviour,
  backend: FlushBackend = nativeBackend,
): X86Mmu {
  checkTlbConfig(k.behaviour, {
    removeTable: behaviour.tableFreeVia !== "tlb_remove_page",
    freedTables: behaviour.skipLazyUnlessFreedTables,
  });
  const x86 = new X86Mmu(k, backend, behaviour);
  const ops: ArchMmuOps = {
    tlb_flush: (cpu: Cpu, tlb: MmuGather) => x86_tlb_flush(x86, cpu, tlb),
    free_table_tlb: (cpu: Cpu, tlb: MmuGather, pfn: number) => ___pXd_free_tlb(x86, cpu, tlb, pfn),
    __tlb_remove_table: (cpu: Cpu, pfn: number, by: string, via: string) =>
      __tlb_remove_table(x86, cpu, pfn, by, via),
    switch_mm: (cpu: Cpu, next: MmStruct | null) => x86.switch_mm(cpu, next),
    flush_tlb_range: (cpu: Cpu, mm: MmStruct, start: number, end: number, stride: number) =>
      flush_tlb_mm_range(x86, cpu, mm, start, end, false, stride),
    destroy_context: (mm: MmStruct) => x86.mm_free_global_asid(mm),
  };
  // A Xen PV guest: pv_mmu_ops' table hooks (arch/x86/xen/mmu_pv.c, xen-mmu.ts)
  const xen = backend.attachXenPvMmu?.(x86) ?? null;
  if (xen !== null) {
    x86.xenPv = xen;
    ops.paravirt_alloc = (cpu: Cpu, mm: MmStruct, pfn: number, level: TableLevel) =>
      xen.alloc_ptpage(cpu, mm, pfn, level);
    ops.paravirt_release = (cpu: Cpu, pfn: number, level: TableLevel) =>
      xen.release_ptpage(cpu, pfn, level);
    ops.activate_mm = (cpu: Cpu, mm: MmStruct) => xen.pgd_pin(cpu, mm);
    ops.arch_exit_mmap = (cpu: Cpu, mm: MmStruct) => xen.pgd_unpin(cpu, mm);
  }
  k.arch = ops;
  return x86;
}
