/**
 * The CPUs' own page walkers (arch/x86/page-walker.ts): they read tables through what their
 * paging-structure caches hold, so an unlinked table stays reachable until the CPU invalidates;
 * lazy CPUs walk too. And the races that need them: v4.14's
 * allocation-failure fallback frees a table before the flush, v4.19's tlb_table_invalidate
 * closes it, and taking that call out of v4.19 brings it back.
 */
import { describe, expect, it } from "vitest";
import { flush_tlb_mm_range, X86Mmu } from "../../src/arch/x86/index.js";
import type { Cpu } from "../../src/hw/index.js";
import { FrameState, PMD_SIZE, sys_mmap, TLB_FLUSH_ALL } from "../../src/mm/index.js";
import { exportPageTables } from "../../src/views/pagetable.js";
import { checkPageTablePayload, PayloadError } from "../../src/contract/payload.js";
import { entryTable, indexAt } from "../../src/mm/pgtable.js";
import { runTrial, SPARSE_TABLES } from "../../src/experiments/scenarios.js";
import { MAX_TABLE_BATCH } from "../../src/mm/mmu-gather.js";
import { traceToTimeline } from "../../src/views/trace-timeline.js";
import { buildSystem, type System } from "../../src/system/build.js";
import type { MmStruct } from "../../src/mm/mm-struct.js";
import { UnknownNameError, type Kfn } from "../../src/sim/index.js";
import { explore } from "../../src/explore/explorer.js";

const BUF = 0x7f00_0000_0000;

/** A system with the walkers on, an mm with a populated 16-page buffer loaded on CPUs 0 and 1. */
function setUp(profile = "v5.10", hardware: object | boolean = true): { s: System; mm: MmStruct } {
  const s = buildSystem({ profile, backend: "native", nrCpus: 3, seed: 3, hardware, trace: false });
  const mm = s.k.mm_alloc();
  mm.mm_users = 2;
  s.x86.switch_mm(s.m.cpu(0), mm);
  s.x86.switch_mm(s.m.cpu(1), mm);
  s.m
    .cpu(0)
    .run(
      "mmap",
      sys_mmap(s.k, s.m.cpu(0), mm, { addr: BUF, length: 16 * 4096, populate: true, name: "buf" }),
    );
  s.sim.run();
  return { s, mm };
}

/** The pte table mapping BUF and the pmd table holding its entry. */
function pteTable(s: System, mm: MmStruct): { pmd: number; pte: number } {
  const pud = entryTable(s.k.pt.entry(mm.pgd, indexAt(BUF, 2 ** 39)));
  const pmd = entryTable(s.k.pt.entry(pud, indexAt(BUF, 2 ** 30)));
  return { pmd, pte: entryTable(s.k.pt.entry(pmd, indexAt(BUF, PMD_SIZE))) };
}

function run(s: System, cpu: number, gen: Kfn<unknown>): void {
  s.m.cpu(cpu).run("t", gen);
  s.sim.run();
}

