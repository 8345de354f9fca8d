/**
 * pte_offset_map() and its users (include/linux/pgtable.h, mm/pgtable-generic.c at v6.6:
 * a349d72fd9ef "mm/pgtable: add rcu_read_lock() and rcu_read_unlock()s", 146b42e07494 "mm/pgtable:
 * add PAE safety to __pte_offset_map()"; mm/memory.c handle_pte_fault / do_anonymous_page and
 * mm/mincore.c mincore_pte_range at v6.6).
 *
 * From v6.6 a pte table may be freed while its mm's mmap lock is held for reading, or not held
 * at all (khugepaged's lockless retract_page_tables, PT_RECLAIM in v6.14). So every walker that
 * maps a pte table reads the pmd locklessly inside rcu_read_lock() — with interrupts on — and,
 * if it needs the table's lock, takes it and re-checks that the pmd still points to the same
 * table (pmd_same), retrying from the pmd when it does not:
 *
 *   __pte_offset_map:      rcu_read_lock(); pmdval = pmdp_get_lockless(pmd); none or huge →
 *                          rcu_read_unlock(), NULL; else the table pmdval points to.
 *   pte_offset_map_nolock: the same, and the table's ptl (split ptlocks: in its own ptdesc).
 *   pte_offset_map_lock:   again: __pte_offset_map; spin_lock(ptl); pmd_same(pmdval, *pmd) or
 *                          unlock and goto again.
 *   pte_unmap:             rcu_read_unlock().
 *
 * This walker is the `software-rcu` reader of the oracle. Nothing but a grace period holds the
 * table for it: an IPI is taken at once (interrupts are on) and waits for nothing, which is why
 * the tables it can reach are freed by call_rcu (pte_free_defer, PT_RECLAIM's RCU free).
 *
 * The ptl lives in the table's ptdesc, so taking it is a write to the table's frame: the oracle
 * checks it like a read of the table. Lock contention on the ptl is not modelled here (the
 * paths that race here meet in the pmd, not in the ptl; mm/shmem.ts's ptl_lock, which the §4 and
 * §8 paths take, is the place to join if they should contend).
 */
import type { Cpu } from "../hw/cpu.js";
import { KernelStateError } from "../sim/errors.js";
import type { Kfn } from "../sim/process.js";
import { paravirt_alloc_run, paravirt_alloc_take, type Kernel } from "./kernel.js";
import { faultIn } from "./memory.js";
import { down_read, up_read } from "./mmap.js";
import type { MmStruct } from "./mm-struct.js";
import {
  alignDown,
  indexAt,
  levelSpans,
  PAGE_SIZE,
  PMD_SIZE,
  tableLevels,
  type TablePtr,
} from "./pgtable.js";

/** Where a pmd entry lives: the pmd table's frame and the entry's index. */
export interface PmdSlot {
  readonly table: number;
  readonly index: number;
}

/** A pte table mapped by __pte_offset_map, and the pmd value it was reached through. */
export interface PteMapped {
  readonly pte: TablePtr;
  readonly pmdval: number;
}

export interface PteWalkOptions {
  /** Name the oracle reports the walker by. */
  readonly walker?: string;
  /**
   * Time the walker spends between reading the pmd and using the table, ns: a softirq run on
   * interrupt exit (interrupts on, so an IPI gets in), or any other delay inside the RCU
   * read-side section. Default 0.
   */
  readonly holdNs?: number;
}

/** Statistics of the RCU pte walkers of one kernel. */
export interface PteWalkStats {
  /** pte_offset_map_lock retries (pmd_same failed). */
  retries: number;
  /** __pte_offset_map that found no table (pmd none or huge). */
  nomap: number;
}

const STATS = new WeakMap<Kernel, PteWalkStats>();

/** The RCU pte walkers' statistics on `k`. */
export function pteWalkStats(k: Kernel): PteWalkStats {
  let s = STATS.get(k);
  if (s === undefined) STATS.set(k, (s = { retries: 0, nomap: 0 }));
  return s;
}

/**
 * The pmd entry that maps `addr` (pgd → … → pmd_offset), or null when an upper level is empty.
 * The upper levels are stable under the mmap lock, which every caller here holds for reading
 * (or, for khugepaged, the file's i_mmap lock): read plainly, not through the oracle.
 */
export function pmd_slot(k: Kernel, mm: MmStruct, addr: number): PmdSlot | null {
  const levels = tableLevels(k.levels);
  const spans = levelSpans(k.levels);
  let table = mm.pgd;
  for (let li = 0; levels[li] !== "pmd"; li++) {
    const raw = k.pt.entry(table, indexAt(addr, spans[li]!));
    if (raw <= 0) return null;
    table = raw - 1;
  }
  return { table, index: indexAt(addr, PMD_SIZE) };
}

