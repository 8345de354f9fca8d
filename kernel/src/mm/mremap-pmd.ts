/**
 * mremap(2)'s page-table move for a whole PMD (mm/mremap.c, v6.6 and v6.12): move_vma →
 * move_page_tables → move_pgt_entry(NORMAL_PMD) → move_normal_pmd (HAVE_MOVE_PMD, 2c91bd4a4e2e
 * "mm: speed up mremap by 20x on large regions"). Instead of moving 512 ptes, the pte table
 * itself is moved: the old pmd is cleared and the new pmd pointed at the same table.
 *
 * The race (CVE-2024-50066, Jann Horn): move_page_tables looks at the old pmd (get_old_pmd)
 * and decides on NORMAL_PMD before it takes the rmap locks (take_rmap_locks: the file's i_mmap
 * rwsem for write) that exclude khugepaged's lockless retract_page_tables (v6.6). A retract in
 * between clears the old pmd. v6.6's move_normal_pmd then reads the empty pmd, clears it again
 * and installs pmd_pgtable(empty) — on x86 a pmd pointing at physical page 0 — as the new pmd.
 * v6.12 (6fa1066fc5d0) re-reads the pmd under the locks and backs off unless it is a present,
 * non-leaf entry (profile switch `mremapPmdRecheck`).
 *
 *   move_normal_pmd(vma, old_addr, new_addr, old_pmd, new_pmd):
 *     if (WARN_ON_ONCE(!pmd_none(*new_pmd))) return false
 *     old_ptl = pmd_lock(mm, old_pmd); new_ptl = pmd_lockptr(mm, new_pmd) (nested)
 *     pmd = *old_pmd
 *     v6.12: if (!pmd_present(pmd) || pmd_leaf(pmd)) goto out_unlock   (not moved)
 *     pmd_clear(old_pmd); pmd_populate(mm, new_pmd, pmd_pgtable(pmd))
 *     flush_tlb_range(vma, old_addr, old_addr + PMD_SIZE)
 *
 * Left out: moves of less than a PMD (move_ptes), huge pmds and PUD moves, the VMA merge and
 * accounting of move_vma, and v6.12's -EAGAIN retry of the pte-level fallback: with the old pmd
 * gone there is nothing left to move, so the model ends the extent there.
 */
import type { Cpu } from "../hw/cpu.js";
import { KernelStateError } from "../sim/errors.js";
import type { Kfn } from "../sim/process.js";
import type { Kernel } from "./kernel.js";
import { down_write, insertVma, up_write } from "./mmap.js";
import type { MmStruct } from "./mm-struct.js";
import { indexAt, levelSpans, PAGE_SHIFT, PMD_SIZE, tableLevels } from "./pgtable.js";
import { pmd_slot, type PmdSlot } from "./pte-map.js";
import type { AddressSpace, FileVma } from "./address-space.js";

export interface MremapOptions {
  /** The file the range maps (its i_mmap lock is the rmap lock). */
  readonly mapping: AddressSpace;
  /** The range's entry in the file's i_mmap tree (moved with the VMA). */
  readonly vma: FileVma;
  /** Time mremap is preempted after choosing NORMAL_PMD and before take_rmap_locks, ns. */
  readonly preemptNs?: number;
  /** Called when that preemption starts. */
  readonly onPreempt?: () => void;
}

export interface MremapResult {
  /** PMDs moved whole by move_normal_pmd. */
  readonly movedPmds: number;
  /** move_normal_pmd backed off (v6.12's re-check). */
  readonly backedOff: number;
}

/** alloc_new_pmd: the pmd entry for `addr`, allocating the pud and pmd tables on the way. */
function alloc_new_pmd(k: Kernel, mm: MmStruct, addr: number): PmdSlot {
  const levels = tableLevels(k.levels);
  const spans = levelSpans(k.levels);
  let table = mm.pgd;
  for (let li = 0; levels[li] !== "pmd"; li++) {
    const idx = indexAt(addr, spans[li]!);
    let raw = k.pt.entry(table, idx);
    if (raw < 0) throw new KernelStateError("alloc_new_pmd", "a huge leaf where a table goes");
    if (raw === 0) {
      const child = levels[li + 1]!;
      const t = k.pt.allocTable(child, mm.id, "GFP_KERNEL", `${child}_alloc (mremap)`);
      k.pt.setTable(table, idx, t);
      mm.accountTable(child, 1);
      raw = t + 1;
    }
    table = raw - 1;
  }
  return { table, index: indexAt(addr, PMD_SIZE) };
}

