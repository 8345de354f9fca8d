/**
 * Address-space operations (mm/mmap.c, mm/madvise.c, fs/exec.c, kernel/fork.c; v4.14): mmap,
 * munmap with VMA splitting, unmap_region, madvise(MADV_DONTNEED), exit_mmap, mmput/mmdrop and
 * exec's shift_arg_pages — the callers that free page tables through an mmu_gather.
 *
 * munmap of space with nothing mapped is a no-op, as in Linux. Bad arguments (unaligned or
 * out-of-range addresses, zero length) are rejected with a typed error before anything changes.
 * Unlike Linux, an mmap with an address hint that overlaps an existing mapping is refused (as
 * MAP_FIXED_NOREPLACE would) instead of silently placed elsewhere: a simulation script that
 * names an address means that address. VMAs are not merged (vma_merge is not modelled): it does
 * not change which tables free_pgtables frees, only how many VMAs there are.
 */
import type { Cpu } from "../hw/cpu.js";
import { checkBool, checkInt, checkOptions, MmulabError, ParameterError } from "../sim/errors.js";
import { SimEvent } from "../sim/event.js";
import { spin, type Kfn } from "../sim/process.js";
import { free_pgd_range, free_pgtables } from "./free-pgtables.js";
import {
  paravirt_alloc_queue,
  paravirt_alloc_run,
  paravirt_alloc_take,
  type Kernel,
} from "./kernel.js";
import { accessFaults, handle_mm_fault } from "./memory.js";
import { unmap_vmas } from "./memory.js";
import { MmStruct, Vma, VMA_PAGE_BYTES, type VmaPageSize } from "./mm-struct.js";
import { tlb_finish_mmu, tlb_gather_mmu } from "./mmu-gather.js";
import { reclaim_pte_tables } from "./pt-reclaim.js";
import {
  alignDown,
  decodeEntry,
  FIRST_USER_ADDRESS,
  PAGE_SHIFT,
  PAGE_SIZE,
  PMD_SIZE,
  tableIndex,
  tableLevels,
  taskSize,
  TLB_FLUSH_ALL,
  USER_PGTABLES_CEILING,
} from "./pgtable.js";

/** vm.mmap_min_addr default. */
export const MMAP_MIN_ADDR = 65536;

export class MmapOverlapError extends MmulabError {
  constructor(
    readonly mm: number,
    readonly addr: number,
    readonly length: number,
    readonly existing: Vma,
  ) {
    super(
      `mmap: [0x${addr.toString(16)}, 0x${(addr + length).toString(16)}) overlaps mapping ` +
        `"${existing.name}" [0x${existing.start.toString(16)}, 0x${existing.end.toString(16)}) in mm ${mm}; ` +
        `pass fixed: "replace" for MAP_FIXED semantics (unmap what is there first)`,
    );
  }
}

// ---------------------------------------------------------------- mmap_sem

/*
 * mmap_sem (mmap_lock from v5.8), a reader-writer semaphore (kernel/locking/rwsem.c). A task
 * that cannot have it waits (Kernel.sleep_on: with a scheduler the task sleeps and its CPU runs
 * something else or idles — lazy TLB mode — meanwhile). Optimistic spinning is not modelled.
 *
 * With `rwsemReaderSteal` (v5.11+, 1a728dff855a "locking/rwsem: Enable reader optimistic lock
 * stealing"; the rules of 6.1's rwsem.c): a reader takes the lock at once when no writer holds
 * it and nobody waits; with waiters queued it still takes a free lock ("reader optimistic lock
 * stealing") unless the first waiter has set the handoff bit. A writer takes a free lock with
 * nobody waiting, else queues (FIFO) and, each time it is woken, retries
 * (rwsem_try_write_lock); once it has waited more than RWSEM_WAIT_TIMEOUT = DIV_ROUND_UP(HZ,
 * 250) jiffies and is first in the queue it sets the handoff bit, which stops the stealing.
 * The releaser (the last reader, or the writer) wakes the writer at the head of the queue, or
 * grants the lock to the readers at the head. A thread that keeps taking mmap_sem for read
 * (faults, madvise) can thus starve a writer (mmap) for one to two jiffies.
 *
 * Without it the model keeps its earlier, simpler rule for every older profile: a reader enters
 * whenever no writer holds the lock, a writer when nobody holds it; a waiter spins on the
 * lock's signal and re-checks when it is released, and only a running waiter can take it. (That
 * lets readers pass a waiting writer, which the rwsem-xadd kernels of v4.x did not do; left as
 * it was so that the microworkload and kernbench results stand — see docs/model.md.)
 * One release resumes every waiter whose condition held at that moment, so each re-checks the
 * lock before taking it: the first takes it, the others spin again. (Until 2026-12-08 they did
 * not, and several writers could enter together: docs/model.md, "mmap_sem in the older
 * profiles".)
 */

