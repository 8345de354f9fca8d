/**
 * The x86 MMU's own page walker and what software does to its caches (Intel SDM vol. 3A
 * §4.10.2–4.10.4; reference/hardware-and-hypervisors.md §1).
 *
 * Every CPU whose CR3 holds a user mm — running one of its threads, or lazily a kernel thread
 * after one (enter_lazy_tlb keeps CR3) — walks that mm's tables by itself: on a TLB miss of the
 * program's own accesses, and speculatively, for accesses "that would never actually occur in the
 * executed code path" (§4.10.2.3). A walk starts from the deepest matching paging-structure-cache
 * entry of the current PCID, not from CR3, and does not re-read the entries above it (§4.10.3.2):
 * that is how a CPU reads a page table that software has already unlinked, until it invalidates.
 * Reading one that has been freed — and, with the page allocator's LIFO reuse, is usually
 * something else by then — is what the kernel's rules forbid: the walker may cache a garbage
 * translation or set accessed/dirty bits in another owner's page. The oracle reports such a read
 * as reader `hw-walker` with the cached entry the walk came through, and a program access that
 * hits a TLB entry whose frame was freed meanwhile as `stale-tlb`.
 *
 * When the walker walks is a model parameter: each CPU walks at exponentially distributed
 * intervals (mean `meanIntervalNs`) while it executes with a user CR3. A CPU that is idle (in
 * hlt/mwait), or a vCPU the host has descheduled or stopped, executes nothing and walks nothing.
 * In user mode a share `demandFraction` of walks are the program's own accesses — a page of one
 * of its VMAs — and the rest speculative; in the kernel, and on a lazy CPU, every walk is
 * speculative. A speculative walk goes to a page under one of the CPU's cached paging-structure
 * entries (speculation follows recently used pointers), or, with none cached, to a page of a VMA.
 * Where the kernel gets the ordering right, no choice of these parameters makes a report
 * appear; they only change how often a real hazard is seen.
 *
 * Without PCIDs (CR4.PCIDE = 0, the default, what the validation guest has) every CPU uses PCID 0
 * and every CR3 write drops all non-global entries; with them (`X86Mmu.enable_pcid`) the caches
 * are tagged with kern_pcid(asid) of choose_new_asid's ASID, and an mm's entries outlive a switch
 * away from it under their PCID.
 */
import type { Cpu } from "../../hw/cpu.js";
import type { PscEntry, PscLevel, TlbEntry } from "../../hw/tlb-cache.js";
import type { CachedEntryInfo } from "../../mm/oracle.js";
import type { MmStruct } from "../../mm/mm-struct.js";
import type { TableLevel } from "../../mm/page-alloc.js";
import { entryTable, PAGE_SIZE, indexAt, TLB_FLUSH_ALL } from "../../mm/pgtable.js";
import { checkNumber, checkOptions } from "../../sim/errors.js";
import { Rng } from "../../sim/rng.js";
import type { X86Mmu } from "./tlb.js";

export interface HwWalkerParams {
  /** Mean time between two accesses that may walk, per executing CPU, ns. Default 10,000 [U]. A
   * real CPU misses its second-level TLB anywhere from every 0.1 µs (memory-bound code) to every
   * few tens of µs; a walk here is a coarse stand-in for all of them, and its rate only changes
   * how often a hazard that exists is seen, never whether (every hazard the race scenarios show
   * at 1 µs they show at 10 µs). 10 µs keeps the race trials above 5,000/s (docs/benchmarks.md). */
  readonly meanIntervalNs: number;
  /** Share of a user-mode CPU's walks that are the program's own accesses. Default 0.5 [U]. */
  readonly demandFraction: number;
}

export const DEFAULT_HW_WALKER: HwWalkerParams = Object.freeze({
  meanIntervalNs: 10_000,
  demandFraction: 0.5,
});