function rcuRead(k: Kernel): { lock(cpu: Cpu): void; unlock(cpu: Cpu): void } {
  const r = k.rcuOps;
  if (r.rcu_read_lock === undefined || r.rcu_read_unlock === undefined)
    throw new KernelStateError(
      "pte_offset_map",
      "the RCU installed has no rcu_read_lock(): the v6.6+ pte walkers need one",
    );
  return { lock: (c) => r.rcu_read_lock!(c), unlock: (c) => r.rcu_read_unlock!(c) };
}

/** __pte_offset_map: rcu_read_lock, pmdp_get_lockless; NULL (and rcu_read_unlock) when the pmd
 * is none or a huge leaf. */
export function* __pte_offset_map(k: Kernel, cpu: Cpu, slot: PmdSlot): Kfn<PteMapped | null> {
  const rcu = rcuRead(k);
  rcu.lock(cpu);
  yield k.machine.costs.pteReadNs;
  const pmdval = k.pt.entry(slot.table, slot.index);
  if (pmdval <= 0) {
    rcu.unlock(cpu);
    pteWalkStats(k).nomap++;
    return null;
  }
  // pmd_pgtable(pmdval): whatever frame the entry names — normally a pte table
  const pfn = pmdval - 1;
  return { pte: { pfn, gen: k.alloc.generation(pfn) }, pmdval };
}

/** pte_unmap: leaves the RCU read-side section __pte_offset_map entered. */
export function pte_unmap(k: Kernel, cpu: Cpu): void {
  rcuRead(k).unlock(cpu);
}

/** ptep_get / ptep_get_lockless: one entry of the mapped table, checked by the oracle. Returns
 * the raw entry, or null when the read was bad (what follows would be garbage). */
export function ptep_get(
  k: Kernel,
  cpu: Cpu,
  mm: MmStruct,
  m: PteMapped,
  addr: number,
  walker: string,
): number | null {
  if (!checkPteAccess(k, cpu, mm, m, addr, walker)) return null;
  return k.pt.entry(m.pte.pfn, indexAt(addr, PAGE_SIZE));
}

/** The oracle's check of an access to the mapped table's frame by an RCU pte walker. */
function checkPteAccess(
  k: Kernel,
  cpu: Cpu,
  mm: MmStruct,
  m: PteMapped,
  addr: number,
  walker: string,
): boolean {
  const index = indexAt(addr, PAGE_SIZE);
  return k.oracle.checkTableRead(cpu.id, walker, "software-rcu", m.pte, addr, "pte", mm.id, index);
}

/** spin_lock(pte_lockptr(mm, &pmdval)): the ptl in the table's ptdesc — a write to its frame. */
function* spin_lock_ptl(
  k: Kernel,
  cpu: Cpu,
  mm: MmStruct,
  m: PteMapped,
  addr: number,
  walker: string,
): Kfn<boolean> {
  yield k.machine.costs.pteReadNs;
  return checkPteAccess(k, cpu, mm, m, addr, `${walker} spin_lock(ptl)`);
}

/**
 * __pte_offset_map_lock: map, lock the table's ptl, and retry from the pmd until the pmd still
 * holds the value the table was reached through. Returns the locked table, or null when the
 * pmd is none (or the ptl read was bad: the oracle has reported it). `holdNs` is spent once,
 * between mapping and locking.
 */
export function* pte_offset_map_lock(
  k: Kernel,
  cpu: Cpu,
  mm: MmStruct,
  slot: PmdSlot,
  addr: number,
  opts: PteWalkOptions = {},
): Kfn<PteMapped | null> {
  const walker = opts.walker ?? "pte_offset_map_lock";
  let hold = opts.holdNs ?? 0;
  for (;;) {
    const m = yield* __pte_offset_map(k, cpu, slot);
    if (m === null) return null;
    if (hold > 0) {
      yield hold;
      hold = 0;
    }
    if (!(yield* spin_lock_ptl(k, cpu, mm, m, addr, walker))) {
      pte_unmap(k, cpu);
      return null;
    }
    // pmd_same(pmdval, pmdp_get_lockless(pmd))
    if (k.pt.entry(slot.table, slot.index) === m.pmdval) return m;
    pteWalkStats(k).retries++;
    pte_unmap(k, cpu);
  }
}

export interface FaultRcuResult {
  /** The fault mapped a page. */
  readonly mapped: boolean;
  /** Times the fault was retried from the pmd (the CPU re-faults on return to user space). */
  readonly refaults: number;
}

/**
 * handle_pte_fault → do_anonymous_page for a missing 4 KiB page (mm/memory.c v6.6), under the
 * mmap lock for reading: pte_offset_map_nolock, read the pte (ptep_get_lockless), pte_unmap; no
 * table → pte_alloc; then pte_offset_map_lock (pmd_same re-check), pte_none re-check,
 * set_pte_at, unlock. A NULL from pte_offset_map_lock returns, and the access faults again.
 */