/** struct rwsem_waiter. */
export interface RwsemWaiter {
  readonly write: boolean;
  /** Readers: the lock was granted. Writers: woken to retry (stealing) or granted it. */
  wake: SimEvent<void>;
  /** jiffies + RWSEM_WAIT_TIMEOUT when queued. */
  readonly timeout: number;
}

/** The rule of the profile: reader optimistic lock stealing (v5.11+) or the older model. */
function stealing(k: Kernel): boolean {
  return k.behaviour.rwsemReaderSteal ?? false;
}

/** Wakes waiters when the lock is released. With stealing: rwsem_mark_wake — the readers at
 * the head are granted the lock, a writer at the head is woken to retry. Without: the spinning
 * waiters re-check. */
function rwsem_wake(k: Kernel, mm: MmStruct): void {
  if (!stealing(k)) {
    k.mmapSemSignal.notify();
    return;
  }
  const q = mm.mmapSemWaiters;
  if (q.length === 0 || mm.mmapSemWriter) return;
  const first = q[0]!;
  if (first.write) {
    if (mm.mmapSemReaders === 0 && !first.wake.triggered) first.wake.succeed();
    return;
  }
  while (q.length > 0 && !q[0]!.write) {
    mm.mmapSemReaders++;
    q.shift()!.wake.succeed();
  }
}

/** RWSEM_WAIT_TIMEOUT, jiffies. */
function rwsemWaitTimeout(k: Kernel): number {
  return Math.ceil(k.hz / 250);
}

/** down_read(&mm->mmap_sem). */
export function* down_read(k: Kernel, cpu: Cpu, mm: MmStruct): Kfn<void> {
  if (!stealing(k)) {
    // every spinner whose condition holds at a release resumes: re-check before taking it
    while (mm.mmapSemWriter) yield spin(k.mmapSemSignal, () => !mm.mmapSemWriter);
    mm.mmapSemReaders++;
    return;
  }
  if (!mm.mmapSemWriter && mm.mmapSemWaiters.length === 0) {
    mm.mmapSemReaders++;
    return;
  }
  // rwsem_down_read_slowpath: steal a lock no one holds unless a writer asked for handoff
  if (!mm.mmapSemWriter && mm.mmapSemHandoff === null && mm.mmapSemReaders === 0) {
    mm.mmapSemReaders++;
    return;
  }
  const w: RwsemWaiter = { write: false, wake: new SimEvent<void>("mmap_sem read"), timeout: 0 };
  mm.mmapSemWaiters.push(w);
  yield* k.sleep_on(cpu, w.wake);
}
export function up_read(k: Kernel, mm: MmStruct): void {
  mm.mmapSemReaders--;
  if (mm.mmapSemReaders === 0) rwsem_wake(k, mm);
}

/** rwsem_try_write_lock for a queued writer (stealing rule). */
function rwsem_try_write_lock(k: Kernel, mm: MmStruct, w: RwsemWaiter): boolean {
  if (mm.mmapSemHandoff !== null && mm.mmapSemHandoff !== w) return false;
  if (mm.mmapSemWriter || mm.mmapSemReaders > 0) {
    if (mm.mmapSemHandoff === null && mm.mmapSemWaiters[0] === w && k.jiffies() > w.timeout)
      mm.mmapSemHandoff = w;
    return false;
  }
  mm.mmapSemWriter = true;
  mm.mmapSemHandoff = null;
  mm.mmapSemWaiters.splice(mm.mmapSemWaiters.indexOf(w), 1);
  return true;
}

