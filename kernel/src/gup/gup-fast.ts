/**
 * get_user_pages_fast / __get_user_pages_fast (mm/gup.c, HAVE_GENERIC_GUP, x86 since v4.13).
 *
 * The walker takes no lock: it disables interrupts and reads pgd → p4d → pud → pmd → pte with
 * READ_ONCE, pins each page with page_cache_get_speculative (get_page_unless_zero) and re-reads
 * the pte to make sure it did not change under it. Interrupts off is its whole protection: it
 * blocks the freeing CPU's flush IPI (native x86) and the RCU-sched grace period (RCU table
 * free), so no table it can still reach is freed — unless the flush is a hypercall and tables
 * are not RCU-freed, which is the race of the seed patch. Each level's read is one timed step,
 * checked by the use-after-free oracle.
 *
 * A page the fast walk could not pin goes to the slow path, get_user_pages_unlocked, which takes
 * mmap_sem and faults it in.
 */
import type { Cpu } from "../hw/cpu.js";
import {
  local_irq_disable,
  local_irq_enable,
  local_irq_restore,
  local_irq_save,
} from "../hw/irqflags.js";
import type { Kernel } from "../mm/kernel.js";
import { handle_mm_fault, SegvError } from "../mm/memory.js";
import type { MmStruct } from "../mm/mm-struct.js";
import { down_read, mmdrop, up_read } from "../mm/mmap.js";
import { FrameState, type TableLevel } from "../mm/page-alloc.js";
import {
  alignDown,
  levelShift,
  PAGE_SIZE,
  tableIndex,
  taskSize,
  type TablePtr,
} from "../mm/pgtable.js";
import { pgdPtr, walkStep } from "../mm/walk.js";
import { checkInt } from "../sim/errors.js";
import type { Kfn } from "../sim/process.js";

export interface GupResult {
  /** Pages pinned by the lockless walk. */
  readonly fast: number;
  /** Pages the slow path had to get (faulted in). */
  readonly slow: number;
  /** Use-after-free reads during this call (also in kernel.oracle.reports). */
  readonly uaf: number;
  /** Frames the walk of the first page visited, top down (for the tree view). */
  readonly path: readonly number[];
}

export interface GupCosts {
  /** Per-page pin and re-check (page_cache_get_speculative + pte re-read). Default 20 ns
   * (costs.md §1f: 20–50 ns per page). */
  readonly pinNs: number;
}

const DEFAULT_GUP: GupCosts = { pinNs: 20 };

export interface GupOptions {
  /** Name the oracle reports the walker by. */
  readonly walker?: string;
  readonly costs?: GupCosts;
  /** "speculative" (generic gup, v4.13+) or "get_page" (x86 gup before v4.13). */
  readonly pin?: "speculative" | "get_page";
}

interface WalkCtx {
  readonly k: Kernel;
  readonly cpu: Cpu;
  /** The mm walked (for the oracle's check of tables shared between mms). */
  readonly mm: number;
  readonly walker: string;
  readonly costs: GupCosts;
  readonly pinKind: "speculative" | "get_page";
  nr: number;
  readonly path: number[];
}

/**
 * Takes a reference on the page a pte pointed to. Generic gup (v4.13+) uses
 * page_cache_get_speculative (get_page_unless_zero): a page freed meanwhile has refcount zero
 * and the pin fails harmlessly, and a page already reused is released again by the pte re-check
 * — so it is not a use-after-free. The pre-v4.13 x86 gup took a plain get_page, which on a
 * freed page is one (the 2019 stable race fixed by Vlastimil Babka): `pin: "get_page"` models it
 * and the oracle reports it.
 */
function pin(c: WalkCtx, page: TablePtr, addr: number): boolean {
  const { k } = c;
  if (c.pinKind === "get_page") return k.oracle.checkPin(c.cpu.id, c.walker, page, addr);
  const alive =
    k.alloc.generation(page.pfn) === page.gen && k.alloc.stateOf(page.pfn) === FrameState.DATA;
  if (!alive) k.stats.speculativePinFailures++;
  return alive;
}