export function* handle_pte_fault_rcu(
  k: Kernel,
  cpu: Cpu,
  mm: MmStruct,
  addr: number,
  opts: PteWalkOptions = {},
): Kfn<FaultRcuResult> {
  addr = alignDown(addr, PAGE_SIZE);
  const walker = opts.walker ?? "handle_pte_fault";
  let hold = opts.holdNs ?? 0;
  yield* down_read(k, cpu, mm);
  try {
    for (let refaults = 0; refaults < 4; refaults++) {
      k.stats.faults++;
      yield k.machine.costs.faultBaseNs;
      const slot = pmd_slot(k, mm, addr);
      const m = slot === null ? null : yield* __pte_offset_map(k, cpu, slot);
      if (m !== null) {
        // pte_offset_map_nolock, then vmf->orig_pte = ptep_get_lockless(vmf->pte)
        if (hold > 0) {
          yield hold;
          hold = 0;
        }
        yield k.machine.costs.pteReadNs;
        const orig = ptep_get(k, cpu, mm, m, addr, walker);
        pte_unmap(k, cpu);
        if (orig === null) return { mapped: false, refaults };
        if (orig !== 0) return { mapped: false, refaults }; // present: nothing to do here
      }
      // do_anonymous_page: pte_alloc if the pmd is none (the upper levels too, as
      // __handle_mm_fault allocates them)
      if (slot === null || k.pt.entry(slot.table, slot.index) === 0) {
        const r = faultIn(k, mm, addr, { write: true });
        const pv = paravirt_alloc_take(k);
        yield k.machine.jitter(r.costNs);
        yield* paravirt_alloc_run(k, cpu, pv);
        return { mapped: r.mapped, refaults };
      }
      const locked = yield* pte_offset_map_lock(k, cpu, mm, slot, addr, { walker });
      if (locked === null) continue; // the pmd changed under us: return and fault again
      yield k.machine.costs.pteReadNs;
      const now = ptep_get(k, cpu, mm, locked, addr, walker);
      if (now !== 0) {
        pte_unmap(k, cpu);
        return { mapped: false, refaults };
      }
      const data = k.pt.allocData(mm.id, `cpu${cpu.id} do_anonymous_page`);
      k.pt.setLeaf(locked.pte.pfn, indexAt(addr, PAGE_SIZE), data);
      mm.rss++;
      yield k.machine.jitter(k.machine.costs.pageAllocNs);
      pte_unmap(k, cpu); // pte_unmap_unlock
      return { mapped: true, refaults };
    }
    return { mapped: false, refaults: 4 };
  } finally {
    up_read(k, mm);
  }
}

export interface MincoreResult {
  /** One flag per page: resident (pte present). */
  readonly vec: readonly boolean[];
  /** ACTION_AGAIN: the walk went back to the pmd because pte_offset_map_lock found none. */
  readonly again: number;
}

/**
 * mincore(2) over pages of one pte table (mm/mincore.c v6.6): under the mmap lock for reading,
 * walk_page_range → mincore_pte_range: pte_offset_map_lock; NULL → ACTION_AGAIN (the pmd is
 * looked at again: none now, so the range is reported not resident); else each pte read under
 * the ptl; pte_unmap_unlock.
 */
export function* sys_mincore(
  k: Kernel,
  cpu: Cpu,
  mm: MmStruct,
  addr: number,
  nrPages: number,
  opts: PteWalkOptions = {},
): Kfn<MincoreResult> {
  addr = alignDown(addr, PAGE_SIZE);
  if (alignDown(addr, PMD_SIZE) !== alignDown(addr + (nrPages - 1) * PAGE_SIZE, PMD_SIZE))
    throw new KernelStateError("mincore", "the model's mincore covers pages of one pte table");
  const walker = opts.walker ?? "mincore_pte_range";
  const vec: boolean[] = [];
  let again = 0;
  yield k.machine.costs.syscallNs;
  yield* down_read(k, cpu, mm);
  try {
    const slot = pmd_slot(k, mm, addr);
    const m =
      slot === null
        ? null
        : yield* pte_offset_map_lock(k, cpu, mm, slot, addr, {
            walker,
            ...(opts.holdNs === undefined ? {} : { holdNs: opts.holdNs }),
          });
    if (m === null) {
      if (slot !== null) again++;
      for (let i = 0; i < nrPages; i++) vec.push(false);
      return { vec, again };
    }
    for (let i = 0; i < nrPages; i++) {
      const a = addr + i * PAGE_SIZE;
      yield k.machine.costs.pteReadNs;
      const raw = ptep_get(k, cpu, mm, m, a, walker);
      vec.push(raw !== null && raw > 0);
    }
    pte_unmap(k, cpu); // pte_unmap_unlock
    return { vec, again };
  } finally {
    up_read(k, mm);
  }
}