/** down_write(&mm->mmap_sem). */
export function* down_write(k: Kernel, cpu: Cpu, mm: MmStruct): Kfn<void> {
  if (!stealing(k)) {
    while (mm.mmapSemWriter || mm.mmapSemReaders !== 0)
      yield spin(k.mmapSemSignal, () => !mm.mmapSemWriter && mm.mmapSemReaders === 0);
    mm.mmapSemWriter = true;
    return;
  }
  if (!mm.mmapSemWriter && mm.mmapSemReaders === 0 && mm.mmapSemWaiters.length === 0) {
    mm.mmapSemWriter = true;
    return;
  }
  const w: RwsemWaiter = {
    write: true,
    wake: new SimEvent<void>("mmap_sem write"),
    timeout: k.jiffies() + rwsemWaitTimeout(k),
  };
  mm.mmapSemWaiters.push(w);
  // rwsem_down_write_slowpath: retry, sleep until woken, retry …
  while (!rwsem_try_write_lock(k, mm, w)) {
    if (w.wake.triggered) w.wake = new SimEvent<void>("mmap_sem write");
    yield* k.sleep_on(cpu, w.wake);
  }
}
/** down_write_trylock (mmap_write_trylock): the lock if nobody holds it or waits for it. */
export function down_write_trylock(mm: MmStruct): boolean {
  if (mm.mmapSemWriter || mm.mmapSemReaders > 0 || mm.mmapSemWaiters.length > 0) return false;
  mm.mmapSemWriter = true;
  return true;
}
export function up_write(k: Kernel, mm: MmStruct): void {
  mm.mmapSemWriter = false;
  rwsem_wake(k, mm);
}
/** downgrade_write: the writer becomes a reader and lets waiting readers in with it. */
export function downgrade_write(k: Kernel, mm: MmStruct): void {
  mm.mmapSemWriter = false;
  mm.mmapSemReaders++;
  if (!stealing(k)) {
    rwsem_wake(k, mm);
    return;
  }
  const q = mm.mmapSemWaiters;
  while (q.length > 0 && !q[0]!.write) {
    mm.mmapSemReaders++;
    q.shift()!.wake.succeed();
  }
}

// ---------------------------------------------------------------- argument checks

function checkAddrRange(
  k: Kernel,
  op: string,
  addr: number,
  length: number,
  align: number,
): { start: number; end: number } {
  const top = taskSize(k.levels);
  if (
    typeof addr !== "number" ||
    !Number.isInteger(addr) ||
    addr % align !== 0 ||
    addr < 0 ||
    addr > top
  )
    throw new ParameterError(
      "addr",
      addr,
      `a multiple of ${align} from 0 to 0x${top.toString(16)} (TASK_SIZE)`,
      op,
    );
  checkInt("length", length, 1, top, op);
  const len = Math.ceil(length / align) * align;
  if (addr + len > top)
    throw new ParameterError(
      "length",
      length,
      `at most 0x${(top - addr).toString(16)} from addr 0x${addr.toString(16)} (TASK_SIZE)`,
      op,
    );
  return { start: addr, end: addr + len };
}

export function insertVma(mm: MmStruct, vma: Vma): void {
  const i = mm.vmas.findIndex((v) => v.start > vma.start);
  if (i < 0) mm.vmas.push(vma);
  else mm.vmas.splice(i, 0, vma);
}

function overlapping(mm: MmStruct, start: number, end: number): Vma | null {
  for (const v of mm.vmas) if (v.start < end && v.end > start) return v;
  return null;
}

/** get_unmapped_area, top-down from mmap_base. */
function getUnmappedArea(k: Kernel, mm: MmStruct, len: number, align: number): number {
  let candidate = alignDown(mm.mmapBase - len, align);
  for (;;) {
    if (candidate < MMAP_MIN_ADDR)
      throw new MmulabError(
        `mmap: no room for 0x${len.toString(16)} bytes in mm ${mm.id} (ENOMEM)`,
      );
    const hit = overlapping(mm, candidate, candidate + len);
    if (!hit) return candidate;
    candidate = alignDown(hit.start - len, align);
  }
}

