/**
 * Shared file memory, as much as the bug registry's races need (mm/shmem.c, mm/filemap.c,
 * mm/truncate.c, mm/memory.c; v4.14 and v6.0/v6.1 read the same here): a shmem (tmpfs) file's
 * page cache and its i_mmap list of mappings, MAP_SHARED mappings of it, its fault path, and
 * ftruncate's unmap_mapping_range + truncate_inode_pages.
 *
 * What makes these pages different from anonymous ones is who holds them: the page cache keeps
 * a reference, each pte that maps the page another (page_mapcount), and the page is freed only
 * when the last one goes (put_page). So unmapping a file page frees nothing; truncating the file
 * frees the pages no pte maps, and a page still mapped is freed by the zap that drops its last
 * mapping, after that zap's TLB flush (tlb_remove_page). The ptes of a file are found through
 * the file's rmap (i_mmap), without the mm's mmap_sem: that is how ftruncate races with an
 * mremap of the same pages (CVE-2018-18281, mm/mremap.ts).
 *
 * Left out: swap, writeback, the radix tree/xarray's own locking (the page cache is a map), the
 * interval tree (i_mmap is a list, walked in insertion order, as vma_interval_tree_foreach
 * visits VMAs of equal pgoff), i_mmap_rwsem contention (its holders here never overlap on one
 * file except where noted), and private (COW) file mappings.
 */
import type { Cpu } from "../hw/cpu.js";
import { checkInt, MmulabError, ParameterError } from "../sim/errors.js";
import { spin, type Kfn } from "../sim/process.js";
import { paravirt_alloc_run, paravirt_alloc_take, type Kernel } from "./kernel.js";
import { Vma, type MmStruct } from "./mm-struct.js";
import {
  __tlb_adjust_range,
  __tlb_remove_page_size,
  tlb_finish_mmu,
  tlb_gather_mmu,
} from "./mmu-gather.js";
import { down_write, insertVma, ptePath, up_write } from "./mmap.js";
import { indexAt, PAGE_SIZE } from "./pgtable.js";

/** A mapping of the file: the VMA and the mm it belongs to (the kernel reaches the mm through
 * vma->vm_mm). */
export interface FileMapping {
  readonly mm: MmStruct;
  readonly vma: Vma;
}

/** struct address_space of a shmem inode. */
export class AddressSpace {
  readonly name: string;
  /** The page cache: file page index → frame. */
  readonly pages = new Map<number, number>();
  /** i_mmap: every VMA mapping the file. */
  readonly i_mmap: FileMapping[] = [];
  /** i_size in pages. */
  size: number;

  constructor(name: string, size: number) {
    this.name = name;
    this.size = size;
  }
}

/** Largest shmem file, pages (1 GiB). */
export const MAX_SHMEM_PAGES = 262_144;

/** shmem_file_setup: an empty tmpfs file of `pages` pages. */
export function shmem_file_setup(name: string, pages: number): AddressSpace {
  checkInt("pages", pages, 1, MAX_SHMEM_PAGES, "shmem_file_setup");
  return new AddressSpace(name, pages);
}

/** unlink_file_vma: the file's rmap forgets the VMA (free_pgtables, before its tables go). */
export function unlink_file_vma(mm: MmStruct, vma: Vma): void {
  const f = vma.file;
  if (f === null) return;
  const i = f.i_mmap.findIndex((m) => m.vma === vma && m.mm === mm);
  if (i >= 0) f.i_mmap.splice(i, 1);
}

/** vma_link's __vma_link_file. */
export function vma_link_file(mm: MmStruct, vma: Vma): void {
  if (vma.file !== null) vma.file.i_mmap.push({ mm, vma });
}

/**
 * put_page for a frame a zap unmapped: true when it is an ordinary page (free it with the
 * gather) or a shmem page whose last reference this was; false while the page cache or another
 * pte still holds it.
 */
export function put_file_page(k: Kernel, pfn: number): boolean {
  const ref = k.filePages.get(pfn);
  if (ref === undefined) return true;
  ref.mapcount--;
  if (ref.cached || ref.mapcount > 0) return false;
  k.filePages.delete(pfn);
  return true;
}

