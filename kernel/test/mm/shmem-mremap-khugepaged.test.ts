/**
 * The kernel paths the bug registry added (mm/shmem.ts, mm/mremap.ts, mm/khugepaged.ts), one at
 * a time on a quiet system: who holds a shmem page, where mremap's ptes and flush go in each
 * version, and what khugepaged's collapse leaves behind.
 */
import { describe, expect, it } from "vitest";
import { collapse_file, HPAGE_PMD_NR } from "../../src/mm/khugepaged.js";
import { sys_mremap } from "../../src/mm/mremap.js";
import { FrameState } from "../../src/mm/page-alloc.js";
import { PMD_SIZE } from "../../src/mm/pgtable.js";
import {
  mmap_shared_file,
  shmem_file_setup,
  sys_ftruncate,
  type AddressSpace,
} from "../../src/mm/shmem.js";
import { walkChecked } from "../../src/mm/walk.js";
import { sys_munmap } from "../../src/mm/mmap.js";
import { shmem_fault as faultFn } from "../../src/mm/shmem.js";
import type { Kfn } from "../../src/sim/process.js";
import { buildSystem, type System } from "../../src/system/build.js";
import { ParameterError } from "../../src/sim/errors.js";

const BASE = 0x7f00_0000_0000;

/** Runs `body` on CPU 0 of a fresh two-CPU system with one process on both CPUs. */
function run(
  profile: string,
  body: (s: System, mmId: number) => Kfn<void>,
  extra: Record<string, unknown> = {},
): System {
  const s = buildSystem({ profile, backend: "native", nrCpus: 2, ...extra });
  const mm = s.k.mm_alloc();
  mm.mm_users = 2;
  for (const c of s.m.cpus) s.x86.switch_mm(c, mm);
  s.rcu.start();
  s.m.cpu(0).run("test", body(s, mm.id));
  s.sim.run({ until: 50_000_000 });
  s.rcu.stop();
  s.sim.run();
  return s;
}

describe("shmem: the page cache and the ptes both hold a page", () => {
  it("ftruncate unmaps every mapping, then frees the pages; nothing is freed by the unmap alone", () => {
    let file: AddressSpace | null = null;
    const pages: number[] = [];
    const s = run("v4.19", function* (s, id) {
      const mm = s.k.mm(id);
      file = shmem_file_setup("f", 8);
      yield* mmap_shared_file(s.k, s.m.cpu(0), mm, file, { addr: BASE, pages: 8, populate: true });
      pages.push(...file.pages.values());
      expect(pages).toHaveLength(8);
      expect(mm.rss).toBe(8);
      yield* sys_ftruncate(s.k, s.m.cpu(0), file, 0);
    });
    for (const p of pages) expect(s.k.alloc.stateOf(p)).toBe(FrameState.FREE);
    expect(file!.pages.size).toBe(0);
    expect(s.k.filePages.size).toBe(0);
    expect(s.k.ptlHeld.size).toBe(0);
    expect(s.k.oracle.reports).toEqual([]);
  });

  it("munmap of a shmem mapping leaves the pages in the page cache, and unlinks the VMA from the rmap", () => {
    let file: AddressSpace | null = null;
    const s = run("v4.19", function* (s, id) {
      const mm = s.k.mm(id);
      file = shmem_file_setup("f", 4);
      yield* mmap_shared_file(s.k, s.m.cpu(0), mm, file, { addr: BASE, pages: 4, populate: true });
      expect(file.i_mmap).toHaveLength(1);
      yield* sys_munmap(s.k, s.m.cpu(0), mm, BASE, 4 * 4096);
    });
    expect(file!.i_mmap).toHaveLength(0);
    expect(file!.pages.size).toBe(4);
    for (const p of file!.pages.values()) expect(s.k.alloc.stateOf(p)).toBe(FrameState.DATA);
  });

  it("refuses bad sizes with the parameter named", () => {
    expect(() => shmem_file_setup("f", 0)).toThrow(ParameterError);
    expect(() => shmem_file_setup("f", 2 ** 30)).toThrow(/pages/);
  });
});