export interface MmapOptions {
  /** Address; without it the kernel picks one (top-down). */
  readonly addr?: number;
  readonly length: number;
  /** 4K pages, or huge leaves of 2M (pmd) or 1G (pud). Default "4K". */
  readonly pageSize?: VmaPageSize;
  /** With `addr`: "replace" = MAP_FIXED (unmap what overlaps first); default refuses overlap. */
  readonly fixed?: "replace";
  /** MAP_POPULATE: fault every page in now. */
  readonly populate?: boolean;
  readonly name?: string;
}

const MMAP_OPTION_KEYS = ["addr", "length", "pageSize", "fixed", "populate", "name"];

/**
 * The page-table pages that populating `length` bytes of `align`-sized pages can need at most,
 * counted as if none existed yet: at each level below the top whose entries map `align` or more,
 * one table per span of that table the range touches (a range not aligned to a span touches one
 * more). The top-level table is the mm's own.
 */
function tablesToPopulate(levels: number, length: number, align: number): number {
  let tables = 0;
  // bytes one table maps: 2 MiB (pte), 1 GiB (pmd), 512 GiB (pud), 256 TiB (p4d, 5-level)
  for (let level = 1, span = PMD_SIZE; level < levels; level++, span *= 512) {
    if (span / 512 < align) continue; // this level's entries are smaller than the page
    tables += Math.ceil(length / span) + 1;
  }
  return tables;
}

/** mmap(2): creates a VMA (and with populate, faults it in). Returns the start address. */
export function* sys_mmap(k: Kernel, cpu: Cpu, mm: MmStruct, opts: MmapOptions): Kfn<number> {
  checkOptions("opts", opts ?? null, MMAP_OPTION_KEYS, "mmap");
  const pageSize = opts.pageSize ?? "4K";
  // an own key: `in` would take "toString" for a page size (a VMA of [NaN, NaN))
  if (typeof pageSize !== "string" || !Object.hasOwn(VMA_PAGE_BYTES, pageSize))
    throw new ParameterError("pageSize", pageSize, '"4K", "2M" or "1G"', "mmap");
  if (opts.fixed !== undefined && opts.fixed !== "replace")
    throw new ParameterError("fixed", opts.fixed, '"replace" (MAP_FIXED) or nothing', "mmap");
  checkBool("populate", opts.populate, false, "mmap");
  if (opts.name !== undefined && typeof opts.name !== "string")
    throw new ParameterError("name", opts.name, "a string", "mmap");
  const align = VMA_PAGE_BYTES[pageSize];
  checkInt("length", opts.length, 1, taskSize(k.levels), "mmap");
  // MAP_POPULATE faults every page in now: refuse, before any work, a mapping whose pages and
  // page tables need more frames than are free, rather than fault for minutes and then fail.
  if (opts.populate === true) {
    const pages = Math.ceil(opts.length / align);
    const need = pages + tablesToPopulate(k.levels, pages * align, align);
    const free = k.alloc.framesFree;
    if (need > free)
      throw new ParameterError(
        "length",
        opts.length,
        `with populate, at most ${Math.max(0, free - tablesToPopulate(k.levels, free * align, align))} pages of ${pageSize} ` +
          `(${free} of the machine's ${k.alloc.frameLimit} frames are free; ${pages} pages need ${need} with their page tables)`,
        "mmap",
      );
  }
  if (mm.exited) throw new MmulabError(`mmap: mm ${mm.id} has exited`);
  let start: number;
  let end: number;
  if (opts.addr !== undefined) {
    ({ start, end } = checkAddrRange(k, "mmap", opts.addr, opts.length, align));
    if (start < MMAP_MIN_ADDR)
      throw new ParameterError(
        "addr",
        opts.addr,
        `at least mmap_min_addr 0x${MMAP_MIN_ADDR.toString(16)}`,
        "mmap",
      );
    const hit = overlapping(mm, start, end);
    if (hit && opts.fixed !== "replace") throw new MmapOverlapError(mm.id, start, end - start, hit);
  } else {
    start = -1;
    end = -1;
  }
  yield k.machine.costs.syscallNs;
  yield* down_write(k, cpu, mm);
  try {
    if (opts.addr === undefined) {
      const len = Math.ceil(opts.length / align) * align;
      start = getUnmappedArea(k, mm, len, align);
      end = start + len;
    } else if (opts.fixed === "replace") {
      yield* do_munmap(k, cpu, mm, start, end - start);
    }
    insertVma(mm, new Vma(start, end, pageSize, opts.name ?? `anon-${pageSize}`));
  } finally {
    up_write(k, mm);
  }
  if (opts.populate) {
    yield* down_read(k, cpu, mm);
    try {
      for (let a = start; a < end; a += align) yield* handle_mm_fault(k, cpu, mm, a);
    } finally {
      up_read(k, mm);
    }
  }
  return start;
}