/**
 * gup_pte_range: one pte table, read through the pointer taken from the pmd entry for every
 * page in [addr, end) — the window in which the table can be freed under the walker.
 */
function* gup_pte_range(c: WalkCtx, ptr: TablePtr, addr: number, end: number): Kfn<boolean> {
  const { k } = c;
  const step = k.machine.costs.pteReadNs;
  for (; addr < end; addr += PAGE_SIZE) {
    yield step;
    // pte = gup_get_pte(ptep): READ_ONCE, checked by the oracle
    const s = walkStep(k, c.cpu.id, c.walker, ptr, "pte", addr);
    if (s.next.kind !== "page") return false;
    const page = s.next;
    yield c.costs.pinNs;
    if (!pin(c, page, addr)) return false;
    // re-check: if (pte_val(pte) != pte_val(*ptep)) put_page, fail — another read of the table
    const again = walkStep(k, c.cpu.id, c.walker, ptr, "pte", addr);
    if (again.next.kind !== "page" || again.next.pfn !== page.pfn) return false;
    c.nr++;
  }
  return true;
}

/**
 * Once page tables are shared between mms (hugetlb PMD sharing), a live table reached through
 * an entry the walker read earlier may have become another mm's: the oracle checks the walker's
 * mm against the table's sharers (a foreign-table read ends the walk). Skipped while nothing is
 * shared, and for a freed table, which walkStep's own check reports.
 */
function sharedTableReadOk(c: WalkCtx, ptr: TablePtr, level: TableLevel, addr: number): boolean {
  const o = c.k.oracle;
  if (o.sharers.size === 0 || !o.valid(ptr)) return true;
  return o.checkTableRead(
    c.cpu.id,
    c.walker,
    "software",
    ptr,
    addr,
    level,
    c.mm,
    tableIndex(addr, level, c.k.levels),
  );
}

/** gup_pgd_range → gup_p4d_range → gup_pud_range → gup_pmd_range: one READ_ONCE of the entry
 * per table-sized chunk, then down a level (or a huge leaf pinned whole). */
function* gup_level(
  c: WalkCtx,
  ptr: TablePtr,
  level: TableLevel,
  addr: number,
  end: number,
  first: boolean,
): Kfn<boolean> {
  const { k } = c;
  if (first) c.path.push(ptr.pfn);
  if (level === "pte") return yield* gup_pte_range(c, ptr, addr, end);
  const size = 2 ** levelShift(level, k.levels);
  while (addr < end) {
    const next = Math.min(alignDown(addr, size) + size, end);
    yield k.machine.costs.pteReadNs;
    if (!sharedTableReadOk(c, ptr, level, addr)) return false;
    const s = walkStep(k, c.cpu.id, c.walker, ptr, level, addr);
    if (s.next.kind === "none") return false;
    if (s.next.kind === "page") {
      // gup_huge_pmd / gup_huge_pud: pin the compound page once for the whole chunk
      yield c.costs.pinNs;
      if (!pin(c, s.next, addr)) return false;
      c.nr += (next - addr) / PAGE_SIZE;
    } else if (!(yield* gup_level(c, s.next.ptr, s.next.level, addr, next, first))) return false;
    first = false;
    addr = next;
  }
  return true;
}

/** The IRQ-off part: gup_pgd_range over [start, start + nrPages pages). */
function* gup_pgd_range(
  k: Kernel,
  cpu: Cpu,
  mm: MmStruct,
  start: number,
  nrPages: number,
  walker: string,
  costs: GupCosts,
  pinKind: "speculative" | "get_page",
): Kfn<{ nr: number; uaf: number; path: number[] }> {
  const reportsBefore = k.oracle.reports.length;
  const c: WalkCtx = { k, cpu, mm: mm.id, walker, costs, pinKind, nr: 0, path: [] };
  yield* gup_level(c, pgdPtr(k, mm), "pgd", start, start + nrPages * PAGE_SIZE, true);
  return { nr: c.nr, uaf: k.oracle.reports.length - reportsBefore, path: c.path };
}