/** spin_lock(pte_lockptr(mm, pmd)): the split lock of one page-table page. */
export function* ptl_lock(k: Kernel, table: number): Kfn<void> {
  if (k.ptlHeld.has(table)) yield spin(k.ptlSignal, () => !k.ptlHeld.has(table));
  k.ptlHeld.add(table);
}

/** spin_unlock of a page-table lock. */
export function ptl_unlock(k: Kernel, table: number): void {
  k.ptlHeld.delete(table);
  k.ptlSignal.notify();
}

export interface MmapFileOptions {
  readonly addr: number;
  /** Pages to map, from file page `pgoff`. */
  readonly pages: number;
  readonly pgoff?: number;
  /** MAP_POPULATE. */
  readonly populate?: boolean;
}

/** mmap(MAP_SHARED | MAP_FIXED_NOREPLACE) of a shmem file; returns the VMA. */
export function* mmap_shared_file(
  k: Kernel,
  cpu: Cpu,
  mm: MmStruct,
  file: AddressSpace,
  opts: MmapFileOptions,
): Kfn<Vma> {
  const pgoff = checkInt("pgoff", opts.pgoff ?? 0, 0, file.size - 1, "mmap_shared_file");
  const pages = checkInt("pages", opts.pages, 1, file.size - pgoff, "mmap_shared_file");
  checkInt("addr", opts.addr, PAGE_SIZE, 2 ** 47 - pages * PAGE_SIZE, "mmap_shared_file");
  if (opts.addr % PAGE_SIZE !== 0)
    throw new ParameterError("addr", opts.addr, "a multiple of 4096", "mmap_shared_file");
  const start = opts.addr;
  const end = start + pages * PAGE_SIZE;
  if (mm.vmas.some((v) => v.start < end && v.end > start))
    throw new MmulabError(`mmap_shared_file: [0x${start.toString(16)}, …) is already mapped`);
  yield k.machine.costs.syscallNs;
  yield* down_write(k, cpu, mm);
  const vma = new Vma(start, end, "4K", file.name, file, pgoff);
  insertVma(mm, vma);
  vma_link_file(mm, vma);
  up_write(k, mm);
  if (opts.populate === true)
    for (let a = start; a < end; a += PAGE_SIZE) yield* shmem_fault(k, cpu, mm, vma, a);
  return vma;
}

/**
 * A fault on a shmem mapping (shmem_fault → finish_fault): find the page in the page cache, or
 * allocate it there (shmem_getpage_gfp), and map it with a pte under the pte table's lock.
 */
export function* shmem_fault(k: Kernel, cpu: Cpu, mm: MmStruct, vma: Vma, addr: number): Kfn<void> {
  const file = vma.file;
  if (file === null) throw new MmulabError("shmem_fault on an anonymous VMA");
  const index = vma.pgoff + (addr - vma.start) / PAGE_SIZE;
  let page = file.pages.get(index);
  if (page === undefined) {
    page = k.pt.allocData(mm.id, `shmem_getpage ${file.name}:${index}`);
    file.pages.set(index, page);
    k.filePages.set(page, { mapcount: 0, cached: true });
  }
  const table = ptePath(k, mm, addr, true);
  yield* paravirt_alloc_run(k, cpu, paravirt_alloc_take(k));
  yield* ptl_lock(k, table);
  const idx = indexAt(addr, PAGE_SIZE);
  if (k.pt.entry(table, idx) === 0) {
    k.pt.setLeaf(table, idx, page);
    k.filePages.get(page)!.mapcount++;
    mm.rss++;
    k.stats.faults++;
  }
  ptl_unlock(k, table);
  yield k.machine.jitter(k.machine.costs.faultBaseNs);
}

/**
 * zap_page_range_single over the part of one mapping that maps file pages [first, last]:
 * clear each present pte under its table's lock, widen the gather's range, drop the page's
 * mapping (a page whose last reference this was is freed after the flush), then
 * tlb_finish_mmu flushes the range zapped — only where ptes were present.
 */