/**
 * A user load or store at `addr`: the MMU walks the tables; if the pte is missing, or the store
 * hits a read-only (zero-page) pte, the access faults and the kernel takes mmap_sem for read
 * and runs handle_mm_fault (do_user_addr_fault). Returns whether it faulted.
 */
export function* user_access(
  k: Kernel,
  cpu: Cpu,
  mm: MmStruct,
  addr: number,
  write: boolean,
): Kfn<boolean> {
  if (!accessFaults(k, mm, addr, write)) return false;
  yield* down_read(k, cpu, mm);
  try {
    yield* handle_mm_fault(k, cpu, mm, addr, { write });
  } finally {
    up_read(k, mm);
  }
  return true;
}

/** A user access that faults: takes mmap_sem for read and runs handle_mm_fault. */
export function* sys_touch(k: Kernel, cpu: Cpu, mm: MmStruct, addr: number): Kfn<boolean> {
  yield* down_read(k, cpu, mm);
  try {
    const r = yield* handle_mm_fault(k, cpu, mm, addr);
    return r.mapped;
  } finally {
    up_read(k, mm);
  }
}

/** __split_vma: split the VMA containing addr at addr. */
function splitVma(mm: MmStruct, vma: Vma, addr: number): void {
  const tail = new Vma(
    addr,
    vma.end,
    vma.pageSize,
    vma.name,
    vma.file,
    vma.pgoff + (addr - vma.start) / PAGE_SIZE,
  );
  vma.end = addr;
  insertVma(mm, tail);
  // __vma_link_file: the tail maps the file too
  if (vma.file !== null) vma.file.i_mmap.push({ mm, vma: tail });
}

/** munmap's argument checks (EINVAL cases), done before anything changes. */
function checkMunmap(
  k: Kernel,
  mm: MmStruct,
  addr: number,
  length: number,
): { start: number; end: number } {
  const { start, end } = checkAddrRange(k, "munmap", addr, length, PAGE_SIZE);
  // Huge mappings cannot be split inside a huge page (hugetlbfs returns EINVAL).
  for (const v of mm.vmas) {
    if (v.end <= start || v.start >= end || !v.hugetlb) continue;
    const sz = VMA_PAGE_BYTES[v.pageSize];
    if ((start > v.start && start % sz !== 0) || (end < v.end && end % sz !== 0))
      throw new ParameterError(
        "addr/length",
        `0x${start.toString(16)}+0x${(end - start).toString(16)}`,
        `boundaries aligned to ${v.pageSize} inside the ${v.pageSize} mapping "${v.name}"`,
        "munmap",
      );
  }
  return { start, end };
}

function findLast(vmas: readonly Vma[], pred: (v: Vma) => boolean): Vma | null {
  for (let i = vmas.length - 1; i >= 0; i--) if (pred(vmas[i]!)) return vmas[i]!;
  return null;
}

/**
 * do_munmap (v4.14): split at the edges, detach the VMAs in range, then unmap_region with the
 * neighbours as floor and ceiling. Nothing mapped in range: nothing happens. With `downgrade`
 * (the caller holds mmap_sem for write; v4.20+ munmap) the lock is downgraded to read after the
 * detach; returns whether it was.
 */