describe("the hardware page walker", () => {
  it("walks through its PDE cache into a table software has unlinked and freed, and reports the cached entry", () => {
    const { s, mm } = setUp();
    const hw = s.x86.hw!;
    const cpu1 = s.m.cpu(1);
    // CPU 0's walker ran during the mmap; start from empty caches on it
    s.m.cpu(0).tlb.flushAll(true);
    hw.walk(cpu1, mm, BUF + 3 * 4096, true);
    const { pmd, pte } = pteTable(s, mm);
    expect(cpu1.tlb.pscPointingAt(pte).map((e) => e.level)).toEqual(["pde"]);
    expect(hw.cachedBy(pte)).toEqual([1]);
    // the tree view says which CPUs can still reach the table without its parent entry
    const tree = exportPageTables(s.k, mm);
    checkPageTablePayload(tree);
    const pmdNode = tree.root.children![0]!.children![0]!;
    expect(pmdNode.children![0]).toMatchObject({ frame: pte, cachedBy: [1] });
    expect(() =>
      checkPageTablePayload({ ...tree, root: { ...tree.root, cachedBy: [-1] } }),
    ).toThrow(PayloadError);
    // free_pte_range without any flush: unlink, then the frame goes back to the allocator
    s.k.pt.clear(pmd, indexAt(BUF, PMD_SIZE));
    s.k.alloc.setTableState(pte, FrameState.UNLINKED, "test");
    s.k.alloc.freePage(pte, "test");
    // CPU 0 caches nothing: from CR3 it finds the pmd entry gone and reads nothing freed
    hw.walk(s.m.cpu(0), mm, BUF + 5 * 4096, false);
    expect(s.k.oracle.reports).toHaveLength(0);
    // CPU 1 does not re-read the pmd: its PDE cache still points at the old table
    hw.walk(cpu1, mm, BUF + 5 * 4096, false);
    const r = s.k.oracle.reports[0]!;
    expect(r.reader).toBe("hw-walker");
    expect(r.level).toBe("pte");
    expect(r.pfn).toBe(pte);
    expect(r.kind).toBe("freed");
    expect(r.via).toMatchObject({ cache: "pde", pcid: 0, va: BUF, pfn: pte });
  });

  it("INVLPG of any page drops the CPU's paging-structure caches, so the next walk starts at CR3", () => {
    const { s, mm } = setUp();
    const hw = s.x86.hw!;
    const cpu1 = s.m.cpu(1);
    hw.walk(cpu1, mm, BUF, true);
    const { pmd, pte } = pteTable(s, mm);
    s.k.pt.clear(pmd, indexAt(BUF, PMD_SIZE));
    s.k.alloc.setTableState(pte, FrameState.UNLINKED, "test");
    // a one-page flush of an unrelated address, as flush_tlb_func does it on CPU 1
    run(s, 0, flush_tlb_mm_range(s.x86, s.m.cpu(0), mm, 0x1000, 0x2000, false));
    expect(cpu1.tlb.pscSize).toBe(0);
    s.k.alloc.freePage(pte, "test");
    hw.walk(cpu1, mm, BUF + 5 * 4096, false);
    expect(s.k.oracle.reports).toHaveLength(0);
  });

  it("a program access through a TLB entry whose page was freed is the stale-TLB class", () => {
    const { s, mm } = setUp();
    const hw = s.x86.hw!;
    hw.walk(s.m.cpu(1), mm, BUF, true);
    const page = s.m.cpu(1).tlb.lookupTlb(0, BUF)!;
    s.k.alloc.freePage(page.pfn, "test");
    hw.walk(s.m.cpu(1), mm, BUF, false); // speculative: no architectural effect, not reported
    expect(s.k.oracle.reports).toHaveLength(0);
    hw.walk(s.m.cpu(1), mm, BUF, true);
    expect(s.k.oracle.reports[0]).toMatchObject({ reader: "stale-tlb", level: "page" });
    expect(s.k.oracle.reports[0]!.via).toMatchObject({ cache: "tlb", va: BUF });
  });

  it("a lazy CPU keeps walking the mm until a flush switches it away (v4.20+: only one that freed tables)", () => {
    const { s, mm } = setUp("v5.10", { meanIntervalNs: 500 });
    const hw = s.x86.hw!;
    const cpu1 = s.m.cpu(1);
    hw.walk(cpu1, mm, BUF, true);
    s.x86.enter_lazy_tlb(cpu1);
    // a kernel thread runs on CPU 1 (lazy TLB) for 200 µs; CPU 0 flushes meanwhile
    const marks = new Map<string, number>();
    const walksAt = (m: string) => marks.get(m) ?? -1;
    const mark = (m: string) => marks.set(m, hw.stats.walksByCpu[1]!);
    cpu1.run(
      "kthread",
      (function* (): Kfn<void> {
        yield 200_000;
      })(),
    );
    s.m.cpu(0).run(
      "flusher",
      (function* (x86: X86Mmu, c0: Cpu): Kfn<void> {
        yield 50_000;
        mark("before");
        yield* flush_tlb_mm_range(x86, c0, mm, 0, TLB_FLUSH_ALL, false);
        yield 50_000;
        mark("after-no-tables");
        expect(x86.state(cpu1).loaded_mm).toBe(mm);
        yield* flush_tlb_mm_range(x86, c0, mm, 0, TLB_FLUSH_ALL, true);
        mark("switched");
        expect(x86.state(cpu1).loaded_mm).toBe(null);
        yield 50_000;
        mark("end");
      })(s.x86, s.m.cpu(0)),
    );
    s.sim.run();
    expect(walksAt("before")).toBeGreaterThan(20);
    // skipped by the flush that freed no tables: still walking, still lazy on the mm
    expect(walksAt("after-no-tables") - walksAt("before")).toBeGreaterThan(20);
    // the flush with freed_tables reached it: init_mm, caches flushed, no more walks of the mm
    expect(walksAt("end")).toBe(walksAt("switched"));
    expect(cpu1.tlb.pscSize + cpu1.tlb.tlbSize).toBe(0);
  });

  it("an idle or descheduled CPU does not walk, and the walker leaves a trial's end where it was", () => {
    const { s } = setUp("v5.10", { meanIntervalNs: 100 });
    // setUp's run ended with every CPU idle: the walkers went dormant and the queue drained
    expect(s.sim.queue.length).toBe(0);
    const w = s.x86.hw!.stats.walksByCpu.slice();
    s.m.stallFor(s.m.cpu(1), 0, 50_000);
    s.m.cpu(1).run(
      "t",
      (function* (): Kfn<void> {
        yield 10;
      })(),
    );
    s.sim.run();
    // only the 10 ns after the stall ended could have had a walk
    expect(s.x86.hw!.stats.walksByCpu[1]! - w[1]!).toBeLessThanOrEqual(2);
    expect(s.sim.queue.length).toBe(0);
  });

  it("turning the walkers on leaves the software walker's trials as they were (its own random stream)", () => {
    for (let seed = 1; seed <= 30; seed++) {
      const o = { scenario: "walker-vs-munmap", profile: "v4.13", backend: "xen-pv", seed };
      const on = runTrial({ ...o, trace: false, hardware: true });
      const off = runTrial({ ...o, trace: false, hardware: false });
      const sw = on.reports.filter((r) => r.reader === "software");
      expect(sw.length).toBe(off.uaf);
      expect(on.stallNs).toBe(off.stallNs);
      expect(off.system.x86.hw).toBe(null);
    }
  });

  it("the explorer refuses the hardware-only scenarios by name (its page walkers join the software walker's scenarios)", () => {
    for (const scenario of ["lazy-tlb-walker", "madvise-lazy-return", "table-batch-full"])
      expect(() => explore({ profile: "v4.14", backend: "native", scenario })).toThrow(
        UnknownNameError,
      );
  });

  it("refuses bad walker parameters with the parameter named", () => {
    expect(() =>
      buildSystem({ profile: "v4.14", backend: "native", hardware: { meanIntervalNs: 0 } }),
    ).toThrow(/hardware\.meanIntervalNs/);
    expect(() =>
      buildSystem({ profile: "v4.14", backend: "native", hardware: { rate: 1 } as never }),
    ).toThrow(/hardware key/);
  });
});