export function resolveHwWalkerParams(
  p: Partial<HwWalkerParams> | undefined,
  ctx: string,
): HwWalkerParams {
  // the defaults, shared rather than resolved anew for every machine (a race trial's)
  if (p === undefined) return DEFAULT_HW_WALKER;
  checkOptions("hardware", p ?? {}, Object.keys(DEFAULT_HW_WALKER), ctx);
  const r = { ...DEFAULT_HW_WALKER, ...p };
  checkNumber("hardware.meanIntervalNs", r.meanIntervalNs, 10, 1e9, ctx);
  checkNumber("hardware.demandFraction", r.demandFraction, 0, 1, ctx);
  return Object.freeze(r);
}

/** The cache holding the entry read from a table of `level` (pointing to the next table). */
function pscFor(level: TableLevel, levels: 4 | 5): PscLevel | null {
  switch (level) {
    case "pgd":
      return levels === 5 ? "pml5e" : "pml4e";
    case "p4d":
      return "pml4e";
    case "pud":
      return "pdpte";
    case "pmd":
      return "pde";
    case "pte":
      return null;
  }
}

/** The level of the table a cached entry points to. */
const POINTS_TO: Readonly<Record<PscLevel, TableLevel>> = Object.freeze({
  pml5e: "p4d",
  pml4e: "pud",
  pdpte: "pmd",
  pde: "pte",
});
const PSC_ORDER_4: readonly PscLevel[] = Object.freeze(["pde", "pdpte", "pml4e"]);
const PSC_ORDER_5: readonly PscLevel[] = Object.freeze(["pde", "pdpte", "pml4e", "pml5e"]);
const NEXT_4: Readonly<Partial<Record<TableLevel, TableLevel>>> = {
  pgd: "pud",
  pud: "pmd",
  pmd: "pte",
};
const NEXT_5: Readonly<Partial<Record<TableLevel, TableLevel>>> = {
  pgd: "p4d",
  p4d: "pud",
  pud: "pmd",
  pmd: "pte",
};
/** Bytes one entry of a table of each level maps (the p4d level exists with 5 levels only, so
 * the pgd's span is the only one that depends on the paging depth). */
const SPAN_4: Readonly<Record<TableLevel, number>> = Object.freeze({
  pgd: 2 ** 39,
  p4d: 2 ** 39,
  pud: 2 ** 30,
  pmd: 2 ** 21,
  pte: 2 ** 12,
});
const SPAN_5: Readonly<Record<TableLevel, number>> = Object.freeze({ ...SPAN_4, pgd: 2 ** 48 });
const PSC_SPAN: Readonly<Record<PscLevel, number>> = Object.freeze({
  pml5e: 2 ** 48,
  pml4e: 2 ** 39,
  pdpte: 2 ** 30,
  pde: 2 ** 21,
});

function entryInfo(e: PscEntry | TlbEntry, cache: string): CachedEntryInfo {
  return { cache, pcid: e.pcid, va: e.va, pfn: e.pfn, gen: e.gen, filledAt: e.filledAt };
}

export interface HwWalkerStats {
  walks: number;
  /** Walks per CPU. */
  readonly walksByCpu: number[];
  speculative: number;
  demand: number;
  /** Walks that started from a paging-structure-cache entry rather than CR3. */
  fromPsc: number;
}

/**
 * The page walkers of all CPUs of one machine, and the invalidations software and hypervisors
 * apply to their caches.
 */
export class HwPageWalker {
  readonly x86: X86Mmu;
  readonly params: HwWalkerParams;
  readonly stats: HwWalkerStats;
  /** The hardware's own random source, apart from the simulation's: turning the walker on
   * leaves every other draw of a seeded run where it was. */
  private readonly rng: Rng;
  private readonly armed: Uint8Array;
  private readonly fireCb = (cpuId: number): void => this.fire(cpuId);
  /** Walks come from the clock (timed runs) or only from `walkOnce`/`walk` calls (the explorer,
   * where a walk is an action it schedules like any other step). */
  readonly timed: boolean;