export function* do_munmap(
  k: Kernel,
  cpu: Cpu,
  mm: MmStruct,
  addr: number,
  length: number,
  downgrade = false,
): Kfn<boolean> {
  const { start, end } = checkMunmap(k, mm, addr, length);
  if (!overlapping(mm, start, end)) return false;
  const first = mm.vmas.find((v) => v.end > start)!;
  if (first.start < start) splitVma(mm, first, start);
  const last = findLast(mm.vmas, (v) => v.start < end)!;
  if (last.end > end) splitVma(mm, last, end);
  const chain = mm.vmas.filter((v) => v.start >= start && v.end <= end);
  mm.vmas = mm.vmas.filter((v) => !(v.start >= start && v.end <= end));
  const prev = findLast(mm.vmas, (v) => v.end <= start);
  const next = mm.vmas.find((v) => v.start >= end) ?? null;
  if (downgrade) downgrade_write(k, mm);
  yield* unmap_region(k, cpu, mm, chain, prev, next, start, end);
  return downgrade;
}

/** unmap_region (mm/mmap.c v4.14). */
export function* unmap_region(
  k: Kernel,
  cpu: Cpu,
  mm: MmStruct,
  chain: readonly Vma[],
  prev: Vma | null,
  next: Vma | null,
  start: number,
  end: number,
): Kfn<void> {
  const tlb = tlb_gather_mmu(k, cpu, mm, start, end);
  yield* unmap_vmas(k, cpu, tlb, chain, start, end);
  yield* free_pgtables(
    k,
    cpu,
    tlb,
    chain,
    prev ? prev.end : FIRST_USER_ADDRESS,
    next ? next.start : USER_PGTABLES_CEILING,
  );
  yield* tlb_finish_mmu(k, cpu, tlb, start, end);
}

/** munmap(2). */
export function* sys_munmap(
  k: Kernel,
  cpu: Cpu,
  mm: MmStruct,
  addr: number,
  length: number,
): Kfn<void> {
  checkMunmap(k, mm, addr, length);
  yield k.machine.costs.syscallNs;
  yield* down_write(k, cpu, mm);
  let downgraded = false;
  try {
    const span = k.sim.trace.begin(
      cpu.id,
      "syscalls:sys_munmap",
      k.sim.trace.enabled ? { mm: mm.id, addr: `0x${addr.toString(16)}`, len: length } : undefined,
    );
    downgraded = yield* do_munmap(k, cpu, mm, addr, length, k.behaviour.munmapDowngrade ?? false);
    k.sim.trace.end(span);
  } finally {
    if (downgraded) up_read(k, mm);
    else up_write(k, mm);
  }
}

/** madvise(MADV_DONTNEED) (v4.14: zap_page_range): unmap the pages, keep VMAs and tables. */
export function* sys_madvise_dontneed(
  k: Kernel,
  cpu: Cpu,
  mm: MmStruct,
  addr: number,
  length: number,
): Kfn<void> {
  const { start, end } = checkAddrRange(k, "madvise", addr, length, PAGE_SIZE);
  yield k.machine.costs.syscallNs;
  yield* down_read(k, cpu, mm);
  try {
    const chain: Vma[] = [];
    for (let i = mm.find_vma_index(start); i < mm.vmas.length; i++) {
      const v = mm.vmas[i]!;
      if (v.start >= end) break;
      chain.push(v);
    }
    if (chain.some((v) => v.hugetlb))
      throw new ParameterError(
        "addr",
        addr,
        "a range without huge mappings (MADV_DONTNEED on hugetlb is EINVAL in v4.14)",
        "madvise",
      );
    const tlb = tlb_gather_mmu(k, cpu, mm, start, end);
    yield* unmap_vmas(k, cpu, tlb, chain, start, end);
    // v6.14 PT_RECLAIM: zap_details.reclaim_pt — empty pte tables go too
    if (k.behaviour.ptReclaim === true)
      for (const v of chain)
        yield* reclaim_pte_tables(k, cpu, tlb, mm, Math.max(start, v.start), Math.min(end, v.end));
    yield* tlb_finish_mmu(k, cpu, tlb, start, end);
  } finally {
    up_read(k, mm);
  }
}