/** Trials of `scenario` with at least one read of each kind. */
function count(
  scenario: string,
  profile: string,
  backend: string,
  n: number,
  extra: Record<string, unknown> = {},
): { uaf: number; software: number; hw: number; stale: number } {
  const c = { uaf: 0, software: 0, hw: 0, stale: 0 };
  for (let i = 0; i < n; i++) {
    const r = runTrial({
      scenario,
      profile,
      backend,
      seed: 1 + i,
      trace: false,
      history: false,
      ...extra,
    });
    if (r.uaf > 0) c.uaf++;
    if (r.reports.some((x) => x.reader === "software")) c.software++;
    if (r.reports.some((x) => x.reader === "hw-walker")) c.hw++;
    if (r.reports.some((x) => x.reader === "stale-tlb")) c.stale++;
  }
  return c;
}

describe("races that need the hardware (many seeds)", () => {
  const N = 150;

  it("v4.14 × batch-alloc-failure: tlb_remove_table_one frees before the flush and a page walker reads it; v4.19 has none", () => {
    for (const backend of ["native", "xen-pv", "kvm-pv"]) {
      const v414 = count("batch-alloc-failure", "v4.14", backend, N);
      expect(v414.hw, backend).toBeGreaterThan(0);
      expect(v414.software, backend).toBe(0);
      expect(count("batch-alloc-failure", "v4.19", backend, N).uaf, backend).toBe(0);
    }
  });

  it("a v4.19 without tlb_table_invalidate (d86564a2f085) has the bug again", () => {
    for (const backend of ["xen-pv", "kvm-pv"]) {
      const c = count("batch-alloc-failure", "v4.19", backend, N, { tableInvalidate: false });
      expect(c.hw, backend).toBeGreaterThan(0);
      expect(c.software, backend).toBe(0);
    }
  });

  it("lazy-tlb-walker: v4.14's mm_users < 2 shortcut frees under a lazy CPU's page walker; v4.19+ do not, and the shortcut put back into v4.19 does", () => {
    for (const backend of ["native", "xen-pv", "kvm-pv"])
      expect(count("lazy-tlb-walker", "v4.14", backend, 40).hw, backend).toBeGreaterThan(0);
    // as posted, a bare-metal v4.14 has no RCU table free and so no shortcut
    expect(
      count("lazy-tlb-walker", "v4.14-posted", "native", 40, { resolve: { paravirt: false } }).uaf,
    ).toBe(0);
    for (const p of ["v4.13", "v4.19", "v5.10", "v6.1", "v6.15"])
      for (const backend of ["native", "xen-pv"])
        expect(count("lazy-tlb-walker", p, backend, 40).uaf, `${p} ${backend}`).toBe(0);
    expect(
      count("lazy-tlb-walker", "v4.19", "xen-pv", 40, { mmUsersShortcut: true }).hw,
    ).toBeGreaterThan(0);
  });

  it("madvise-lazy-return: no stale TLB hit in any version, and a switch_mm that skips the tlb_gen check on the way back has them from v4.20 on", () => {
    for (const p of ["v4.14", "v4.19", "v5.10", "v6.1", "v6.15"])
      expect(count("madvise-lazy-return", p, "native", 40).uaf, p).toBe(0);
    // eslint-disable-next-line @typescript-eslint/unbound-method -- restored below, called with call()
    const orig = X86Mmu.prototype.switch_mm;
    // the mutation: back from lazy mode on the same mm, never flush
    X86Mmu.prototype.switch_mm = function (this: X86Mmu, cpu: Cpu, next: MmStruct | null) {
      const st = this.state(cpu);
      if (next !== null && st.loaded_mm === next && st.is_lazy) {
        st.is_lazy = false;
        return;
      }
      orig.call(this, cpu, next);
    };
    try {
      // v4.20+ skip the lazy CPU when no table is freed: its TLB keeps the freed pages
      for (const p of ["v5.10", "v6.1", "v6.15"])
        expect(count("madvise-lazy-return", p, "native", 40).stale, p).toBeGreaterThan(0);
      // v4.14 and v4.19 IPI the lazy CPU, which leaves the mm: nothing stale to come back to
      for (const p of ["v4.14", "v4.19"])
        expect(count("madvise-lazy-return", p, "native", 40).uaf, p).toBe(0);
    } finally {
      X86Mmu.prototype.switch_mm = orig;
    }
  });
});