/** move_normal_pmd (above). Returns whether the pmd was moved. */
function* move_normal_pmd(
  k: Kernel,
  cpu: Cpu,
  mm: MmStruct,
  oldAddr: number,
  oldPmd: PmdSlot,
  newPmd: PmdSlot,
): Kfn<boolean> {
  if (k.pt.entry(newPmd.table, newPmd.index) !== 0) return false;
  yield k.machine.costs.pteReadNs;
  const pmd = k.pt.entry(oldPmd.table, oldPmd.index);
  if (k.behaviour.mremapPmdRecheck === true && pmd <= 0) return false;
  k.pt.clear(oldPmd.table, oldPmd.index);
  // pmd_populate(mm, new_pmd, pmd_pgtable(pmd)): an empty pmd's "table" is page frame 0
  const table = pmd > 0 ? pmd - 1 : 0;
  k.pt.setTable(newPmd.table, newPmd.index, table);
  if (pmd <= 0)
    k.alloc.note(
      0,
      `pmd_populate from an empty pmd: mm ${mm.id}'s pmd now points here`,
      `cpu${cpu.id}`,
    );
  yield* k.archOps.flush_tlb_range(cpu, mm, oldAddr, oldAddr + PMD_SIZE, PAGE_SHIFT);
  return true;
}

/**
 * mremap(old, len, MREMAP_MAYMOVE | MREMAP_FIXED, new) of a PMD-aligned range of a file
 * mapping, under the mmap lock for writing: the VMA moves to `newAddr` and each PMD's pte table
 * is moved by move_normal_pmd.
 */
export function* sys_mremap(
  k: Kernel,
  cpu: Cpu,
  mm: MmStruct,
  oldAddr: number,
  len: number,
  newAddr: number,
  opts: MremapOptions,
): Kfn<MremapResult> {
  if (oldAddr % PMD_SIZE !== 0 || newAddr % PMD_SIZE !== 0 || len % PMD_SIZE !== 0)
    throw new KernelStateError("mremap", "the model moves PMD-aligned ranges of whole PMDs");
  yield k.machine.costs.syscallNs;
  yield* down_write(k, cpu, mm);
  let movedPmds = 0;
  let backedOff = 0;
  try {
    const vma = mm.vmaAt(oldAddr);
    if (vma === null || vma.start !== oldAddr || vma.end !== oldAddr + len)
      throw new KernelStateError("mremap", "the range must be exactly one VMA");
    // move_vma: the new VMA, then move_page_tables
    mm.vmas.splice(mm.vmas.indexOf(vma), 1);
    vma.start = newAddr;
    vma.end = newAddr + len;
    insertVma(mm, vma);
    // copy_vma: the new VMA joins the file's i_mmap tree; the old one leaves it only after the
    // move (do_vmi_munmap of the old range)
    opts.mapping.map(mm, newAddr, newAddr + len, opts.vma.pgoff);
    for (let off = 0; off < len; off += PMD_SIZE) {
      const oldPmd = pmd_slot(k, mm, oldAddr + off);
      // get_old_pmd: nothing there, nothing to move
      if (oldPmd === null || k.pt.entry(oldPmd.table, oldPmd.index) === 0) continue;
      const newPmd = alloc_new_pmd(k, mm, newAddr + off);
      // extent == PMD_SIZE and not a huge pmd: NORMAL_PMD
      if (opts.preemptNs !== undefined && opts.preemptNs > 0) {
        opts.onPreempt?.();
        yield opts.preemptNs;
      }
      // move_pgt_entry: take_rmap_locks → move_normal_pmd → drop_rmap_locks
      yield* opts.mapping.i_mmap_rwsem.down_write(cpu);
      let moved: boolean;
      try {
        moved = yield* move_normal_pmd(k, cpu, mm, oldAddr + off, oldPmd, newPmd);
      } finally {
        opts.mapping.i_mmap_rwsem.up_write();
      }
      if (moved) movedPmds++;
      else backedOff++;
    }
    opts.mapping.unmap(opts.vma);
  } finally {
    up_write(k, mm);
  }
  return { movedPmds, backedOff };
}