  constructor(x86: X86Mmu, params: HwWalkerParams, timed = true) {
    this.x86 = x86;
    this.params = params;
    this.timed = timed;
    const m = x86.k.machine;
    this.rng = new Rng((m.sim.seed ^ 0x9e3779b9) >>> 0);
    this.armed = new Uint8Array(m.nrCpus);
    this.stats = {
      walks: 0,
      walksByCpu: new Array<number>(m.nrCpus).fill(0),
      speculative: 0,
      demand: 0,
      fromPsc: 0,
    };
    m.onCpuBusy((cpu) => this.wake(cpu));
  }

  /** PCID of the CPU's current address space: 0 without CR4.PCIDE. */
  pcid(cpu: Cpu): number {
    return this.x86.current_pcid(cpu);
  }

  /** The CPU executes with a user CR3: its walker runs. */
  canWalk(cpu: Cpu): boolean {
    return this.x86.state(cpu).loaded_mm !== null && !cpu.hostPreempted && !cpu.idle;
  }

  /** Starts the CPU's walker if it is dormant and the CPU can walk. */
  wake(cpu: Cpu): void {
    if (!this.timed || this.armed[cpu.id] === 1 || !this.canWalk(cpu)) return;
    this.arm(cpu.id);
  }

  private arm(cpuId: number): void {
    this.armed[cpuId] = 1;
    this.x86.k.sim.schedule(this.interval(), this.fireCb, undefined, cpuId);
  }

  /** Time to the CPU's next walk, ns. */
  private interval(): number {
    return Math.max(1, Math.round(this.rng.exponential(this.params.meanIntervalNs)));
  }

  /** Uniform integer in [0, n) from one 32-bit draw: the walker's choices need no more than
   * that, and it is a third of the cost of a rejection-sampled draw on this path. */
  private below(n: number): number {
    return Math.floor(this.rng.float() * n);
  }

  private fire(cpuId: number): void {
    const sim = this.x86.k.sim;
    const cpu = this.x86.k.machine.cpus[cpuId]!;
    for (;;) {
      this.armed[cpuId] = 0;
      // Dormant until the CPU executes with a user CR3 again (wake): no events while idle.
      if (!this.canWalk(cpu)) return;
      this.walkOnce(cpu);
      this.armed[cpuId] = 1;
      const d = this.interval();
      // The next walk, when nothing else is due before it, runs in this event: the same walks,
      // draws and order of events as one event per walk (docs/benchmarks.md, "Performance
      // devices").
      if (!sim.fastEvent(sim.now + d)) {
        sim.schedule(d, this.fireCb, undefined, cpuId);
        return;
      }
    }
  }

  /** One walk on `cpu`: the program's own access or a speculative one. */
  walkOnce(cpu: Cpu): void {
    const st = this.x86.state(cpu);
    const mm = st.loaded_mm;
    if (mm === null) return;
    const demand =
      cpu.taskMode === "user" &&
      cpu.task !== null &&
      !st.is_lazy &&
      this.rng.float() < this.params.demandFraction;
    if (demand) {
      const va = this.vmaPage(mm);
      if (va >= 0) this.walk(cpu, mm, va, true);
      return;
    }
    const c = cpu.tlb;
    const pcid = this.pcid(cpu);
    const n = c.pscCountOf(pcid);
    const e = n > 0 ? c.pscAt(pcid, this.below(n)) : undefined;
    const va =
      e !== undefined
        ? e.va + this.below(PSC_SPAN[e.level] / PAGE_SIZE) * PAGE_SIZE
        : this.vmaPage(mm);
    if (va >= 0) this.walk(cpu, mm, va, false);
  }

  /** A page of one of the mm's VMAs, or −1 if it has none. */
  private vmaPage(mm: MmStruct): number {
    const vmas = mm.vmas;
    if (vmas.length === 0) return -1;
    const v = vmas[this.below(vmas.length)]!;
    return v.start + this.below((v.end - v.start) / PAGE_SIZE) * PAGE_SIZE;
  }