function* zap_file_range(
  k: Kernel,
  cpu: Cpu,
  m: FileMapping,
  first: number,
  last: number,
): Kfn<void> {
  const { mm, vma } = m;
  const lo = Math.max(vma.start, vma.start + (first - vma.pgoff) * PAGE_SIZE);
  const hi = Math.min(vma.end, vma.start + (last + 1 - vma.pgoff) * PAGE_SIZE);
  if (lo >= hi) return;
  const tlb = tlb_gather_mmu(k, cpu, mm, lo, hi);
  for (let a = lo; a < hi; a += PAGE_SIZE) {
    const table = ptePath(k, mm, a, false);
    if (table < 0) continue;
    yield* ptl_lock(k, table);
    const idx = indexAt(a, PAGE_SIZE);
    const raw = k.pt.entry(table, idx);
    if (raw > 0) {
      k.pt.clear(table, idx);
      mm.rss--;
      __tlb_adjust_range(tlb, a, PAGE_SIZE);
      tlb.cleared_ptes = true;
      if (put_file_page(k, raw - 1)) __tlb_remove_page_size(k, tlb, raw - 1);
    }
    ptl_unlock(k, table);
    yield k.machine.costs.zapPteNs;
  }
  yield* tlb_finish_mmu(k, cpu, tlb, lo, hi);
}

/**
 * unmap_mapping_range(mapping, holebegin, holelen, even_cows): under i_mmap_rwsem, zap the
 * file pages [first, first + nr) in every VMA that maps them, in whatever mm.
 */
export function* unmap_mapping_range(
  k: Kernel,
  cpu: Cpu,
  file: AddressSpace,
  first: number,
  nr: number,
): Kfn<void> {
  const last = first + nr - 1;
  for (const m of [...file.i_mmap]) {
    const vLast = m.vma.pgoff + (m.vma.end - m.vma.start) / PAGE_SIZE - 1;
    if (m.vma.pgoff > last || vLast < first) continue;
    yield* zap_file_range(k, cpu, m, first, last);
  }
}

/**
 * truncate_inode_pages_range from page `from`: each page leaves the page cache and drops its
 * reference; a page no pte maps any more is freed now (the zap that drops a remaining mapping
 * frees it later).
 */
export function* truncate_inode_pages(
  k: Kernel,
  cpu: Cpu,
  file: AddressSpace,
  from: number,
): Kfn<void> {
  for (const [index, page] of [...file.pages]) {
    if (index < from) continue;
    file.pages.delete(index);
    // a huge page fills HPAGE_PMD_NR slots: its reference goes once
    const ref = k.filePages.get(page);
    if (ref === undefined || !ref.cached) continue;
    ref.cached = false;
    if (ref.mapcount === 0) {
      k.filePages.delete(page);
      k.alloc.freePage(page, `cpu${cpu.id}`, "truncate_inode_pages");
      k.stats.pagesFreed++;
    }
    yield k.machine.costs.pageFreeNs;
  }
}

/**
 * ftruncate(fd, size) on a shmem file, as shmem_setattr → truncate_pagecache does it: unmap the
 * pages past the new end from every mapping, drop them from the page cache (freeing those no
 * pte maps), then unmap again to catch a pte that a racing fault or move put back meanwhile.
 */
export function* sys_ftruncate(k: Kernel, cpu: Cpu, file: AddressSpace, size: number): Kfn<void> {
  checkInt("size", size, 0, file.size, "ftruncate");
  yield k.machine.costs.syscallNs;
  const nr = file.size - size;
  file.size = size;
  if (nr === 0) return;
  const span = k.sim.trace.begin(cpu.id, "mmulab:ftruncate", { file: file.name, size });
  yield* unmap_mapping_range(k, cpu, file, size, nr);
  yield* truncate_inode_pages(k, cpu, file, size);
  yield* unmap_mapping_range(k, cpu, file, size, nr);
  k.sim.trace.end(span);
}