/** exit_mmap (v4.14): fullmm gather over everything; mm_users is already 0 here. */
export function* exit_mmap(k: Kernel, cpu: Cpu, mm: MmStruct): Kfn<void> {
  // arch_exit_mmap (Xen PV: xen_exit_mmap unpins the tables, so the teardown's writes are
  // plain stores)
  if (k.arch?.arch_exit_mmap !== undefined) yield* k.arch.arch_exit_mmap(cpu, mm);
  const chain = mm.vmas;
  const tlb = tlb_gather_mmu(k, cpu, mm, 0, TLB_FLUSH_ALL);
  yield* unmap_vmas(k, cpu, tlb, chain, 0, TLB_FLUSH_ALL);
  yield* free_pgtables(k, cpu, tlb, chain, FIRST_USER_ADDRESS, USER_PGTABLES_CEILING);
  yield* tlb_finish_mmu(k, cpu, tlb, 0, TLB_FLUSH_ALL);
  mm.vmas = [];
  mm.exited = true;
}

/** mmget: another user (a thread, or use_mm). */
export function mmget(mm: MmStruct): void {
  if (mm.exited) throw new MmulabError(`mmget: mm ${mm.id} has exited`);
  mm.mm_users++;
}

/** mmgrab: a reference to the struct only (lazy TLB). */
export function mmgrab(mm: MmStruct): void {
  mm.mm_count++;
}

/** mmput: drop a user; the last one tears the address space down and drops the struct ref. */
export function* mmput(k: Kernel, cpu: Cpu, mm: MmStruct): Kfn<void> {
  if (mm.mm_users <= 0)
    throw new ParameterError(
      "mm_users",
      mm.mm_users,
      "at least 1 (unbalanced mmput)",
      `mm ${mm.id}`,
    );
  if (--mm.mm_users === 0) {
    yield* exit_mmap(k, cpu, mm);
    mmdrop(k, mm);
  }
}

/** mmdrop: the last struct reference frees the pgd (pgd_free in __mmdrop). */
export function mmdrop(k: Kernel, mm: MmStruct): void {
  if (mm.mm_count <= 0)
    throw new ParameterError(
      "mm_count",
      mm.mm_count,
      "at least 1 (unbalanced mmdrop)",
      `mm ${mm.id}`,
    );
  if (--mm.mm_count === 0) {
    k.arch?.destroy_context?.(mm);
    k.alloc.freePage(mm.pgd, "pgd_free");
    mm.dropped = true;
    if (!k.keepDroppedMms) k.mms.delete(mm.id);
  }
}

/** Finds or builds the pte table for addr (no data page): move_page_tables' alloc_new_pmd. */
export function ptePath(k: Kernel, mm: MmStruct, addr: number, create: boolean): number {
  let table = mm.pgd;
  const levels = tableLevels(k.levels);
  for (let li = 0; li < levels.length - 1; li++) {
    const level = levels[li]!;
    const idx = tableIndex(addr, level, k.levels);
    const e = decodeEntry(k.pt.entry(table, idx), level);
    if (e.kind === "table") {
      table = e.pfn;
      continue;
    }
    if (!create || e.kind === "leaf") return -1;
    const childLevel = levels[li + 1]!;
    const child = k.pt.allocTable(childLevel, mm.id, "GFP_KERNEL", "move_page_tables");
    k.pt.setTable(table, idx, child);
    paravirt_alloc_queue(k, mm, child, childLevel);
    mm.accountTable(childLevel, 1);
    table = child;
  }
  return table;
}

export interface ExecOptions {
  /** Pages of arguments and environment copied onto the new stack (copy_strings). Default 2. */
  readonly argPages?: number;
  /** Stack randomisation shift in bytes (page-aligned); default: drawn like randomize_stack_top
   * (up to 16 GiB on x86-64) from the simulation's RNG. */
  readonly stackShift?: number;
}

/**
 * execve's address-space part, in the kernel's order (fs/exec.c, v4.14 and v6.1): a new mm with
 * a temporary stack at the top (bprm_mm_init), argument pages faulted in (copy_strings); then
 * exec_mmap switches the CPU to the new mm and releases the old one with mmput; then
 * setup_arg_pages → shift_arg_pages moves the stack down by the randomisation offset
 * (move_page_tables) and frees the old range's tables with free_pgd_range through an
 * mmu_gather — with the new mm loaded, so its flushes are local ones. Returns the new mm.
 */