describe("table-batch-full: the mmu_table_batch fills in the middle of free_pgtables", () => {
  /** One traced trial: when the 509-table batch went to RCU, the gather's first flush, when the
   * munmap ended and when the RCU callbacks freed the tables. */
  function timeline(profile: string, backend: string, seed: number) {
    const r = runTrial({ scenario: "table-batch-full", profile, backend, seed, history: false });
    const ev = r.system.sim.trace.sorted();
    const munmap = ev.find((e) => e.name === "syscalls:sys_munmap")!;
    const batches = ev.filter((e) => e.name === "mmulab:tlb_table_flush");
    const flush = ev.find((e) => e.name === "tlb:tlb_flush" && e.ts >= munmap.ts && e.cpu === 0)!;
    const invoked = ev.filter((e) => e.name === "rcu:rcu_invoke_callback").map((e) => e.ts);
    return { r, start: munmap.ts, end: munmap.ts + r.munmapNs, batches, flush, invoked };
  }

  it("hands 509 tables to RCU before the flush on v4.14 and after it from v4.19; the grace period ends only after the munmap, so no walker reads a freed table", () => {
    expect(SPARSE_TABLES).toBe(MAX_TABLE_BATCH + 1);
    for (const [profile, backend] of [
      ["v4.14", "native"],
      ["v4.14", "xen-pv"],
      ["v4.19", "xen-pv"],
      ["v6.15", "kvm-pv"],
    ] as const) {
      const t = timeline(profile, backend, 3);
      const at = `${profile} ${backend}`;
      expect(
        t.batches.map((b) => b.args?.["tables"]),
        at,
      ).toEqual([509, 3]);
      // v4.14: tlb_table_flush without tlb_table_invalidate — the batch goes before any flush
      if (profile === "v4.14") expect(t.batches[0]!.ts, at).toBeLessThan(t.flush.ts);
      else expect(t.batches[0]!.ts, at).toBeGreaterThanOrEqual(t.flush.ts);
      // the freeing CPU is in kernel code until the munmap returns: no quiescent state, so the
      // tables (510 pte, the pmd and the pud) are freed after the gather's last flush
      expect(t.r.tablesFreedRcu, at).toBe(512);
      expect(t.invoked.length, at).toBeGreaterThan(0);
      for (const ts of t.invoked) expect(ts, at).toBeGreaterThan(t.end);
      expect(t.r.uaf, at).toBe(0);
      // the other threads' walkers did go through cached entries into the region
      expect(t.r.system.x86.hw!.stats.fromPsc, at).toBeGreaterThan(0);
    }
  });

  it("no reader in any version over many seeds, with or without tlb_table_invalidate", () => {
    for (const p of ["v4.14", "v4.19", "v6.15"])
      expect(count("table-batch-full", p, "xen-pv", 10).uaf, p).toBe(0);
    expect(count("table-batch-full", "v6.15", "kvm-pv", 10, { tableInvalidate: false }).uaf).toBe(
      0,
    );
  });
});

