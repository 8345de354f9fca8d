/**
 * mremap(MREMAP_MAYMOVE | MREMAP_FIXED) of a whole mapping (mm/mremap.c, v4.14 and v4.19):
 * sys_mremap → move_vma → copy_vma, move_page_tables → move_ptes, then do_munmap of the old
 * range.
 *
 * mremap moves page-table entries, not pages: no page passes through an mmu_gather, so nothing
 * keeps a moved page alive until the old translation is flushed — only the page-table locks
 * order the move against others who reach the page through the file's rmap (ftruncate's
 * unmap_mapping_range, mm/shmem.ts). Where the old range's flush goes decides CVE-2018-18281:
 *
 *   v4.14–v4.18  move_ptes moves the ptes under the old and new pte locks, drops them, and only
 *                records need_flush; move_page_tables flushes the old range once, after the last
 *                extent (flush_tlb_range). Between the unlock and that flush, a truncate can zap
 *                the pte at its new place, flush the *new* address, and free the page, while
 *                another CPU still translates the *old* address to it.
 *   v4.19+       eb66ae030829 "mremap: properly flush TLB before releasing the page": a move of
 *                any present pte flushes the old range before the locks are dropped.
 *
 * (`mremapFlushUnderPtl` in MmuGatherBehaviour.) v4.9's 5d1904204c99 already flushed under the
 * lock when a moved pte was dirty; the model's ptes carry no dirty bit and the scenario maps its
 * file read-only (as LTP's mremap06 does), so that path never applies. Left out: growing or
 * shrinking, merging with a neighbour (copy_vma's vma_merge, and so need_rmap_locks, which is
 * false for a new VMA), move_normal_pmd/move_huge_pmd (v4.20+), anonymous VMAs' anon_vma.
 */
import type { Cpu } from "../hw/cpu.js";
import { checkInt, MmulabError, ParameterError } from "../sim/errors.js";
import type { Kfn } from "../sim/process.js";
import { paravirt_alloc_run, paravirt_alloc_take, type Kernel } from "./kernel.js";
import { Vma, type MmStruct } from "./mm-struct.js";
import { do_munmap, down_write, insertVma, ptePath, up_write } from "./mmap.js";
import { alignDown, indexAt, PAGE_SHIFT, PAGE_SIZE, PMD_SIZE, taskSize } from "./pgtable.js";
import { ptl_lock, ptl_unlock, vma_link_file } from "./shmem.js";

/**
 * move_ptes for one extent (within one old and one new pte table): take the old table's lock and
 * the new one's, move every present pte, and — v4.19 — flush the old range before unlocking.
 * Returns whether a present pte was moved (v4.14's need_flush).
 */
function* move_ptes(
  k: Kernel,
  cpu: Cpu,
  mm: MmStruct,
  oldTable: number,
  oldAddr: number,
  oldEnd: number,
  newTable: number,
  newAddr: number,
): Kfn<boolean> {
  const len = oldEnd - oldAddr;
  yield* ptl_lock(k, oldTable);
  if (newTable !== oldTable) yield* ptl_lock(k, newTable);
  let moved = 0;
  for (let a = oldAddr, n = newAddr; a < oldEnd; a += PAGE_SIZE, n += PAGE_SIZE) {
    const from = indexAt(a, PAGE_SIZE);
    if (k.pt.entry(oldTable, from) === 0) continue;
    // ptep_get_and_clear + set_pte_at
    k.pt.move(oldTable, from, newTable, indexAt(n, PAGE_SIZE));
    moved++;
    yield k.machine.costs.zapPteNs;
  }
  if (k.sim.trace.enabled)
    k.sim.trace.instant(cpu.id, "mmulab:move_ptes", {
      from: `0x${oldAddr.toString(16)}`,
      to: `0x${newAddr.toString(16)}`,
      moved,
    });
  // v4.19: "make sure to flush TLB before we drop the PTL"
  if (moved > 0 && k.behaviour.mremapFlushUnderPtl === true)
    yield* k.archOps.flush_tlb_range(cpu, mm, oldEnd - len, oldEnd, PAGE_SHIFT);
  if (newTable !== oldTable) ptl_unlock(k, newTable);
  ptl_unlock(k, oldTable);
  return moved > 0;
}