export function* do_execve(
  k: Kernel,
  cpu: Cpu,
  oldMm: MmStruct | null,
  opts: ExecOptions = {},
): Kfn<MmStruct> {
  const argPages = checkInt("argPages", opts.argPages ?? 2, 1, 512, "do_execve");
  const shift =
    opts.stackShift !== undefined
      ? checkInt("stackShift", opts.stackShift, 0, 2 ** 34, "do_execve")
      : k.sim.rng.int(0, 0x3fffff) * PAGE_SIZE;
  if (shift % PAGE_SIZE !== 0)
    throw new ParameterError("stackShift", shift, "a multiple of 4096", "do_execve");
  const mm = k.mm_alloc();
  const top = taskSize(k.levels);
  const stack = new Vma(top - argPages * PAGE_SIZE, top, "4K", "[stack]");
  mm.vmas = [stack];
  yield k.machine.costs.syscallNs;
  for (let a = stack.start; a < stack.end; a += PAGE_SIZE) yield* handle_mm_fault(k, cpu, mm, a);
  // exec_mmap: activate_mm (Xen PV: xen_pgd_pin) and switch to the new mm, release the old one.
  if (k.arch?.activate_mm !== undefined) yield* k.arch.activate_mm(cpu, mm);
  k.archOps.switch_mm(cpu, mm);
  mm.cpumask.add(cpu.id);
  if (oldMm !== null) yield* mmput(k, cpu, oldMm);
  if (shift > 0) yield* shift_arg_pages(k, cpu, mm, stack, shift);
  return mm;
}

/**
 * shift_arg_pages (fs/exec.c; the same in v4.14 and v6.1): widen the stack VMA over both
 * ranges, move_page_tables down by `shift` — extent by extent upwards, each move_ptes that moved
 * a present pte flushing the old range (flush_tlb_range) — then free the old range's tables with
 * free_pgd_range through an mmu_gather, and shrink the VMA to the new range.
 */
function* shift_arg_pages(k: Kernel, cpu: Cpu, mm: MmStruct, vma: Vma, shift: number): Kfn<void> {
  const oldStart = vma.start;
  const oldEnd = vma.end;
  const length = oldEnd - oldStart;
  const newStart = oldStart - shift;
  const newEnd = oldEnd - shift;
  // vma_adjust(vma, new_start, old_end): the VMA covers both ranges while the pages move.
  vma.start = newStart;
  // move_page_tables: extents end at the next PMD boundary of the source or the destination
  for (let off = 0; off < length;) {
    const oldAddr = oldStart + off;
    const newAddr = newStart + off;
    const extent = Math.min(
      length - off,
      alignDown(oldAddr, PMD_SIZE) + PMD_SIZE - oldAddr,
      alignDown(newAddr, PMD_SIZE) + PMD_SIZE - newAddr,
    );
    // move_ptes
    let moved = 0;
    for (let o = 0; o < extent; o += PAGE_SIZE) {
      const from = ptePath(k, mm, oldAddr + o, false);
      if (from < 0) continue;
      const fi = tableIndex(oldAddr + o, "pte", k.levels);
      if (k.pt.entry(from, fi) === 0) continue;
      const to = ptePath(k, mm, newAddr + o, true);
      k.pt.move(from, fi, to, tableIndex(newAddr + o, "pte", k.levels));
      moved++;
    }
    const pv = paravirt_alloc_take(k);
    yield Math.ceil(extent / PAGE_SIZE) * k.machine.costs.zapPteNs;
    yield* paravirt_alloc_run(k, cpu, pv);
    if (moved > 0) yield* k.archOps.flush_tlb_range(cpu, mm, oldAddr, oldAddr + extent, PAGE_SHIFT);
    off += extent;
  }
  const tlb = tlb_gather_mmu(k, cpu, mm, oldStart, oldEnd);
  const next = mm.vmas.find((v) => v.start >= oldEnd) ?? null;
  const ceiling = next ? next.start : USER_PGTABLES_CEILING;
  if (newEnd > oldStart) yield* free_pgd_range(k, cpu, tlb, newEnd, oldEnd, newEnd, ceiling);
  else yield* free_pgd_range(k, cpu, tlb, oldStart, oldEnd, newEnd, ceiling);
  yield* tlb_finish_mmu(k, cpu, tlb, oldStart, oldEnd);
  vma.end = newEnd;
}