function checkRange(k: Kernel, start: number, nrPages: number, op: string): number {
  checkInt("nrPages", nrPages, 1, 1 << 20, op);
  checkInt("start", start, 0, taskSize(k.levels), op);
  return alignDown(start, PAGE_SIZE);
}

/**
 * get_user_pages_fast (v4.14): local_irq_disable, walk, local_irq_enable; what the fast walk
 * could not pin goes through the slow path (mmap_sem, handle_mm_fault).
 */
export function* get_user_pages_fast(
  k: Kernel,
  cpu: Cpu,
  mm: MmStruct,
  start: number,
  nrPages: number,
  opts: GupOptions = {},
): Kfn<GupResult> {
  start = checkRange(k, start, nrPages, "get_user_pages_fast");
  const sim = k.sim;
  const walker = opts.walker ?? "gup_fast";
  local_irq_disable(cpu);
  const span = sim.trace.begin(cpu.id, "mmulab:gup_fast", { pages: nrPages, mm: mm.id });
  const r = yield* gup_pgd_range(
    k,
    cpu,
    mm,
    start,
    nrPages,
    walker,
    opts.costs ?? DEFAULT_GUP,
    opts.pin ?? "speculative",
  );
  sim.trace.end(span, { pinned: r.nr });
  yield* local_irq_enable(cpu);
  let slow = 0;
  if (r.nr < nrPages) {
    // get_user_pages_unlocked: fault in the rest under mmap_sem
    yield* down_read(k, cpu, mm);
    try {
      for (let i = r.nr; i < nrPages; i++) {
        try {
          yield* handle_mm_fault(k, cpu, mm, start + i * PAGE_SIZE);
          slow++;
        } catch (e) {
          if (e instanceof SegvError) break; // -EFAULT: return what we have
          throw e;
        }
      }
    } finally {
      up_read(k, mm);
    }
  }
  return { fast: r.nr, slow, uaf: r.uaf, path: r.path };
}

/** __get_user_pages_fast (v4.14): local_irq_save/restore, never the slow path (callable from
 * atomic context). */
export function* __get_user_pages_fast(
  k: Kernel,
  cpu: Cpu,
  mm: MmStruct,
  start: number,
  nrPages: number,
  opts: GupOptions = {},
): Kfn<GupResult> {
  start = checkRange(k, start, nrPages, "__get_user_pages_fast");
  const flags = local_irq_save(cpu);
  const span = k.sim.trace.begin(cpu.id, "mmulab:gup_fast", { pages: nrPages, mm: mm.id });
  const r = yield* gup_pgd_range(
    k,
    cpu,
    mm,
    start,
    nrPages,
    opts.walker ?? "__gup_fast",
    opts.costs ?? DEFAULT_GUP,
    opts.pin ?? "speculative",
  );
  k.sim.trace.end(span, { pinned: r.nr });
  yield* local_irq_restore(cpu, flags);
  return { fast: r.nr, slow: 0, uaf: r.uaf, path: r.path };
}

/**
 * use_mm (mm/mmu_context.c, v4.14): a kernel thread adopts `mm` as its address space, so it can
 * call gup_fast on it. It takes a reference on the struct (mmgrab) but not a user (mm_users):
 * the v4.14 tlb_remove_table shortcut (mm_users < 2) does not see it.
 */
export function use_mm(k: Kernel, cpu: Cpu, mm: MmStruct): void {
  mm.mm_count++;
  k.archOps.switch_mm(cpu, mm);
}

/** unuse_mm: back to the kernel's own address space; drops the struct reference. */
export function unuse_mm(k: Kernel, cpu: Cpu, mm: MmStruct): void {
  k.archOps.switch_mm(cpu, null);
  mmdrop(k, mm);
}