  /**
   * The walk of `va` (§4.10.3.2): a TLB hit ends it (a program access through a stale entry is
   * checked); else it starts at the deepest cached paging-structure entry, or at CR3, and reads
   * one entry per level through the oracle, caching every present non-leaf entry it reads and the
   * final translation. It stops at a not-present entry (a fault, not modelled further) and after
   * a read the oracle reports (what follows is garbage).
   */
  walk(cpu: Cpu, mm: MmStruct, va: number, demand: boolean): void {
    const k = this.x86.k;
    const tlbc = cpu.tlb;
    const pcid = this.pcid(cpu);
    this.stats.walks++;
    this.stats.walksByCpu[cpu.id]!++;
    if (demand) this.stats.demand++;
    else this.stats.speculative++;
    const hit = tlbc.lookupTlb(pcid, va);
    if (hit !== undefined) {
      if (demand && !k.oracle.validPage(hit.pfn, hit.gen))
        k.oracle.checkTlbHit(cpu.id, { pfn: hit.pfn, gen: hit.gen }, va, entryInfo(hit, "tlb"));
      else if (demand) k.oracle.reads++;
      return;
    }
    const levels = k.levels;
    const start = tlbc.lookupPsc(pcid, va, levels === 5 ? PSC_ORDER_5 : PSC_ORDER_4);
    let pfn: number;
    let gen: number;
    let level: TableLevel;
    if (start !== undefined) {
      this.stats.fromPsc++;
      pfn = start.pfn;
      gen = start.gen;
      level = POINTS_TO[start.level];
    } else {
      pfn = mm.pgd;
      gen = k.alloc.generation(pfn);
      level = "pgd";
    }
    const next = levels === 5 ? NEXT_5 : NEXT_4;
    const SPAN = levels === 5 ? SPAN_5 : SPAN_4;
    const trace = k.sim.trace.enabled;
    const oracle = k.oracle;
    for (;;) {
      oracle.reads++;
      if (!oracle.validTable(pfn, gen)) {
        // the read the kernel's rules forbid: report it with the entry the walk came through
        oracle.reads--; // counted again by the reporting check
        oracle.checkHwRead(cpu.id, { pfn, gen }, va, level, this.via(start, pcid, mm));
        return;
      }
      if (k.alloc.levelOf(pfn) !== level) {
        // a live frame, but not a table of this level: an entry no kernel should have written
        // (a pmd populated from an empty one, CVE-2024-50066)
        oracle.reportHwNotATable(cpu.id, { pfn, gen }, va, level, this.via(start, pcid, mm));
        return;
      }
      const raw = k.pt.entry(pfn, indexAt(va, SPAN[level]));
      if (raw === 0) return;
      const child = level === "pte" ? raw - 1 : entryTable(raw);
      if (level === "pte" || child < 0) {
        // the translation: a 4 KiB pte, or a huge leaf (cached here as the 4 KiB page used)
        const page = level === "pte" ? child : -raw - 1;
        tlbc.fillTlb(pcid, va, page, k.alloc.generation(page), page !== k.zeroPfn, false);
        if (trace)
          k.sim.trace.instant(cpu.id, "x86:tlb_fill", {
            va: `0x${va.toString(16)}`,
            pfn: page,
            demand,
          });
        return;
      }
      const cache = pscFor(level, levels)!;
      gen = k.alloc.generation(child);
      pfn = child;
      tlbc.fillPsc(pcid, cache, va, pfn, gen);
      if (trace)
        k.sim.trace.instant(cpu.id, "x86:psc_fill", {
          cache,
          va: `0x${va.toString(16)}`,
          table: pfn,
        });
      level = next[level]!;
    }
  }

  /** The entry a walk came through, for a report: the paging-structure-cache entry it started
   * from, or CR3. A method, not a closure per walk (docs/benchmarks.md, "Performance devices"). */
  private via(start: PscEntry | undefined, pcid: number, mm: MmStruct): CachedEntryInfo {
    const k = this.x86.k;
    return start !== undefined
      ? entryInfo(start, start.level)
      : {
          cache: "cr3",
          pcid,
          va: 0,
          pfn: mm.pgd,
          gen: k.alloc.generation(mm.pgd),
          filledAt: k.sim.now,
        };
  }