describe("seeing it: the timeline", () => {
  it("shows each CPU's paging-structure-cache fills and the invalidations that drop them, on that CPU's lane", () => {
    const r = runTrial({
      scenario: "lazy-tlb-walker",
      profile: "v4.19",
      backend: "native",
      seed: 1,
    });
    const tl = traceToTimeline(r.system.sim.trace, { nrCpus: 4 });
    const hw = tl.instants.filter((i) => i.kind === "marker" && i.label !== undefined);
    const fills = hw.filter((i) => /cache fill/.test(i.label));
    const drops = hw.filter((i) => /paging-structure entries invalidated/.test(i.label));
    // the lazy CPU (2) filled its caches while the process ran there; the munmap's flush (which
    // freed tables, so it reaches the lazy CPU on v4.19) dropped them there and on CPU 0
    expect(new Set(fills.map((i) => i.lane))).toContain("cpu2");
    expect(drops.map((i) => i.lane)).toContain("cpu2");
    expect(drops.map((i) => i.lane)).toContain("cpu0");
    // each marker sits at its event's time, inside the run
    for (const i of [...fills, ...drops]) expect(i.t).toBeGreaterThanOrEqual(0);
  });
});

describe("PCID (CR4.PCIDE, dynamic ASIDs, v4.14+)", () => {
  /** A system with PCID and the walkers on, and `n` mms each with one populated page. */
  function pcidSetUp(n: number, profile = "v5.10") {
    const s = buildSystem({
      profile,
      backend: "native",
      nrCpus: 2,
      seed: 3,
      hardware: true,
      trace: false,
      pcid: true,
    });
    const mms = Array.from({ length: n }, () => s.k.mm_alloc());
    for (const mm of mms) {
      s.x86.switch_mm(s.m.cpu(0), mm);
      run(
        s,
        0,
        sys_mmap(s.k, s.m.cpu(0), mm, { addr: BUF, length: 4096, populate: true, name: "b" }),
      );
    }
    return { s, mms };
  }

  it("an mm's entries outlive a switch away under its PCID; coming back reuses them unless the mm was flushed meanwhile", () => {
    const { s, mms } = pcidSetUp(2);
    const [a, b] = mms as [MmStruct, MmStruct];
    const cpu1 = s.m.cpu(1);
    s.x86.switch_mm(cpu1, a);
    const pcidA = s.x86.current_pcid(cpu1);
    s.x86.hw!.walk(cpu1, a, BUF, true);
    s.x86.switch_mm(cpu1, b);
    expect(s.x86.current_pcid(cpu1)).not.toBe(pcidA);
    expect(cpu1.tlb.lookupTlb(pcidA, BUF)).toBeDefined();
    // back without a flush of a in between: the entries are still good and are kept
    s.x86.switch_mm(cpu1, a);
    expect(s.x86.current_pcid(cpu1)).toBe(pcidA);
    expect(cpu1.tlb.lookupTlb(pcidA, BUF)).toBeDefined();
    // away again; a is flushed on CPU 0 only (CPU 1 has left its cpumask): its PCID on CPU 1 is
    // behind, and switching back flushes it (choose_new_asid's tlb_gen check)
    s.x86.switch_mm(cpu1, b);
    run(s, 0, flush_tlb_mm_range(s.x86, s.m.cpu(0), a, BUF, BUF + 4096, false));
    expect(cpu1.tlb.lookupTlb(pcidA, BUF)).toBeDefined();
    s.x86.switch_mm(cpu1, a);
    expect(cpu1.tlb.lookupTlb(pcidA, BUF)).toBeUndefined();
  });

  it("TLB_NR_DYN_ASIDS = 6: the seventh mm takes an ASID round robin and that PCID is flushed", () => {
    const { s, mms } = pcidSetUp(7);
    const cpu1 = s.m.cpu(1);
    const seen = mms.map((mm) => {
      s.x86.switch_mm(cpu1, mm);
      s.x86.hw!.walk(cpu1, mm, BUF, true);
      const pcid = s.x86.current_pcid(cpu1);
      return { pcid, pfn: cpu1.tlb.lookupTlb(pcid, BUF)!.pfn };
    });
    // CPU 1 started on init_mm (ASID 0), so the mms took ASIDs 1…5, then 0, then 1 again
    expect(seen.map((x) => x.pcid)).toEqual([2, 3, 4, 5, 6, 1, 2]);
    // PCID 2 now translates the seventh mm's page: the first mm's entry went with the flush
    expect(cpu1.tlb.lookupTlb(2, BUF)!.pfn).toBe(seen[6]!.pfn);
    expect(seen[6]!.pfn).not.toBe(seen[0]!.pfn);
    const first = mms[0]!;
    s.x86.switch_mm(cpu1, first);
    // the first mm lost its ASID: a new one, flushed, nothing of it cached any more
    expect(cpu1.tlb.tlbEntries(s.x86.current_pcid(cpu1))).toHaveLength(0);
  });

  it("v4.14–v4.19 leave lazy mode at once with PCID, so the lazy CPU's walker stops; v4.20+ stay lazy", () => {
    const reports = (pcid: boolean) => {
      const out: number[] = [];
      for (let i = 0; i < 40; i++)
        for (const r of runTrial({
          scenario: "lazy-tlb-walker",
          profile: "v4.14",
          backend: "native",
          seed: 1 + i,
          trace: false,
          history: false,
          pcid,
        }).reports)
          if (r.reader === "hw-walker") out.push(r.cpu);
      return out;
    };
    expect(reports(false).filter((c) => c === 2).length).toBeGreaterThan(0);
    // with PCID only the freeing CPU's own walker can still read what the shortcut freed
    expect(reports(true).filter((c) => c === 2)).toEqual([]);
    const { s, mms } = pcidSetUp(1, "v5.10");
    s.x86.switch_mm(s.m.cpu(1), mms[0]!);
    s.x86.enter_lazy_tlb(s.m.cpu(1));
    expect(s.x86.state(s.m.cpu(1))).toMatchObject({ loaded_mm: mms[0], is_lazy: true });
    const v414 = buildSystem({ profile: "v4.14", backend: "native", pcid: true, trace: false });
    const mm = v414.k.mm_alloc();
    v414.x86.switch_mm(v414.m.cpu(1), mm);
    v414.x86.enter_lazy_tlb(v414.m.cpu(1));
    expect(v414.x86.state(v414.m.cpu(1)).loaded_mm).toBe(null);
  });

  it("is refused where the kernel has no PCID: v4.13, Xen PV, Hyper-V", () => {
    expect(() => buildSystem({ profile: "v4.13", backend: "native", pcid: true })).toThrow(
      /pcid = true .*v4\.14/,
    );
    expect(() => buildSystem({ profile: "v5.10", backend: "xen-pv", pcid: true })).toThrow(
      /Xen PV/,
    );
    expect(() => buildSystem({ profile: "v5.10", backend: "hyperv", pcid: true })).toThrow(
      /X86_FEATURE_PCID/,
    );
  });
});