/**
 * move_page_tables: extent by extent (each ends at the next PMD boundary of the source or the
 * destination), with cond_resched() between them; allocate the destination's tables
 * (alloc_new_pmd, pte_alloc) and move_ptes. v4.14 flushes the old range at the end, if any pte
 * moved.
 */
function* move_page_tables(
  k: Kernel,
  cpu: Cpu,
  mm: MmStruct,
  oldStart: number,
  newStart: number,
  len: number,
): Kfn<void> {
  let needFlush = false;
  for (let off = 0; off < len;) {
    // cond_resched(): a preemption point (the scenario's stall may land here)
    yield k.machine.costs.pteReadNs;
    const oldAddr = oldStart + off;
    const newAddr = newStart + off;
    const extent = Math.min(
      len - off,
      alignDown(oldAddr, PMD_SIZE) + PMD_SIZE - oldAddr,
      alignDown(newAddr, PMD_SIZE) + PMD_SIZE - newAddr,
    );
    off += extent;
    const oldTable = ptePath(k, mm, oldAddr, false);
    if (oldTable < 0) continue;
    const newTable = ptePath(k, mm, newAddr, true);
    yield* paravirt_alloc_run(k, cpu, paravirt_alloc_take(k));
    if (yield* move_ptes(k, cpu, mm, oldTable, oldAddr, oldAddr + extent, newTable, newAddr))
      needFlush = true;
  }
  if (needFlush && k.behaviour.mremapFlushUnderPtl !== true)
    yield* k.archOps.flush_tlb_range(cpu, mm, oldStart, oldStart + len, PAGE_SHIFT);
}

/**
 * mremap(old, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, new) of a whole 4K mapping to a free
 * place: under mmap_sem for write, copy_vma (the new VMA joins the file's rmap after the old
 * one), move_page_tables, then do_munmap of the old range (its ptes are gone; its tables are
 * freed through an mmu_gather).
 */
export function* sys_mremap(
  k: Kernel,
  cpu: Cpu,
  mm: MmStruct,
  oldAddr: number,
  len: number,
  newAddr: number,
): Kfn<void> {
  const top = taskSize(k.levels);
  checkInt("len", len, PAGE_SIZE, top, "mremap");
  for (const [name, v] of [
    ["old_address", oldAddr],
    ["new_address", newAddr],
  ] as const)
    if (!Number.isInteger(v) || v % PAGE_SIZE !== 0 || v < PAGE_SIZE || v + len > top)
      throw new ParameterError(name, v, "a page-aligned user address range", "mremap");
  if (len % PAGE_SIZE !== 0) throw new ParameterError("len", len, "a multiple of 4096", "mremap");
  const vma = mm.vmaAt(oldAddr);
  if (vma === null || vma.start !== oldAddr || vma.end !== oldAddr + len || vma.hugetlb)
    throw new MmulabError(
      `mremap: the model moves one whole 4K mapping; [0x${oldAddr.toString(16)}, +0x${len.toString(16)}) is not one`,
    );
  if (mm.vmas.some((v) => v.start < newAddr + len && v.end > newAddr))
    throw new MmulabError(`mremap: the destination 0x${newAddr.toString(16)} is mapped`);
  yield k.machine.costs.syscallNs;
  const span = k.sim.trace.begin(cpu.id, "mmulab:mremap", {
    old: `0x${oldAddr.toString(16)}`,
    new: `0x${newAddr.toString(16)}`,
  });
  yield* down_write(k, cpu, mm);
  try {
    // move_vma → copy_vma: the new VMA, linked into the file's rmap behind the old one
    const newVma = new Vma(newAddr, newAddr + len, vma.pageSize, vma.name, vma.file, vma.pgoff);
    insertVma(mm, newVma);
    vma_link_file(mm, newVma);
    yield* move_page_tables(k, cpu, mm, oldAddr, newAddr, len);
    yield* do_munmap(k, cpu, mm, oldAddr, len);
  } finally {
    up_write(k, mm);
    k.sim.trace.end(span);
  }
}