  private traceInvalidate(cpu: Cpu, op: string, tlb: number, psc: number): void {
    if ((tlb > 0 || psc > 0) && this.x86.k.sim.trace.enabled)
      this.x86.k.sim.trace.instant(cpu.id, "x86:tlb_invalidate", { op, tlb, psc });
  }

  /** INVLPG of every page of [start, end) a `stride` apart on `cpu` (flush_tlb_one_user per
   * page: the range flush of flush_tlb_func). */
  flushRange(cpu: Cpu, start: number, end: number): void {
    const r = cpu.tlb.invalidateRange(this.pcid(cpu), start, end);
    this.traceInvalidate(cpu, "invlpg", r.tlb, r.psc);
  }

  /** MOV to CR3 without the no-flush bit (local_flush_tlb, or a switch_mm that flushes). */
  cr3Write(cpu: Cpu, op = "cr3"): void {
    const r = cpu.tlb.movCr3(this.pcid(cpu), this.x86.pcide, false);
    this.traceInvalidate(cpu, op, r.tlb, r.psc);
  }

  /** A hypervisor's flush of a target vCPU: everything non-global for a full flush, else the
   * range's pages (the paging-structure caches go either way). */
  hypervisorFlush(cpu: Cpu, start: number, end: number, op: string): void {
    const r =
      end === TLB_FLUSH_ALL
        ? cpu.tlb.flushAll(false)
        : cpu.tlb.invalidateRange(this.pcid(cpu), start, end);
    this.traceInvalidate(cpu, op, r.tlb, r.psc);
  }

  /**
   * INVLPGB as broadcast_tlb_flush issues it (v6.15: PCID and VA valid, no FINAL_ONLY, so the
   * paging-structure caches go too), completed by TLBSYNC: `pcid`'s entries — the global ASID's,
   * the same PCID on every CPU — dropped on every CPU of the machine, the issuing one included,
   * whatever each one runs now, with no interrupt taken anywhere.
   */
  invlpgb(pcid: number, start: number, end: number): void {
    for (const c of this.x86.k.machine.cpus) {
      const r =
        end === TLB_FLUSH_ALL
          ? c.tlb.invlpgbLocal(pcid, null, 0, PAGE_SIZE, false, false)
          : c.tlb.invlpgbLocal(
              pcid,
              start,
              Math.ceil((end - start) / PAGE_SIZE),
              PAGE_SIZE,
              false,
              false,
            );
      this.traceInvalidate(c, "invlpgb", r.tlb, r.psc);
    }
  }

  /** invlpgb_flush_all_nonglobals + TLBSYNC (reset_global_asid_space): every non-global TLB
   * entry and paging-structure-cache entry of every PCID, on every CPU. */
  invlpgbFlushAllNonglobals(): void {
    for (const c of this.x86.k.machine.cpus) {
      const r = c.tlb.flushAll(false);
      this.traceInvalidate(c, "invlpgb-all-nonglobals", r.tlb, r.psc);
    }
  }

  /** CPUs whose paging-structure caches still hold a pointer to table frame `pfn` (for the
   * page-table view). */
  cachedBy(pfn: number): number[] {
    const out: number[] = [];
    for (const c of this.x86.k.machine.cpus)
      if (c.tlb.pscPointingAt(pfn).length > 0) out.push(c.id);
    return out;
  }
}

/** Turns the hardware model on for `x86`'s machine: every CPU's walker and the flushes' effect on
 * the caches. CPUs that already execute with a user CR3 start walking now — unless `timed` is
 * false (the explorer), where walks happen only when the caller makes them. */
export function installPageWalker(
  x86: X86Mmu,
  params?: Partial<HwWalkerParams>,
  timed = true,
): HwPageWalker {
  const hw = new HwPageWalker(x86, resolveHwWalkerParams(params, "installPageWalker"), timed);
  x86.hw = hw;
  for (const c of x86.k.machine.cpus) hw.wake(c);
  return hw;
}
