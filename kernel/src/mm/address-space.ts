/**
 * A file mapped by more than one process, reduced to what the later table-freeing paths need
 * (include/linux/fs.h struct address_space: i_mmap, i_mmap_rwsem; mm/khugepaged.c,
 * mm/mremap.c, mm/hugetlb.c walk it): which VMAs of which mms map which file offsets, and the
 * rwsem that orders khugepaged's retract (read), mremap's take_rmap_locks (write) and hugetlb's
 * unsharing (write).
 *
 * Left out: the page cache itself. A mapping's pages are faulted as the mm's own pages; what the
 * scenarios here race on is the page tables, not the file's pages.
 */
import type { Cpu } from "../hw/cpu.js";
import { KernelStateError } from "../sim/errors.js";
import { Signal } from "../sim/event.js";
import { spin, type Kfn } from "../sim/process.js";
import type { MmStruct } from "./mm-struct.js";
import { PAGE_SIZE } from "./pgtable.js";

/** One VMA of the file's i_mmap tree: `mm` maps file page `pgoff` at `start`. */
export interface FileVma {
  readonly mm: MmStruct;
  start: number;
  end: number;
  /** vm_pgoff: file page mapped at `start`. */
  readonly pgoff: number;
  /** vma->anon_vma: a private COW copy exists (retract skips such VMAs). */
  readonly anonVma: boolean;
}

/** i_mmap_rwsem: readers share it, a writer excludes everyone (FIFO fairness not modelled:
 * waiters spin on a signal and take it when it is free). */
export class IMmapRwsem {
  private readers = 0;
  private writer = false;
  private readonly signal: Signal;
  constructor(name: string) {
    this.signal = new Signal(`i_mmap_rwsem ${name}`);
  }
  get held(): boolean {
    return this.writer || this.readers > 0;
  }
  *down_read(_cpu: Cpu): Kfn<void> {
    yield spin(this.signal, () => !this.writer);
    this.readers++;
  }
  up_read(): void {
    if (this.readers === 0) throw new KernelStateError("i_mmap_unlock_read", "not held for read");
    this.readers--;
    this.signal.notify();
  }
  *down_write(_cpu: Cpu): Kfn<void> {
    yield spin(this.signal, () => !this.writer && this.readers === 0);
    this.writer = true;
  }
  up_write(): void {
    if (!this.writer) throw new KernelStateError("i_mmap_unlock_write", "not held for write");
    this.writer = false;
    this.signal.notify();
  }
}

/** struct address_space of a shmem/tmpfs or hugetlbfs file. */
export class AddressSpace {
  readonly name: string;
  readonly i_mmap: FileVma[] = [];
  readonly i_mmap_rwsem: IMmapRwsem;
  constructor(name: string) {
    this.name = name;
    this.i_mmap_rwsem = new IMmapRwsem(name);
  }

  /** vma_interval_tree_insert: `mm` maps [start, end) of this file from page `pgoff`. */
  map(mm: MmStruct, start: number, end: number, pgoff: number, anonVma = false): FileVma {
    const v: FileVma = { mm, start, end, pgoff, anonVma };
    this.i_mmap.push(v);
    return v;
  }

  /** vma_interval_tree_remove. */
  unmap(vma: FileVma): void {
    const i = this.i_mmap.indexOf(vma);
    if (i >= 0) this.i_mmap.splice(i, 1);
  }

  /** vma_interval_tree_foreach(vma, &mapping->i_mmap, pgoff, pgoff): the VMAs mapping file
   * page `pgoff`, in insertion order. */
  vmasAt(pgoff: number): FileVma[] {
    return this.i_mmap.filter(
      (v) => v.pgoff <= pgoff && pgoff < v.pgoff + (v.end - v.start) / PAGE_SIZE,
    );
  }
}