describe("mremap", () => {
  /** Maps 16 pages across a PMD boundary, mremaps them 1 GiB up; returns the flushes made. */
  function moveOnce(profile: string, extra: Record<string, unknown> = {}) {
    const old = BASE + PMD_SIZE - 8 * 4096;
    const dst = BASE + 2 ** 30;
    let file: AddressSpace | null = null;
    const s = run(
      profile,
      function* (s, id) {
        const mm = s.k.mm(id);
        file = shmem_file_setup("f", 16);
        yield* mmap_shared_file(s.k, s.m.cpu(0), mm, file, {
          addr: old,
          pages: 16,
          populate: true,
        });
        yield* sys_mremap(s.k, s.m.cpu(0), mm, old, 16 * 4096, dst);
      },
      { trace: true, ...extra },
    );
    const mm = s.k.mm(1);
    return { s, mm, old, dst, file: file! };
  }

  it("moves the ptes, the VMA and its rmap entry; the old range's tables are freed", () => {
    for (const profile of ["v4.14", "v4.19"]) {
      const { s, mm, old, dst, file } = moveOnce(profile);
      expect(mm.vmas.map((v) => v.start)).toEqual([dst]);
      expect(file.i_mmap.map((m) => m.vma.start)).toEqual([dst]);
      for (let i = 0; i < 16; i++) {
        expect(walkChecked(s.k, 0, mm, dst + i * 4096).pfn, profile).toBe(file.pages.get(i));
        expect(walkChecked(s.k, 0, mm, old + i * 4096).pfn, profile).toBe(-1);
      }
      expect(s.k.ptlHeld.size).toBe(0);
      expect(s.k.oracle.reports).toEqual([]);
    }
  });

  it("v4.14 flushes the old range once, after both extents; v4.19 once per extent, under the locks", () => {
    const flushesAfterMoves = (profile: string, extra: Record<string, unknown> = {}) => {
      const { s } = moveOnce(profile, extra);
      const ev = s.sim.trace.events.filter(
        (e) => e.cpu === 0 && (e.name === "mmulab:move_ptes" || e.name === "tlb:tlb_flush"),
      );
      const firstMove = ev.findIndex((e) => e.name === "mmulab:move_ptes");
      const lastMove = ev.map((e) => e.name).lastIndexOf("mmulab:move_ptes");
      return {
        between: ev.slice(firstMove, lastMove).filter((e) => e.name === "tlb:tlb_flush").length,
        moves: ev.filter((e) => e.name === "mmulab:move_ptes").length,
      };
    };
    expect(flushesAfterMoves("v4.14")).toEqual({ between: 0, moves: 2 });
    expect(flushesAfterMoves("v4.19").between).toBeGreaterThan(0);
    // the mutation of the registry: v4.19 without eb66ae030829 is v4.14 again
    expect(flushesAfterMoves("v4.19", { mremapFlushUnderPtl: false }).between).toBe(0);
  });
});

describe("khugepaged collapse_file", () => {
  it("replaces the small pages with one huge page in the cache and retracts the pte table", () => {
    let file: AddressSpace | null = null;
    let pte = -1;
    const small: number[] = [];
    const s = run("v6.1", function* (s, id) {
      const mm = s.k.mm(id);
      file = shmem_file_setup("f", HPAGE_PMD_NR);
      yield* mmap_shared_file(s.k, s.m.cpu(0), mm, file, {
        addr: BASE,
        pages: HPAGE_PMD_NR,
      });
      const vma = mm.vmas[0]!;
      for (let i = 0; i < 8; i++) yield* faultFn(s.k, s.m.cpu(0), mm, vma, BASE + i * 4096);
      small.push(...file.pages.values());
      pte = walkChecked(s.k, 0, mm, BASE).path.at(-1)!;
      yield* collapse_file(s.k, s.m.cpu(1), file, 0);
    });
    const mm = s.k.mm(1);
    const huge = new Set(file!.pages.values());
    expect(huge.size).toBe(1);
    expect(file!.pages.size).toBe(HPAGE_PMD_NR);
    for (const p of small) expect(s.k.alloc.stateOf(p)).toBe(FrameState.FREE);
    // the pmd is empty (the huge pmd comes on the next fault) and the pte table is free
    expect(walkChecked(s.k, 0, mm, BASE).pfn).toBe(-1);
    expect(s.k.alloc.stateOf(pte)).toBe(FrameState.FREE);
    expect(mm.nr_ptes).toBe(0);
    expect(mm.rss).toBe(0);
  });
});
